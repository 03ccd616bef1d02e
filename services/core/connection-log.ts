// The two lines every connection logs, with the same fields in every service
// (README.md, "Log fields"):
//
//   info smtp connect cid=… client=203.0.113.5
//   info smtp disconnect cid=… client=203.0.113.5 ms=5123 user=alice@example.org messages=1
//
// A connection from a loopback address may be the firmware supervisor's
// health probe (firmware/probes.ts: connect, read the greeting, say goodbye),
// which comes every minute on every port. Its connect line is held back until
// the client does something a probe does not (active()); a connection that
// ends without that logs both lines at debug. A real client on the box itself
// is therefore still logged, from its first command on.
//
// Invariants:
// - Exactly one connect line and at most one disconnect line per connection,
//   in that order, both at info or both at debug.
// - Every line carries cid and client.

import type { LogFields, Logger, LogLevel } from './log.ts';

export function isLoopback(address: string | undefined): boolean {
  return !!address && (address === '::1' || address.startsWith('127.') || address.startsWith('::ffff:127.'));
}

export class ConnectionLog {
  /** The connection's logger: every line carries its cid. */
  readonly log: Logger;
  private readonly startedAt = Date.now();
  private connectLevel: LogLevel | undefined;
  private ended = false;
  private user: string | undefined;

  constructor(
    logger: Logger,
    readonly cid: string,
    readonly client: string,
    private readonly connectFields: LogFields = {},
  ) {
    this.log = logger.with({ cid });
    if (!isLoopback(client)) this.writeConnect('info');
  }

  /** The client did something a health probe does not: a held-back connect line is written now. */
  active(): void {
    if (this.connectLevel === undefined && !this.ended) this.writeConnect('info');
  }

  /** The login, for the disconnect line. */
  loggedIn(user: string): void {
    this.user = user;
    this.active();
  }

  /** The disconnect line, with the duration, the login and what the service adds (e.g. messages). */
  end(fields: LogFields = {}): void {
    if (this.ended) return;
    this.ended = true;
    // Nothing but a greeting and a goodbye from the box itself: a probe.
    if (this.connectLevel === undefined) this.writeConnect('debug');
    this.log.log(this.connectLevel!, 'disconnect', { client: this.client, ms: Date.now() - this.startedAt, user: this.user, ...fields });
  }

  private writeConnect(level: LogLevel): void {
    this.connectLevel = level;
    this.log.log(level, 'connect', { client: this.client, ...this.connectFields });
  }
}
