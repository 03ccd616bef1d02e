// SessionCache: SMTP connections kept open between messages to the same
// server, as Postfix's connection cache does, so that a burst of mail to one
// destination pays the TCP connection, the greeting, EHLO, STARTTLS and AUTH
// once instead of per message. smtp-session.ts parks a connection here after a
// transaction that ended cleanly and takes it back for the next message to the
// same server (same address, port, name, security and login).
//
// Invariants:
// - Only a connection whose last transaction ended without an error is parked
//   (a refused recipient is not an error of the session; a failed MAIL, DATA,
//   a timeout or a dropped connection is): anything else is closed. Before a
//   parked connection carries the next message it is sent RSET (RFC 5321
//   §4.1.1.5), and only its 250 lets the message go; so no state of one
//   message reaches the next, and a connection the peer closed meanwhile is
//   found out before anything is sent (the message then goes on a new one).
// - A connection carries at most `maxMessages` messages, is not reused more than
//   `maxAgeMs` after it was opened, and waits here at most `idleMs`, then QUIT.
// - Bounded: the connections of a destination that carry a message now
//   (`hold`) plus those parked never pass its per-destination limit: a
//   connection is parked only within it, and a new one first closes parked
//   ones beyond it (`makeRoom`); at most `maxIdle` connections wait here in
//   all. A connection the peer closes while parked leaves at once.
// - closeAll() (the queue's stop) sends QUIT to every parked connection and
//   resolves when they are closed (cut off after `quitWaitMs`); nothing is parked
//   after it began.

import type SMTPConnection from 'nodemailer/lib/smtp-connection';

export interface ReuseLimits {
  /** Messages one connection carries at most. */
  maxMessages: number;
  /** How long a connection waits here for the next message. */
  idleMs: number;
  /** Not reused after this long since it was opened. */
  maxAgeMs: number;
}

/** Postfix's smtp_connection_cache_time_limit is 2 s and smtp_connection_reuse_time_limit 300 s. */
export const defaultReuseLimits: ReuseLimits = { maxMessages: 100, idleMs: 2000, maxAgeMs: 300_000 };

/** An open, greeted (and, where it applies, STARTTLS'd and logged-in) connection. */
export class OpenSession {
  /** Messages this connection has carried. */
  messages = 0;
  readonly openedAt = Date.now();
  private ended = false;
  private readonly endWaiters: (() => void)[] = [];

  constructor(
    readonly connection: SMTPConnection,
    /** Which server and settings it was opened for (see profileOf in smtp-session.ts). */
    readonly profile: string,
    /** The queue's destination (routeKey): the unit of the per-destination limit. */
    readonly destination: string,
    /** Whether it is encrypted (set once the greeting and STARTTLS are done). */
    public tls = false,
  ) {
    connection.once('end', () => {
      this.ended = true;
      for (const waiter of this.endWaiters.splice(0)) waiter();
    });
  }

  get closed(): boolean {
    return this.ended;
  }

  /** Resolves when the connection has ended. */
  whenClosed(): Promise<void> {
    if (this.ended) return Promise.resolve();
    return new Promise((resolve) => this.endWaiters.push(resolve));
  }

  /** QUIT, and the socket closed after `waitMs` if the peer does not close it. */
  quit(waitMs = 5000): void {
    if (this.ended) return;
    this.connection.quit();
    setTimeout(() => this.connection.close(), waitMs).unref();
  }

  close(): void {
    if (!this.ended) this.connection.close();
  }
}

interface Parked {
  session: OpenSession;
  timer: NodeJS.Timeout;
  onEnd: () => void;
}

export class SessionCache {
  private readonly parked: Parked[] = [];
  /** Connections carrying a message now (taken from here or just opened), until parked or closed. */
  private readonly held = new Set<OpenSession>();
  private closing = false;
  /** Connections taken back from here, for logs and tests. */
  reused = 0;

  constructor(
    readonly limits: ReuseLimits = defaultReuseLimits,
    private readonly maxIdle = 10,
    private readonly quitWaitMs = 2000,
  ) {}

  get idle(): number {
    return this.parked.length;
  }

  idleFor(destination: string): number {
    return this.parked.filter((p) => p.session.destination === destination).length;
  }

  /** Connections of `destination` open now: carrying a message, or parked here. */
  openFor(destination: string): number {
    let held = 0;
    for (const session of this.held) if (session.destination === destination && !session.closed) held += 1;
    return held + this.idleFor(destination);
  }

  /** A connection now carries a message (it counts against its destination until parked or closed). */
  hold(session: OpenSession): void {
    if (this.held.has(session)) return;
    this.held.add(session);
    void session.whenClosed().then(() => this.held.delete(session));
  }

  /** The connection is done with its message and was closed. */
  release(session: OpenSession): void {
    this.held.delete(session);
  }

  /** A parked connection for `profile`, taken out of the cache; undefined when there is none still usable. */
  take(profile: string): OpenSession | undefined {
    for (let i = this.parked.length - 1; i >= 0; i--) {
      const entry = this.parked[i]!;
      if (entry.session.profile !== profile) continue;
      this.remove(entry);
      if (entry.session.closed) continue;
      if (Date.now() - entry.session.openedAt >= this.limits.maxAgeMs) {
        entry.session.quit();
        continue;
      }
      this.reused += 1;
      this.hold(entry.session);
      return entry.session;
    }
    return undefined;
  }

  /**
   * Keeps the connection for the next message if the limits allow (`limit`:
   * connections its destination may have open, this one included); false
   * when the caller must close it.
   */
  park(session: OpenSession, limit: number): boolean {
    this.held.delete(session);
    if (this.closing || session.closed || this.openFor(session.destination) + 1 > limit) return false;
    if (session.messages >= this.limits.maxMessages || Date.now() - session.openedAt >= this.limits.maxAgeMs) return false;
    if (this.parked.length >= this.maxIdle) this.evict(this.parked[0]!);
    const entry: Parked = {
      session,
      timer: setTimeout(() => this.evict(entry), this.limits.idleMs),
      onEnd: () => this.remove(entry),
    };
    entry.timer.unref();
    session.connection.once('end', entry.onEnd);
    this.parked.push(entry);
    return true;
  }

  /** Before a new connection to `destination`: closes parked ones (oldest first) so that the open ones, the new one included, stay within `limit`. */
  makeRoom(destination: string, limit: number): void {
    const mine = this.parked.filter((p) => p.session.destination === destination);
    let excess = this.openFor(destination) + 1 - limit;
    for (const entry of mine) {
      if (excess <= 0) break;
      this.evict(entry);
      excess -= 1;
    }
  }

  /** QUIT to every parked connection; resolves when all are closed. Nothing is parked from now on. */
  async closeAll(): Promise<void> {
    this.closing = true;
    const sessions = this.parked.map((entry) => entry.session);
    for (const entry of [...this.parked]) this.evict(entry, this.quitWaitMs);
    await Promise.all(sessions.map((session) => session.whenClosed()));
  }

  /** Parking is allowed again (the queue started anew). */
  reopen(): void {
    this.closing = false;
  }

  private evict(entry: Parked, waitMs?: number): void {
    this.remove(entry);
    entry.session.quit(waitMs);
  }

  private remove(entry: Parked): void {
    const index = this.parked.indexOf(entry);
    if (index < 0) return;
    this.parked.splice(index, 1);
    clearTimeout(entry.timer);
    entry.session.connection.removeListener('end', entry.onEnd);
  }
}
