// The one way the UI talks to the box: JSON over fetch, same origin, the
// session cookie sent by the browser, and the CSRF token (from the answers of
// GET /api/session, sign-in and claim) as X-CSRF-Token on every state change.

import { text } from './text.ts';

let csrfToken = '';

export function setCsrfToken(token: string | undefined): void {
  csrfToken = token ?? '';
}

/** A failed call, with the server's JSON error (`{error: {code, message, field?}}`). */
export class ApiFailure extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }
}

export interface Answer<T> {
  status: number;
  body: T;
}

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** Called when any call answers 401 after having been signed in: the app shows the sign-in page. */
let onSignedOut: (() => void) | undefined;
export function whenSignedOut(handler: () => void): void {
  onSignedOut = handler;
}

/** Answers with status and body for 2xx; throws ApiFailure otherwise. */
export async function request<T>(method: Method, path: string, body?: unknown): Promise<Answer<T>> {
  // Every state change but DELETE carries a JSON body, `{}` when there is nothing to say.
  const payload = body !== undefined ? JSON.stringify(body) : method === 'GET' || method === 'DELETE' ? undefined : '{}';
  const headers: Record<string, string> = { accept: 'application/json' };
  if (payload !== undefined) headers['content-type'] = 'application/json';
  if (method !== 'GET' && csrfToken) headers['x-csrf-token'] = csrfToken;
  let response: Response;
  try {
    response = await fetch(path, { method, headers, body: payload, credentials: 'same-origin', cache: 'no-store' });
  } catch {
    throw new ApiFailure(0, 'network', text.errors.network);
  }
  let parsed: unknown = undefined;
  const type = response.headers.get('content-type') ?? '';
  if (type.includes('json')) parsed = await response.json().catch(() => undefined);
  if (response.ok) return { status: response.status, body: parsed as T };
  const error = (parsed as { error?: { code?: string; message?: string; field?: string } } | undefined)?.error;
  if (response.status === 429) {
    const seconds = Number(response.headers.get('retry-after') ?? '');
    const message = error?.message ? `${capitalise(error.message)}.${Number.isFinite(seconds) && seconds > 0 ? ` ${text.errors.slowDown(seconds)}` : ''}` : text.errors.slowDown(Number.isFinite(seconds) ? seconds : 5);
    throw new ApiFailure(429, error?.code ?? 'slow-down', message, error?.field);
  }
  if (response.status === 401 && csrfToken && path !== '/api/session') {
    setCsrfToken('');
    onSignedOut?.();
  }
  const message = error?.message ? sentence(error.message) : text.errors.unexpected(response.status);
  throw new ApiFailure(response.status, error?.code ?? 'error', message, error?.field);
}

export async function get<T>(path: string): Promise<T> {
  return (await request<T>('GET', path)).body;
}

export async function send<T>(method: Exclude<Method, 'GET'>, path: string, body?: unknown): Promise<T> {
  return (await request<T>(method, path, body)).body;
}

/** `/api/admin/mailboxes/` + an address, safely. */
export function pathOf(...parts: string[]): string {
  return parts.map((part, index) => (index === 0 ? part : encodeURIComponent(part))).join('/');
}

function capitalise(message: string): string {
  return message.charAt(0).toUpperCase() + message.slice(1);
}

/** The server writes its messages as clauses ("the password is too short; ..."): show them as a sentence. */
export function sentence(message: string): string {
  const capital = capitalise(message.trim());
  return /[.!?]$/.test(capital) ? capital : `${capital}.`;
}

export function messageOf(error: unknown): string {
  if (error instanceof ApiFailure) return error.message;
  return error instanceof Error ? error.message : String(error);
}

// The shapes the API answers with (README of services/web).

export interface SetupInfo {
  state: 'unclaimed' | 'claimed' | 'complete';
  hostname: string;
  certificate: { sha256: string; names: string[]; validTo: string };
  claim: { button: boolean; code: boolean; waiting: boolean };
  steps?: { adminPassword: boolean; domain: boolean; mailbox: boolean };
}

export interface SessionInfo {
  user: { name: string; role: 'admin' | 'user'; setup?: boolean };
  csrfToken: string;
}

export interface Endpoint {
  host: string;
  port: number;
  security: string;
}

export interface ClientSettings {
  address: string;
  username: string;
  imap: Endpoint;
  pop3?: Endpoint;
  smtp: Endpoint;
}

export interface Page<T> {
  items: T[];
  total: number;
  offset: number;
  limit: number;
}

export interface Mailbox {
  address: string;
  displayName: string;
  domain: string;
  enabled: boolean;
  quotaBytes: number;
  usedBytes: number;
  createdAt: string | number;
}

export interface Forwarding {
  to: string[];
  keepCopy: boolean;
}

export interface DnsAnswer {
  domain: string;
  hostname: string;
  warnings: (string | { message: string })[];
  records: { name: string; type: string; value: string; why: string }[];
}

export interface Finding {
  id: string;
  check: string;
  status: 'ok' | 'warning' | 'alarm' | 'unknown';
  title: string;
  detail?: string;
  fix?: string;
  failures?: number;
}

export interface DoctorReport {
  checkedAt: string | number | null;
  running: boolean;
  findings: Finding[];
}

export interface RelayPreset {
  id: string;
  name: string;
  host: string;
  port: number;
  security: string;
  note?: string;
}

export interface RelaySettings {
  host: string;
  port: number;
  security: string;
  username?: string | null;
  passwordSet?: boolean;
  passwordProblem?: string;
}
