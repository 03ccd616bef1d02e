// Group commit: the deliveries and APPENDs that become ready within one
// event-loop turn are written in one SQLite transaction and made durable by
// one sync of the WAL, and only then is each of them answered.
//
// better-sqlite3 is synchronous, so a transaction that syncs blocks the event
// loop; twenty sessions each committing with their own sync spend most of
// their time there. Here they queue (`run`), and at the next check phase
// (setImmediate: after every I/O callback of the current turn had its
// chance to queue) one IMMEDIATE transaction runs every queued unit, each in
// its own SAVEPOINT (better-sqlite3 makes a nested `db.transaction` one), so
// one unit that throws (over quota, a missing mailbox) is rolled back alone
// and rejected alone while the others commit.
//
// Invariants a reader must keep:
// - No promise returned by `run` settles before the COMMIT returned and
//   `durable()` resolved: the COMMIT runs under `synchronous=FULL` (set for
//   the batch if the connection was at a lower level, and put back after),
//   so the WAL was synced before it returned; `durable` is an extra step
//   after it (tests inject one to watch the order). A unit's result is never
//   visible to a caller before it is on disk, and, as the sync happens inside
//   the COMMIT on the event loop, no other code of the process (an IMAP
//   session on the same connection) sees the rows before they are durable.
// - A rejection with anything but NotDurableError means nothing of that unit
//   was committed (its savepoint, or the whole transaction, was rolled back):
//   the caller may remove the body file. NotDurableError means the COMMIT
//   returned but `durable()` failed: rows may name the file, so it stays.
// - A unit's work is synchronous and must not start a transaction of its own
//   at the top level: it always runs inside the group's transaction.
// - An error that made SQLite roll back the whole transaction (a full disk,
//   an I/O error) while a unit ran fails every unit of the batch, as none of
//   them can be committed; the units after it are not run.
// - Batches run one after another: a batch's COMMIT never starts while the
//   previous one is still being made durable.

import type { Database } from 'better-sqlite3';

/** The COMMIT returned but the step that makes it durable failed: the rows may exist; the body file must stay. */
export class NotDurableError extends Error {
  constructor(cause: unknown) {
    super(`the commit could not be made durable: ${(cause as Error)?.message ?? String(cause)}`, { cause });
    this.name = 'NotDurableError';
  }
}

export interface GroupCommitOptions {
  /** Runs after each batch's COMMIT; every unit of the batch settles only once it resolved. */
  durable?: () => Promise<void>;
  /** At most this many units in one transaction (the rest go in the next). */
  maxBatch?: number;
  /** Called with the size of each batch that committed (counters, tests). */
  onBatch?: (size: number) => void;
}

interface Unit {
  work: () => unknown;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };

export class GroupCommitter {
  private queue: Unit[] = [];
  private scheduled = false;
  private running = false;
  private readonly durable: () => Promise<void>;
  private readonly maxBatch: number;
  private readonly onBatch: (size: number) => void;

  constructor(
    private readonly db: Database,
    options: GroupCommitOptions = {},
  ) {
    this.durable = options.durable ?? (async () => {});
    this.maxBatch = options.maxBatch ?? 256;
    this.onBatch = options.onBatch ?? (() => {});
  }

  /**
   * Runs `work` inside the next group transaction (in a savepoint of its own)
   * and resolves with its result once that transaction is durable; rejects
   * with its error (nothing of it committed), or with NotDurableError.
   */
  run<T>(work: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ work, resolve: resolve as (value: unknown) => void, reject });
      this.schedule();
    });
  }

  /** Units queued or being committed. */
  get pending(): number {
    return this.queue.length;
  }

  private schedule(): void {
    if (this.scheduled || this.running) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      void this.flush();
    });
  }

  private async flush(): Promise<void> {
    this.running = true;
    const batch = this.queue.splice(0, this.maxBatch);
    const outcomes: Outcome[] = [];
    let failure: unknown;
    let committed = false;
    try {
      // The commit must sync the WAL whatever level other transactions on this connection use (flag changes may use NORMAL).
      const level = this.db.pragma('synchronous', { simple: true }) as number;
      if (level < 2) this.db.pragma('synchronous = FULL');
      try {
        this.db
          .transaction(() => {
            for (const unit of batch) {
              try {
                outcomes.push({ ok: true, value: this.db.transaction(unit.work)() });
              } catch (error) {
                // SQLite rolled the whole transaction back (SQLITE_FULL, an I/O error): nothing of the batch can commit.
                if (!this.db.inTransaction) throw error;
                outcomes.push({ ok: false, error });
              }
            }
          })
          .immediate();
        committed = true;
      } finally {
        if (level < 2) this.db.pragma(`synchronous = ${level}`);
      }
      this.onBatch(batch.length);
      await this.durable();
    } catch (error) {
      failure = committed ? new NotDurableError(error) : error;
    }
    batch.forEach((unit, i) => {
      const outcome = outcomes[i];
      // A unit rolled back to its savepoint was not committed, whatever the durable step did.
      if (committed && outcome && !outcome.ok) unit.reject(outcome.error);
      else if (failure !== undefined) unit.reject(failure);
      else if (outcome?.ok) unit.resolve(outcome.value);
      else unit.reject(outcome?.error);
    });
    this.running = false;
    if (this.queue.length) this.schedule();
  }
}
