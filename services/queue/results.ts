// The queue's results, as they are written to the outbound table: rows
// settled (sent, or bounced with the report stored), deferrals with their
// backoff, and delay reports sent. When the database refuses a write (a full
// or read-only disk), the result is kept here in memory, so that the running
// queue never sends a settled row again and never retries a deferred one
// before its time, and it is written as soon as the store allows.
//
// Invariants a reader must keep:
// - A row settled in memory is never attempted again by this process
//   (`isSettled`); after a restart it may be (a possible duplicate, never a loss).
// - A deferral kept in memory holds the row until its `until` (`heldUntil`),
//   with the attempt counted (`attemptsOf`), exactly as a written one would.
// - A row being tried right now gets its own result: an older deferral kept
//   for it is not written over it.

import type { Logger } from '../core/log.ts';
import type { OutboundRow, Store } from '../store/index.ts';

interface UnwrittenDeferral {
  until: number;
  attempts: number;
  error: string;
  at: number;
}

export interface Backoff {
  /** The first retry comes this long after a failure; each later one waits twice as long... */
  retryBaseMs: number;
  /** ...up to this. */
  retryMaxMs: number;
}

export class QueueResults {
  private readonly settledUnwritten = new Set<number>();
  private readonly deferralsUnwritten = new Map<number, UnwrittenDeferral>();
  /** Rows whose delay report was stored but whose `warned` flag could not be written: not warned about twice. */
  private readonly warnedUnwritten = new Set<number>();

  constructor(
    private readonly store: Store,
    private readonly backoff: Backoff,
    private readonly logger: Logger,
    /** Whether an attempt for the row is running now. */
    private readonly inFlight: (id: number) => boolean,
  ) {}

  /** Attempts so far, counting deferrals that are not written yet. */
  attemptsOf(row: OutboundRow): number {
    return this.deferralsUnwritten.get(row.id)?.attempts ?? row.attempts;
  }

  /** Settled in memory: never to be sent again by this process. */
  isSettled(id: number): boolean {
    return this.settledUnwritten.has(id);
  }

  /** Until when a deferral kept in memory holds the row (0: not held). */
  heldUntil(id: number): number {
    return this.deferralsUnwritten.get(id)?.until ?? 0;
  }

  /** Rows held in memory (settled, or deferred and not being tried now), and when the soonest deferral ends. */
  held(): { ids: number[]; soonest: number } {
    const deferred = [...this.deferralsUnwritten].filter(([id]) => !this.inFlight(id));
    return { ids: [...this.settledUnwritten, ...deferred.map(([id]) => id)], soonest: Math.min(Infinity, ...deferred.map(([, d]) => d.until)) };
  }

  wasWarned(row: OutboundRow): boolean {
    return row.warned || this.warnedUnwritten.has(row.id);
  }

  get unwritten(): { settled: number; deferred: number } {
    return { settled: this.settledUnwritten.size, deferred: this.deferralsUnwritten.size };
  }

  /**
   * Removes settled rows; if the store refuses, they are kept in memory, never
   * sent again, and removed later. Without a sync of its own (`relaxed`): a
   * power cut may undo it, and the message is sent again (never lost).
   */
  settled(ids: number[], log: Logger): void {
    for (const id of ids) this.deferralsUnwritten.delete(id);
    try {
      this.store.outbound.remove(ids, { relaxed: true });
    } catch (error) {
      log.error('could not record the result; the message is not sent again, and the result is written when the database allows', { error, ids: ids.join(',') });
      for (const id of ids) this.settledUnwritten.add(id);
    }
  }

  /** Defers rows with the doubling backoff; if the store refuses, the backoff is kept in memory and written later. */
  deferred(rows: { row: OutboundRow; error: string }[], now: number): void {
    const entries = rows.map(({ row, error }) => {
      const attempts = this.attemptsOf(row) + 1;
      return { id: row.id, error, attempts, nextAttemptAt: now + Math.min(this.backoff.retryBaseMs * 2 ** Math.min(attempts - 1, 20), this.backoff.retryMaxMs) };
    });
    for (const entry of entries) this.deferralsUnwritten.delete(entry.id);
    try {
      this.store.outbound.defer(entries, now);
    } catch (error) {
      this.logger.error('could not record a deferral; the retry waits in memory', { error, ids: entries.map((e) => e.id).join(',') });
      for (const e of entries) this.deferralsUnwritten.set(e.id, { until: e.nextAttemptAt, attempts: e.attempts, error: e.error, at: now });
    }
  }

  /** Records that a delay report went out for these rows (in memory if the store refuses). */
  warned(ids: number[], log: Logger): void {
    try {
      this.store.outbound.markWarned(ids);
    } catch (error) {
      log.error('could not record the delay report; written later', { error });
      for (const id of ids) this.warnedUnwritten.add(id);
    }
  }

  /** Writes what the store refused before; true when nothing is left unwritten. */
  writeUnwritten(): boolean {
    if (this.settledUnwritten.size === 0 && this.deferralsUnwritten.size === 0 && this.warnedUnwritten.size === 0) return true;
    if (!this.store.isOpen) return false;
    const outbound = this.store.outbound;
    try {
      if (this.settledUnwritten.size) {
        outbound.remove([...this.settledUnwritten]);
        this.settledUnwritten.clear();
      }
      const deferrals = [...this.deferralsUnwritten].filter(([id]) => !this.inFlight(id));
      for (const [id, d] of deferrals) {
        outbound.defer([{ id, error: d.error, nextAttemptAt: d.until }], d.at);
        this.deferralsUnwritten.delete(id);
      }
      if (this.warnedUnwritten.size) {
        outbound.markWarned([...this.warnedUnwritten]);
        this.warnedUnwritten.clear();
      }
    } catch {
      return false;
    }
    this.logger.info('results that could not be written before are recorded');
    // What is left belongs to rows being tried right now, whose own result replaces it.
    return [...this.deferralsUnwritten.keys()].every((id) => this.inFlight(id));
  }
}
