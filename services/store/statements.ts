// A statement cache for the store's one SQLite connection, and the per-
// transaction choice of how hard a commit syncs.
//
// `db.prepare()` parses and plans its SQL on every call; the store's code calls
// it where the statement is used, so the cache sits in `prepare` itself: each
// SQL text is prepared once per connection and the same Statement is handed
// back afterwards, every caller unchanged.
//
// Invariants a reader must keep:
// - A cached statement is handed out in its default mode (no pluck, raw or
//   expand): a caller that calls `.pluck()` changes only its own use, since
//   better-sqlite3 is synchronous and nothing runs between the hand-out and
//   the call that executes it.
// - A statement that is busy (an `.iterate()` still open on it) is never
//   handed out again: the caller gets a fresh, uncached one. The store reads
//   with `.all()`/`.get()` a page at a time, so this is the rare path.
// - The cache is bounded (SQL built with a variable number of placeholders
//   would otherwise grow it without end): past `limit` texts the oldest goes.
// - `relaxed()` runs a transaction under synchronous=NORMAL and puts FULL back
//   before it returns, whatever happens: the pragma belongs to the connection
//   and holds between transactions, so a delivery that follows still commits
//   under FULL. Only flag, expunge, copy/move and \Recent bookkeeping use it
//   (what a power cut can undo is in README.md, "What a power cut can lose").

import type { Database, Statement } from 'better-sqlite3';

const cached = Symbol('mailnest.statementCache');

type CachingDatabase = Database & { [cached]?: Map<string, Statement> };

/** Makes `db.prepare` return one Statement per SQL text (at most `limit` kept). Idempotent. */
export function cacheStatements(db: Database, limit = 1000): Database {
  const target = db as CachingDatabase;
  if (target[cached]) return db;
  const cache = new Map<string, Statement>();
  target[cached] = cache;
  const prepare = db.prepare.bind(db) as (sql: string) => Statement;
  (db as { prepare: (sql: string) => Statement }).prepare = (sql: string): Statement => {
    const hit = cache.get(sql);
    if (hit) {
      if (hit.busy) return prepare(sql);
      if (hit.reader) {
        // Back to the default mode; these are cheap native setters.
        hit.pluck(false);
        hit.raw(false);
        hit.expand(false);
      }
      return hit;
    }
    const statement = prepare(sql);
    if (cache.size >= limit) cache.delete(cache.keys().next().value!);
    cache.set(sql, statement);
    return statement;
  };
  return db;
}

/** How many SQL texts the cache holds now (for tests). */
export function cachedStatementCount(db: Database): number {
  return (db as CachingDatabase)[cached]?.size ?? 0;
}

/**
 * Runs `work` as one IMMEDIATE transaction whose commit does not wait for the
 * disk (synchronous=NORMAL in WAL mode): after a crash of the process or the
 * OS the database is intact and holds it; a power cut may roll it back. The
 * connection is back at FULL when this returns or throws. Called inside an
 * outer transaction, it is a savepoint of that one and syncs as it does.
 */
export function relaxed<T>(db: Database, work: () => T): T {
  // Inside an outer transaction the outer one's commit decides (SQLite refuses the pragma there).
  if (db.inTransaction) return db.transaction(work).immediate();
  db.prepare('PRAGMA synchronous = NORMAL').run();
  try {
    return db.transaction(work).immediate();
  } finally {
    db.prepare('PRAGMA synchronous = FULL').run();
  }
}
