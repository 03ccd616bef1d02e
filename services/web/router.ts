// The JSON API's router: matches `/api/...` paths with `:params`, reads the
// JSON body (64 KiB at most), checks the caller's rights and the CSRF token
// before any handler runs, and turns every error into the one JSON shape
// `{"error": {"code", "message", "field"?}}`.
//
// Invariants:
// - Access is decided here, for every call, from the route's declared Access
//   and the server-side session (sessions.ts); a handler never sees a caller
//   the route does not admit.
// - A request that changes state (anything but GET/HEAD) carries, when it has
//   a session, that session's CSRF token in X-CSRF-Token; without a session
//   it must be application/json (which a cross-site form cannot send without
//   a CORS preflight, which we never answer). When an Origin header is
//   present it must be this server's own origin (RFC 6454 §7; RFC 9110 §5.6).
// - A body larger than maxBodyBytes is refused with 413 without reading it to
//   the end; the connection is closed after the answer.

import { timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import { isUserError } from '../core/errors.ts';
import type { WebContext } from './context.ts';

export type Access = 'public' | 'signed-in' | 'user' | 'admin';
export type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface WebSession {
  id: string;
  role: 'admin' | 'user';
  /** The mail address for role user, 'admin' for the admin. */
  subject: string;
  csrfToken: string;
  createdAt: number;
  /** True for the session that claimed the box during setup (setup.ts). */
  setup?: boolean;
}

export interface ApiRequest {
  method: string;
  path: string;
  params: Record<string, string>;
  query: URLSearchParams;
  body: unknown;
  session: WebSession | undefined;
  /** The client's IP address. */
  client: string;
  /** The connection id of the log lines. */
  cid: string;
  headers: IncomingHttpHeaders;
  /** Runs `action` once the answer to this request is sent (or the client is gone); a reload must not cut its own answer. */
  afterAnswer(action: () => void): void;
}

export interface Route {
  method: Method;
  /** '/api/admin/mailboxes/:address'; a :param matches one path segment, percent-decoded. */
  path: string;
  access: Access;
  /**
   * The setup states in which this route may be called at all (setup routes);
   * in any other state the answer is 409, before access is checked. Left out: any state.
   */
  setupStates?: readonly SetupState[];
  handle(request: ApiRequest, context: WebContext): unknown | Promise<unknown>;
}

export type SetupState = 'unclaimed' | 'claimed' | 'complete';

/** A handler's answer with a status or headers other than 200 JSON. */
export class ApiAnswer {
  constructor(
    readonly status: number,
    readonly body: unknown,
    readonly headers: Record<string, string | string[]> = {},
  ) {}
}

export function answer(status: number, body: unknown, headers: Record<string, string | string[]> = {}): ApiAnswer {
  return new ApiAnswer(status, body, headers);
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly field?: string,
    /** Extra headers (Retry-After for 429, Allow for 405). */
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export const maxBodyBytes = 64 * 1024;

/** The JSON of an error answer. */
export function errorBody(code: string, message: string, field?: string): { error: { code: string; message: string; field?: string } } {
  return { error: { code, message, ...(field ? { field } : {}) } };
}

interface CompiledRoute {
  route: Route;
  segments: string[];
}

export type Match = { route: Route; params: Record<string, string> } | { allowed: Method[] } | undefined;

export class Router {
  private readonly compiled: CompiledRoute[];

  constructor(routes: readonly Route[]) {
    const seen = new Set<string>();
    this.compiled = routes.map((route) => {
      const key = `${route.method} ${route.path.replace(/:[^/]+/g, ':')}`;
      if (seen.has(key)) throw new Error(`two routes for ${key}`);
      seen.add(key);
      return { route, segments: route.path.split('/').slice(1) };
    });
  }

  /** The route for method and path, or the methods the path allows (405), or undefined (404). */
  match(method: string, path: string): Match {
    const parts = path.split('/').slice(1);
    const allowed: Method[] = [];
    let best: { route: Route; params: Record<string, string>; literal: number } | undefined;
    for (const { route, segments } of this.compiled) {
      if (segments.length !== parts.length) continue;
      const params: Record<string, string> = {};
      let literal = 0;
      let ok = true;
      for (let i = 0; i < segments.length && ok; i++) {
        const segment = segments[i]!;
        const part = parts[i]!;
        if (segment.startsWith(':')) {
          let value: string;
          try {
            value = decodeURIComponent(part);
          } catch {
            ok = false;
            break;
          }
          if (value === '') ok = false;
          else params[segment.slice(1)] = value;
        } else if (segment === part) literal++;
        else ok = false;
      }
      if (!ok) continue;
      if (route.method !== method && !(method === 'HEAD' && route.method === 'GET')) {
        allowed.push(route.method);
        continue;
      }
      // A literal segment wins over a :param ('/queue/retry' over '/queue/:id').
      if (!best || literal > best.literal) best = { route, params, literal };
    }
    if (best) return { route: best.route, params: best.params };
    return allowed.length ? { allowed } : undefined;
  }
}

/** Reads a JSON body of at most maxBodyBytes; undefined when there is none. */
export async function readJsonBody(request: IncomingMessage): Promise<unknown> {
  const length = request.headers['content-length'];
  const chunked = request.headers['transfer-encoding'] !== undefined;
  if ((length === undefined || length === '0') && !chunked) return undefined;
  const type = (request.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/json') throw new ApiError(415, 'unsupported-media-type', 'send the body as JSON with Content-Type: application/json');
  if (length !== undefined && Number(length) > maxBodyBytes) throw new ApiError(413, 'body-too-large', `the body is larger than ${maxBodyBytes / 1024} KiB`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxBodyBytes) throw new ApiError(413, 'body-too-large', `the body is larger than ${maxBodyBytes / 1024} KiB`);
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new ApiError(400, 'bad-json', `the body is not valid JSON: ${(error as Error).message}`);
  }
}

/** True when the two strings are equal, in time that does not depend on where they differ. */
export function constantTimeEqual(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  if (left.length !== right.length) {
    timingSafeEqual(left, left);
    return false;
  }
  return timingSafeEqual(left, right);
}

/**
 * The checks every state-changing request passes before its handler: the
 * Origin (and Sec-Fetch-Site) say it comes from our own pages, and a session
 * is backed by its CSRF token; without a session the request must be JSON.
 */
export function checkStateChange(headers: IncomingHttpHeaders, session: WebSession | undefined, ownOrigin: string): void {
  const origin = headers.origin;
  if (origin !== undefined && origin !== ownOrigin) throw new ApiError(403, 'bad-origin', `this request came from ${origin.slice(0, 200)}, not from ${ownOrigin}; open the page from the box itself`);
  const site = headers['sec-fetch-site'];
  if (site === 'cross-site' || site === 'same-site') throw new ApiError(403, 'bad-origin', 'this request came from another site; open the page from the box itself');
  if (session) {
    const token = headers['x-csrf-token'];
    if (typeof token !== 'string' || !constantTimeEqual(token, session.csrfToken)) {
      throw new ApiError(403, 'csrf', 'the request lacks the X-CSRF-Token of this session; reload the page and try again');
    }
  } else {
    const type = (headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    if (type !== 'application/json') throw new ApiError(415, 'unsupported-media-type', 'send the request as JSON with Content-Type: application/json');
  }
}

/** 401/403 unless the session may use a route of this access. */
export function checkAccess(access: Access, session: WebSession | undefined): void {
  if (access === 'public') return;
  if (!session) throw new ApiError(401, 'not-signed-in', 'sign in first');
  if (access === 'signed-in') return;
  if (session.role !== access) throw new ApiError(403, 'forbidden', access === 'admin' ? 'only the administrator may do this' : 'only a mail user may do this; sign in with your mail address');
}

/** The answer for any error a handler threw: ApiError as it says, UserError 400, anything else 500. */
export function errorAnswer(error: unknown): { status: number; body: ReturnType<typeof errorBody>; headers: Record<string, string>; internal: boolean } {
  if (error instanceof ApiError) return { status: error.status, body: errorBody(error.code, error.message, error.field), headers: error.headers, internal: false };
  if (isUserError(error)) return { status: 400, body: errorBody('bad-request', error.message), headers: {}, internal: false };
  return { status: 500, body: errorBody('internal', 'something went wrong on the box; the log says what (mailnest serve output)'), headers: {}, internal: true };
}

// Small checks for handlers that read a body, so that every bad field answers 400 naming it.

export function bodyObject(body: unknown): Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new ApiError(400, 'bad-request', 'send a JSON object');
  return body as Record<string, unknown>;
}

export function stringField(body: Record<string, unknown>, name: string, options: { maxLength?: number } = {}): string {
  const value = body[name];
  if (typeof value !== 'string' || value === '') throw new ApiError(400, 'bad-request', `${name} is missing; give it as a string`, name);
  if (value.length > (options.maxLength ?? 1024)) throw new ApiError(400, 'bad-request', `${name} is too long`, name);
  return value;
}

export function optionalStringField(body: Record<string, unknown>, name: string, options: { maxLength?: number } = {}): string | undefined {
  if (body[name] === undefined || body[name] === null) return undefined;
  return stringField(body, name, options);
}

export function booleanField(body: Record<string, unknown>, name: string): boolean | undefined {
  const value = body[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'boolean') throw new ApiError(400, 'bad-request', `${name} must be true or false`, name);
  return value;
}

export function integerField(body: Record<string, unknown>, name: string, min = 0, max = Number.MAX_SAFE_INTEGER): number | undefined {
  const value = body[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) throw new ApiError(400, 'bad-request', `${name} must be a whole number from ${min} to ${max}`, name);
  return value;
}

/** ?offset=&limit= of list routes: limit ≤ 200, default 50. */
export function paging(query: URLSearchParams): { offset: number; limit: number; query: string } {
  const number = (name: string, fallback: number, max: number): number => {
    const text = query.get(name);
    if (text === null || text === '') return fallback;
    if (!/^\d+$/.test(text) || Number(text) > max) throw new ApiError(400, 'bad-request', `${name} must be a whole number up to ${max}`, name);
    return Number(text);
  };
  return { offset: number('offset', 0, Number.MAX_SAFE_INTEGER), limit: Math.max(1, number('limit', 50, 200)), query: (query.get('query') ?? '').slice(0, 200) };
}
