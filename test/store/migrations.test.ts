import test from 'ava';
import Database from 'better-sqlite3';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { migrate, migrations } from '../../services/store/migrations.ts';
import { Store } from '../../services/store/index.ts';
import { tempDataDir } from '../helpers/data-dir.ts';

test('opening a new data folder creates the database in WAL mode at the latest version', (t) => {
  const dir = tempDataDir(t);
  const store = Store.open(join(dir, 'nested', 'data'));
  t.teardown(() => store.close());
  t.true(existsSync(join(dir, 'nested', 'data', 'mailnest.db')));
  t.is(store.db.pragma('journal_mode', { simple: true }), 'wal');
  t.is(store.db.pragma('synchronous', { simple: true }), 2, 'synchronous=FULL');
  t.is(store.db.pragma('user_version', { simple: true }), migrations.at(-1)!.version);
  t.true(store.health().ok);
});

test('reopening keeps data and applies nothing twice', (t) => {
  const dir = tempDataDir(t);
  const first = Store.open(dir);
  first.domains.add('example.test');
  first.close();
  const second = Store.open(dir);
  t.teardown(() => second.close());
  t.deepEqual(second.domains.list().map((d) => d.name), ['example.test']);
});

test('migrations run in order, each in a transaction; a failing one leaves the version where it was', (t) => {
  const db = new Database(':memory:');
  t.teardown(() => db.close());
  const list = [
    { version: 1, description: 'one', up: (d: Database.Database) => d.exec('CREATE TABLE a (x INTEGER)') },
    { version: 2, description: 'two', up: (d: Database.Database) => { d.exec('CREATE TABLE b (x INTEGER)'); throw new Error('boom'); } },
  ];
  t.throws(() => migrate(db, list), { message: 'boom' });
  t.is(db.pragma('user_version', { simple: true }), 1);
  t.falsy(db.prepare("SELECT name FROM sqlite_master WHERE name = 'b'").get(), 'the failed migration left nothing behind');
  list[1]!.up = (d) => d.exec('CREATE TABLE b (x INTEGER)');
  t.deepEqual(migrate(db, list), { from: 1, to: 2 });
});

test('a database from a newer Mailnest is refused with a clear message', (t) => {
  const db = new Database(':memory:');
  t.teardown(() => db.close());
  db.pragma('user_version = 999');
  t.throws(() => migrate(db), { message: /schema version 999, newer than this Mailnest/ });
});
