// The statement cache and the relaxed commit (services/store/statements.ts)
// on a real SQLite file: one Statement per SQL text in its default mode, a
// busy one never handed out twice, and synchronous back at FULL after a
// relaxed transaction whatever happened in it.

import test from 'ava';
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { cacheStatements, cachedStatementCount, relaxed } from '../../services/store/statements.ts';
import { tempDataDir } from '../helpers/data-dir.ts';

function open(t: Parameters<typeof tempDataDir>[0]) {
  const db = cacheStatements(new Database(join(tempDataDir(t), 'test.db')));
  t.teardown(() => db.close());
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.exec('CREATE TABLE t (x INTEGER)');
  db.prepare('INSERT INTO t (x) VALUES (1), (2), (3)').run();
  return db;
}

test('the same SQL gives the same statement, back in its default mode', (t) => {
  const db = open(t);
  const first = db.prepare('SELECT x FROM t ORDER BY x');
  t.deepEqual(first.pluck().all(), [1, 2, 3]);
  const again = db.prepare('SELECT x FROM t ORDER BY x');
  t.is(again, first);
  t.deepEqual(again.all(), [{ x: 1 }, { x: 2 }, { x: 3 }], 'pluck() of the earlier caller does not stick');
  const count = cachedStatementCount(db);
  db.prepare('SELECT x FROM t ORDER BY x');
  t.is(cachedStatementCount(db), count);
});

test('a statement busy in an open iterate() is not handed out again', (t) => {
  const db = open(t);
  const sql = 'SELECT x FROM t ORDER BY x';
  const seen: number[] = [];
  for (const row of db.prepare(sql).iterate() as Iterable<{ x: number }>) {
    // Would throw "This statement is busy executing a query" if it were the same statement.
    seen.push(row.x, (db.prepare(sql).pluck().get() as number) * 10);
  }
  t.deepEqual(seen, [1, 10, 2, 10, 3, 10]);
});

test('a relaxed transaction commits under NORMAL and leaves the connection at FULL, also when it throws', (t) => {
  const db = open(t);
  const level = () => db.pragma('synchronous', { simple: true });
  t.is(
    relaxed(db, () => {
      db.prepare('INSERT INTO t (x) VALUES (4)').run();
      return level();
    }),
    1,
    'NORMAL inside',
  );
  t.is(level(), 2, 'FULL after');
  t.throws(() => relaxed(db, () => {
    db.prepare('INSERT INTO t (x) VALUES (5)').run();
    throw new Error('refused');
  }), { message: 'refused' });
  t.is(level(), 2, 'FULL after a failure');
  t.deepEqual(db.prepare('SELECT x FROM t ORDER BY x').pluck().all(), [1, 2, 3, 4], 'the failed one rolled back');
  db.transaction(() => relaxed(db, () => db.prepare('INSERT INTO t (x) VALUES (6)').run())).immediate();
  t.is(level(), 2, 'inside an outer transaction the outer one decides');
});
