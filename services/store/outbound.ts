// The outbound queue's rows: one per (message, remote recipient), naming the
// durable body it sends. Rows are written with the message by MailStore.deliver,
// in the transaction that commits the body, so a 250 covers them too.
//
// Invariants:
// - A row holds one reference on its body (bodies.refs); whoever deletes the
//   row gives the reference back in the same transaction, and the body file
//   goes only later, through MailStore.collectGarbage.
// - A row is deleted only when its recipient's fate is settled: delivered,
//   bounced (the DSN already stored), or deleted by the administrator.
// - `state` is 'queued' for every row: whether an attempt is running is known
//   only in memory, so a crash in the middle of one leaves the row to be tried
//   again (a possible duplicate, never a loss).
// - `remove(ids, { relaxed: true })` (the queue settling a sent message)
//   commits under synchronous=NORMAL: consistent after any crash, but a power
//   cut may undo the last such removals, and those messages are sent again (a
//   duplicate, never a loss, as after a crash mid-attempt). The next FULL
//   commit (any delivery) makes them durable too.

import type { Database } from 'better-sqlite3';
import { UserError } from '../core/errors.ts';
import { checkPage, containsQuery, type Page, type PageRequest } from './paging.ts';

/**
 * Where an outbound copy came from, which decides whether it is DKIM-signed:
 * `submission` (a logged-in user sent it) and `report` (our own bounce or
 * delay notice) are; `forward` (mail that arrived on port 25 and an alias or
 * catch-all sends on) never is, whatever its From says.
 */
export type OutboundOrigin = 'submission' | 'report' | 'forward';

export interface OutboundRow {
  id: number;
  bodyId: number;
  sender: string;
  recipient: string;
  origin: OutboundOrigin;
  /** Always 'queued' (see the invariants above). */
  state: string;
  attempts: number;
  nextAttemptAt: number;
  lastAttemptAt: number | null;
  lastError: string | null;
  warned: boolean;
  createdAt: number;
  /** The body file, relative to messages/. */
  file: string;
  size: number;
  subject: string;
  /** The body's MIME structure as stored (JSON). */
  structure: string;
}

interface Row {
  id: number;
  body_id: number;
  sender: string;
  recipient: string;
  origin: OutboundOrigin;
  state: string;
  attempts: number;
  next_attempt_at: number;
  last_attempt_at: number | null;
  last_error: string | null;
  warned: number;
  created_at: number;
  file: string;
  size: number;
  subject: string;
  structure: string;
}

const select = `SELECT o.id, o.body_id, o.sender, o.recipient, o.origin, o.state, o.attempts, o.next_attempt_at, o.last_attempt_at, o.last_error, o.warned, o.created_at,
  b.file, b.size, b.subject, b.structure FROM outbound o JOIN bodies b ON b.id = o.body_id`;

/**
 * The recipient's domain in SQL, lower-cased, as the queue takes it (after the
 * last '@'): rtrim strips every character but '@' from the right, so its length
 * is the position of the last '@'.
 */
const domainOf = `lower(substr(o.recipient, length(rtrim(o.recipient, replace(o.recipient, '@', ''))) + 1))`;

function toRow(r: Row): OutboundRow {
  return {
    id: r.id,
    bodyId: r.body_id,
    sender: r.sender,
    recipient: r.recipient,
    origin: r.origin,
    state: r.state,
    attempts: r.attempts,
    nextAttemptAt: r.next_attempt_at,
    lastAttemptAt: r.last_attempt_at,
    lastError: r.last_error,
    warned: r.warned === 1,
    createdAt: r.created_at,
    file: r.file,
    size: r.size,
    subject: r.subject,
    structure: r.structure,
  };
}

export class OutboundTable {
  constructor(private readonly db: Database) {}

  /** Every row, oldest first. */
  list(): OutboundRow[] {
    return (this.db.prepare(`${select} ORDER BY o.id`).all() as Row[]).map(toRow);
  }

  /** One page of rows, oldest first, whose sender, recipient or subject contains `query` (or whose id it is). */
  page(request: PageRequest = {}): Page<OutboundRow> {
    const { query, offset, limit } = checkPage(request);
    const where = `WHERE (${containsQuery(['o.sender', 'o.recipient', 'b.subject'])} OR CAST(o.id AS TEXT) = :query)`;
    const total = this.db.prepare(`SELECT count(*) FROM outbound o JOIN bodies b ON b.id = o.body_id ${where}`).pluck().get({ query }) as number;
    const rows = this.db.prepare(`${select} ${where} ORDER BY o.id LIMIT :limit OFFSET :offset`).all({ query, limit, offset }) as Row[];
    return { items: rows.map(toRow), total, offset, limit };
  }

  get(id: number): OutboundRow {
    const row = this.db.prepare(`${select} WHERE o.id = ?`).get(id) as Row | undefined;
    if (!row) throw new UserError(`there is no queued message ${id}; see mailnest queue list`);
    return toRow(row);
  }

  /**
   * Rows whose next attempt is due, oldest first: at most `perDomain` for each
   * recipient domain, and none for `skipDomains` (destinations at their
   * connection limit), so that one domain's backlog never hides the others.
   */
  due(now: number, limit: number, options: { perDomain?: number; skipDomains?: readonly string[] } = {}): OutboundRow[] {
    const perDomain = options.perDomain ?? limit;
    const rows = this.db
      .prepare(
        `${select} WHERE o.id IN (
          SELECT id FROM (
            SELECT o.id, row_number() OVER (PARTITION BY ${domainOf} ORDER BY o.next_attempt_at, o.id) AS n FROM outbound o
            WHERE o.state = 'queued' AND o.next_attempt_at <= ? AND ${domainOf} NOT IN (SELECT value FROM json_each(?))
          ) WHERE n <= ?
        ) ORDER BY o.next_attempt_at, o.id LIMIT ?`,
      )
      .all(now, JSON.stringify(options.skipDomains ?? []), perDomain, limit) as Row[];
    return rows.map(toRow);
  }

  /** Of `ids`, those still queued and due at `now` (a row deleted or rescheduled meanwhile, by another process too, is not). */
  stillDue(ids: readonly number[], now: number): Set<number> {
    const rows = this.db
      .prepare(`SELECT id FROM outbound WHERE id IN (SELECT value FROM json_each(?)) AND state = 'queued' AND next_attempt_at <= ?`)
      .pluck()
      .all(JSON.stringify(ids), now) as number[];
    return new Set(rows);
  }

  /** When the next row falls due, if any, leaving out the rows and the recipient domains named. */
  nextDue(options: { exceptIds?: readonly number[]; exceptDomains?: readonly string[] } = {}): number | undefined {
    return (
      (this.db
        .prepare(
          `SELECT min(o.next_attempt_at) FROM outbound o WHERE o.state = 'queued'
            AND o.id NOT IN (SELECT value FROM json_each(?)) AND ${domainOf} NOT IN (SELECT value FROM json_each(?))`,
        )
        .pluck()
        .get(JSON.stringify(options.exceptIds ?? []), JSON.stringify(options.exceptDomains ?? [])) as number | null) ?? undefined
    );
  }

  count(): number {
    return this.db.prepare('SELECT count(*) FROM outbound').pluck().get() as number;
  }

  /**
   * Settles rows: each is deleted and its body reference given back, in one
   * transaction. `relaxed`: without the WAL sync (see the invariants above):
   * for rows whose message was sent, where losing the removal costs a duplicate.
   */
  remove(ids: readonly number[], options: { relaxed?: boolean } = {}): number {
    const run = this.db.transaction(() => {
      let removed = 0;
      for (const id of ids) {
        const row = this.db.prepare('DELETE FROM outbound WHERE id = ? RETURNING body_id').get(id) as { body_id: number } | undefined;
        if (!row) continue;
        this.db.prepare('UPDATE bodies SET refs = refs - 1 WHERE id = ?').run(row.body_id);
        removed += 1;
      }
      return removed;
    });
    if (!options.relaxed) return run.immediate();
    // The pragma belongs to the connection; it is put back whatever happens, before any other statement runs.
    this.db.pragma('synchronous = NORMAL');
    try {
      return run.immediate();
    } finally {
      this.db.pragma('synchronous = FULL');
    }
  }

  /** Temporary failures, in one transaction: each row is tried again at its `nextAttemptAt`. */
  defer(rows: readonly { id: number; error: string; nextAttemptAt: number }[], now: number): void {
    this.db.transaction(() => {
      const update = this.db.prepare('UPDATE outbound SET attempts = attempts + 1, last_attempt_at = ?, next_attempt_at = ?, last_error = ? WHERE id = ?');
      for (const row of rows) update.run(now, row.nextAttemptAt, row.error, row.id);
    }).immediate();
  }

  markWarned(ids: readonly number[]): void {
    this.db.transaction(() => {
      for (const id of ids) this.db.prepare('UPDATE outbound SET warned = 1 WHERE id = ?').run(id);
    }).immediate();
  }

  /** Makes rows due now: all of them, or the ones named. Returns how many. */
  retryNow(ids?: readonly number[], now = Date.now()): number {
    if (!ids) return this.db.prepare('UPDATE outbound SET next_attempt_at = ?').run(now).changes;
    let changed = 0;
    for (const id of ids) {
      this.get(id);
      changed += this.db.prepare('UPDATE outbound SET next_attempt_at = ? WHERE id = ?').run(now, id).changes;
    }
    return changed;
  }
}
