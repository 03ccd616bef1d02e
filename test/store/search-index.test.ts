// The search index's life cycle on a real SQLite file: migration 8 marks
// older bodies pending, the backfill indexes them in batches and can stop and
// resume, large deliveries are left pending and indexed later, oversize ones
// are marked never indexed, and the rows go with the body on every path.

import test from 'ava';
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { migrate, migrations } from '../../services/store/migrations.ts';
import { Store } from '../../services/store/index.ts';
import { deliveryIndexBytes, maxIndexedMessageBytes, SearchBackfill } from '../../services/store/search-index.ts';
import { testPassword } from '../helpers/accounts.ts';
import { tempDataDir } from '../helpers/data-dir.ts';
import { appendRaw, sample } from '../helpers/mail.ts';
import { startServices } from '../helpers/services.ts';

const user = 'alice@example.test';

async function openStore(t: import('ava').ExecutionContext, dir = tempDataDir(t)) {
  const store = Store.open(dir);
  t.teardown(() => store.close());
  if (!store.domains.isLocal('example.test')) {
    store.domains.add('example.test');
    await store.accounts.add({ address: user, password: testPassword });
  }
  return store;
}

const states = (store: Store) => store.db.prepare('SELECT state, count(*) AS n FROM body_search GROUP BY state ORDER BY state').raw().all();
/** Bodies whose indexed column holds the text, as search.ts asks. */
const matching = (store: Store, column: 'h' | 'u' | 'a', text: string) => store.db.prepare(`SELECT rowid FROM body_text WHERE ${column} GLOB ? ORDER BY rowid`).pluck().all(`*${text}*`);

test('migration 8 marks every older body pending; the backfill indexes them in batches and resumes after a stop', async (t) => {
  const dir = tempDataDir(t);
  // A database at version 7 with bodies in it, as an older Mailnest left it.
  const old = new Database(join(dir, 'old.db'));
  migrate(old, migrations.slice(0, 7));
  const insert = old.prepare("INSERT INTO bodies (file, size, structure, refs) VALUES (?, 10, '{}', 1)");
  for (let i = 1; i <= 5; i++) insert.run(`old-${i}`);
  migrate(old);
  t.deepEqual(old.prepare('SELECT body_id, state FROM body_search ORDER BY body_id').raw().all(), [1, 2, 3, 4, 5].map((id) => [id, 0]));
  old.close();

  // Real messages, then their index rows made pending as migration 8 leaves older bodies.
  const store = await openStore(t);
  for (let n = 1; n <= 7; n++) await appendRaw(store, user, 'INBOX', sample(n, n === 3 ? 'X-Note: kiwi\r\n' : ''));
  t.deepEqual(matching(store, 'u', 'message 3'), [3]);
  store.db.exec('UPDATE body_search SET state = 0; DELETE FROM body_text');
  const backfill = new SearchBackfill(store.db, store.mail.files, { batchBodies: 3 });
  t.is(backfill.pending(), 7);
  t.is(await backfill.runBatch(), 3);
  t.is(backfill.pending(), 4);
  // A new backfill (a restart) carries on from the rows still pending.
  const again = new SearchBackfill(store.db, store.mail.files, { batchBodies: 3 });
  await again.drain();
  t.is(again.pending(), 0);
  t.deepEqual(states(store), [[1, 7]]);
  t.deepEqual(matching(store, 'u', 'message 3'), [3]);
  t.deepEqual(matching(store, 'h', 'x-note: kiwi'), [3]);
  t.deepEqual(matching(store, 'u', 'kiwi'), []);
});

test('a delivery over the delivery bound is left pending and indexed by the backfill; an oversize one is never indexed', async (t) => {
  const store = await openStore(t);
  const big = sample(1, '') + 'pineapple '.repeat(Math.ceil(deliveryIndexBytes / 10)) + '\r\n';
  await appendRaw(store, user, 'INBOX', big);
  const huge = sample(2, '') + 'y'.repeat(maxIndexedMessageBytes) + '\r\n';
  await appendRaw(store, user, 'INBOX', huge);
  t.deepEqual(states(store), [[0, 2]]);
  const backfill = new SearchBackfill(store.db, store.mail.files);
  await backfill.drain();
  t.deepEqual(states(store), [
    [1, 1],
    [2, 1],
  ]);
  t.deepEqual(matching(store, 'u', 'pineapple pine'), [1]);
  // The oversize body still has its sort keys.
  t.is(store.db.prepare('SELECT sort_subject FROM body_search WHERE body_id = 2').pluck().get(), 'MESSAGE 2');
});

test('index rows are deleted with their body: garbage collection, the start-up sweep and an account removal', async (t) => {
  const dir = tempDataDir(t);
  const store = await openStore(t, dir);
  for (let n = 1; n <= 3; n++) await appendRaw(store, user, 'INBOX', sample(n));
  const inbox = store.mail.findMailbox(store.accounts.get(user).id, 'INBOX')!;
  const count = () => store.db.prepare('SELECT (SELECT count(*) FROM bodies), (SELECT count(*) FROM body_search), (SELECT count(*) FROM body_text)').raw().get();
  t.deepEqual(count(), [3, 3, 3]);
  store.mail.setFlags(inbox, [[1, 1]], 'add', ['\\Deleted']);
  store.mail.expunge(inbox);
  await store.mail.collectGarbage({ graceMs: 0 });
  t.deepEqual(count(), [2, 2, 2]);
  t.deepEqual(matching(store, 'u', 'message 1'), []);
  store.mail.setFlags(inbox, [[2, 2]], 'add', ['\\Deleted']);
  store.mail.expunge(inbox);
  store.mail.sweep();
  t.deepEqual(count(), [1, 1, 1]);
  store.accounts.remove(user);
  store.mail.sweep();
  t.deepEqual(count(), [0, 0, 0]);
});

test('serve indexes pending bodies in the background at start', async (t) => {
  const dir = tempDataDir(t);
  {
    const store = Store.open(dir);
    store.domains.add('example.test');
    await store.accounts.add({ address: user, password: testPassword });
    for (let n = 1; n <= 5; n++) await appendRaw(store, user, 'INBOX', sample(n));
    // As migration 8 leaves the bodies of an older Mailnest.
    store.db.exec('UPDATE body_search SET state = 0; DELETE FROM body_text');
    store.close();
  }
  const env = await startServices(t, { data: dir });
  const store = env.services.store;
  for (let attempt = 0; attempt < 100 && new SearchBackfill(store.db, store.mail.files).pending() > 0; attempt++) await new Promise((resolve) => setTimeout(resolve, 50));
  t.deepEqual(states(store), [[1, 5]]);
  t.deepEqual(matching(store, 'u', 'message 4'), [4]);
});
