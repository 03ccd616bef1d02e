// Web sessions: a random 256-bit id in the `mailnest_session` cookie, the rest
// on the server (the web_sessions table of migration 5, so that a restart
// signs nobody out). RFC 6265bis §4.1 (Set-Cookie), §5.4.7 (SameSite).
//
// Invariants:
// - The cookie is always `HttpOnly; Secure; SameSite=Strict; Path=/`.
// - Only the SHA-256 of an id is stored; a session idle longer than idleMs is
//   gone (checked at every use and swept every minute); at most maxSessions
//   exist, the least recently seen go first.
// - last_seen_at is written at most once a minute (a tenth of the idle timeout) per session, so that polling
//   pages do not turn every GET into a write.

import { createHash, randomBytes } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { Store } from '../store/index.ts';
import type { WebSession } from './router.ts';

export const sessionCookie = 'mailnest_session';
const cookieAttributes = 'HttpOnly; Secure; SameSite=Strict; Path=/';

export interface SessionOptions {
  idleMs?: number;
  maxSessions?: number;
}

const hashId = (id: string): string => createHash('sha256').update(id).digest('hex');

/** The value of one cookie from a Cookie header (RFC 6265bis §5.6), or undefined. */
export function readCookie(headers: IncomingHttpHeaders, name: string): string | undefined {
  const header = headers.cookie;
  if (!header) return undefined;
  for (const pair of header.split(';')) {
    const at = pair.indexOf('=');
    if (at < 0) continue;
    if (pair.slice(0, at).trim() === name) return pair.slice(at + 1).trim();
  }
  return undefined;
}

export function setCookie(name: string, value: string, maxAgeSeconds?: number): string {
  return `${name}=${value}; ${cookieAttributes}${maxAgeSeconds !== undefined ? `; Max-Age=${maxAgeSeconds}` : ''}`;
}

export function clearCookie(name: string): string {
  return `${name}=; ${cookieAttributes}; Max-Age=0`;
}

export class Sessions {
  readonly idleMs: number;
  readonly maxSessions: number;
  private sweeper: NodeJS.Timeout | undefined;

  constructor(
    private readonly store: Store,
    options: SessionOptions = {},
  ) {
    this.idleMs = options.idleMs ?? 30 * 60_000;
    this.maxSessions = options.maxSessions ?? 1000;
  }

  start(): void {
    this.sweep();
    this.sweeper = setInterval(() => this.sweep(), 60_000);
    this.sweeper.unref();
  }

  stop(): void {
    clearInterval(this.sweeper);
  }

  sweep(now = Date.now()): void {
    if (!this.store.isOpen) return;
    this.store.webSessions.deleteIdle(now - this.idleMs);
  }

  /** Makes a session; returns it and the Set-Cookie header that carries its id. */
  create(role: WebSession['role'], subject: string, options: { setup?: boolean } = {}): { session: WebSession; cookie: string } {
    const id = randomBytes(32).toString('base64url');
    const now = Date.now();
    const session: WebSession = { id, role, subject, csrfToken: randomBytes(32).toString('base64url'), createdAt: now, setup: options.setup ?? false };
    this.store.webSessions.insert({ idHash: hashId(id), role, subject, csrfToken: session.csrfToken, setup: session.setup ?? false, createdAt: now, lastSeenAt: now });
    if (this.store.webSessions.count() > this.maxSessions) this.store.webSessions.trimTo(this.maxSessions);
    return { session, cookie: setCookie(sessionCookie, id) };
  }

  /** The live session the request's cookie names, or undefined. */
  fromRequest(headers: IncomingHttpHeaders, now = Date.now()): WebSession | undefined {
    const id = readCookie(headers, sessionCookie);
    if (!id || !/^[A-Za-z0-9_-]{43}$/.test(id)) return undefined;
    const idHash = hashId(id);
    const row = this.store.webSessions.get(idHash);
    if (!row) return undefined;
    if (row.lastSeenAt < now - this.idleMs) {
      this.store.webSessions.delete(idHash);
      return undefined;
    }
    if (now - row.lastSeenAt > Math.min(60_000, this.idleMs / 10)) this.store.webSessions.touch(idHash, now);
    return { id, role: row.role, subject: row.subject, csrfToken: row.csrfToken, createdAt: row.createdAt, setup: row.setup };
  }

  /** Ends a session; returns the Set-Cookie header that clears the cookie. */
  end(session: WebSession | undefined): string {
    if (session) this.store.webSessions.delete(hashId(session.id));
    return clearCookie(sessionCookie);
  }

  /** Ends every session of a subject but `except` (after a password change, a removed mailbox). */
  endAllOf(role: WebSession['role'], subject: string, except?: WebSession): number {
    return this.store.webSessions.deleteSubject(role, subject, except ? hashId(except.id) : '');
  }

  endSetupSessions(): number {
    return this.store.webSessions.deleteSetupSessions();
  }
}
