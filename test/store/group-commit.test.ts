// The group committer (services/store/group-commit.ts) against a real SQLite
// file: deliveries queued in one turn share one transaction, a failing one
// fails alone (and a multi-recipient one all-or-none), nothing is answered
// or announced before the batch is durable, and a failed sync keeps the files.
// Shared folder syncs (body-files.ts FolderSyncs) are checked the same way:
// a sync that was already running never counts for a later rename.

import test, { type ExecutionContext } from 'ava';
import Database from 'better-sqlite3';
import { existsSync } from 'node:fs';
import { Readable } from 'node:stream';
import { createBodyAnalyzer } from '../../services/delivery/analyzer.ts';
import { FolderSyncs } from '../../services/store/body-files.ts';
import { GroupCommitter, NotDurableError } from '../../services/store/group-commit.ts';
import { Store } from '../../services/store/index.ts';
import { MailEvents, type MailChange } from '../../services/store/mail-events.ts';
import { MailStore, QuotaExceededError, type ReceivedBody } from '../../services/store/mail.ts';
import { receiveBody, receiveMessage } from '../../services/store/receive.ts';
import { testPassword } from '../helpers/accounts.ts';
import { tempDataDir } from '../helpers/data-dir.ts';
import { sample } from '../helpers/mail.ts';

async function setup(t: ExecutionContext, durable?: () => Promise<void>) {
  const dir = tempDataDir(t);
  const store = Store.open(dir);
  t.teardown(() => store.close());
  store.domains.add('example.test');
  const alice = await store.accounts.add({ address: 'alice@example.test', password: testPassword });
  // Room for one sample message, not two.
  const bob = await store.accounts.add({ address: 'bob@example.test', password: testPassword, quotaBytes: 1 });
  const batches: number[] = [];
  const events = new MailEvents();
  const changes: MailChange[] = [];
  events.onAny((change) => changes.push(change));
  const committer = new GroupCommitter(store.db, { durable, onBatch: (size) => batches.push(size) });
  const mail = new MailStore(store.db, store.accounts, store.mail.files, events, committer);
  const body = async (n: number): Promise<ReceivedBody> => {
    const received = await receiveBody(store.mail.files, createBodyAnalyzer(), Readable.from([Buffer.from(sample(n))]));
    if (!received.ok) throw new Error('not received');
    return received.body;
  };
  // Another connection sees only what was committed.
  const reader = new Database(store.paths.database, { readonly: true });
  t.teardown(() => reader.close());
  const committedMessages = () => reader.prepare('SELECT count(*) FROM messages').pluck().get() as number;
  return { store, mail, alice, bob, batches, changes, body, committedMessages, inbox: (id: number) => mail.findMailbox(id, 'INBOX')! };
}

test('deliveries queued in one turn share one transaction and each gets its own UID', async (t) => {
  const { mail, alice, batches, body, inbox } = await setup(t);
  const bodies = await Promise.all([1, 2, 3, 4, 5].map(body));
  const delivered = await Promise.all(bodies.map((b) => mail.deliverGrouped(b, [{ account: alice }])));
  t.deepEqual(batches, [5]);
  t.deepEqual(delivered.map((d) => d[0]!.uid), [1, 2, 3, 4, 5]);
  t.is(inbox(alice.id).messages, 5);

  // Queued in different turns: different transactions.
  const first = mail.deliverGrouped(await body(6), [{ account: alice }]);
  await first;
  await mail.deliverGrouped(await body(7), [{ account: alice }]);
  t.deepEqual(batches, [5, 1, 1]);
});

test('one delivery over quota fails alone; one to several accounts is all-or-none', async (t) => {
  const { store, mail, alice, bob, batches, body, inbox } = await setup(t);
  const [a, b, c, d] = await Promise.all([1, 2, 3, 4].map(body));
  const results = await Promise.allSettled([
    mail.deliverGrouped(a!, [{ account: alice }]),
    mail.deliverGrouped(b!, [{ account: bob }]),
    mail.deliverGrouped(c!, [{ account: alice }, { account: bob }]),
    mail.appendGrouped(alice, 'INBOX', d!, ['\\Seen'], Date.now()),
  ]);
  t.deepEqual(batches, [4], 'one transaction for all four');
  t.deepEqual(results.map((r) => r.status), ['fulfilled', 'rejected', 'rejected', 'fulfilled']);
  t.true((results[1] as PromiseRejectedResult).reason instanceof QuotaExceededError);
  t.true((results[2] as PromiseRejectedResult).reason instanceof QuotaExceededError);
  t.is(inbox(alice.id).messages, 2, 'the copy for alice of the message that bob could not take was rolled back with it');
  t.is(inbox(bob.id).messages, 0);
  const files = store.db.prepare('SELECT file FROM bodies ORDER BY id').pluck().all();
  t.deepEqual(files, [a!.file.file, d!.file.file], 'the failed deliveries left no body row');
  t.is(store.mail.usage(alice.id).usedBytes, a!.file.size + d!.file.size);
});

test('nothing is answered or announced before the batch is durable, and the rows are committed before that step', async (t) => {
  const steps: (() => void)[] = [];
  const { mail, alice, batches, changes, body, committedMessages } = await setup(t, () => new Promise<void>((resolve) => steps.push(resolve)));
  const turns = async (n: number) => {
    for (let i = 0; i < n; i++) await new Promise((resolve) => setImmediate(resolve));
  };
  const bodies = await Promise.all([1, 2, 3].map(body));
  const order: string[] = [];
  const first = bodies.map((b, i) => mail.deliverGrouped(b, [{ account: alice }]).then(() => order.push(`answered ${i + 1}`)));
  while (steps.length === 0) await turns(1);
  // Queued while the first batch is being made durable: it waits for a batch of its own.
  const late = mail.deliverGrouped(await body(4), [{ account: alice }]).then(() => order.push('answered 4'));
  await turns(5);
  t.is(committedMessages(), 3, 'the first batch committed before its durable step');
  t.deepEqual(order, [], 'no delivery answered before its batch is durable');
  t.deepEqual(changes, [], 'no change announced before its batch is durable');
  t.deepEqual(batches, [3], 'no second batch while the first is being made durable');

  steps[0]!();
  await Promise.all(first);
  t.deepEqual(order, ['answered 1', 'answered 2', 'answered 3']);
  t.is(changes.length, 3);
  while (steps.length === 1) await turns(1);
  t.deepEqual(batches, [3, 1]);
  t.is(committedMessages(), 4);
  await turns(5);
  t.false(order.includes('answered 4'), 'the late delivery waits for its own durable step');
  steps[1]!();
  await late;
  t.deepEqual(order.at(-1), 'answered 4');
});

test('a failed durable step rejects the committed deliveries with NotDurableError and keeps their files; a refused one still loses its file', async (t) => {
  const { store, mail, alice } = await setup(t, async () => {
    throw new Error('fsync failed');
  });
  const onDisk = () => store.db.prepare('SELECT file FROM bodies').pluck().all() as string[];
  const receive = (n: number, accountId: number) =>
    receiveMessage(store.mail.files, createBodyAnalyzer(), Readable.from([Buffer.from(sample(n))]), {}, { commit: (b) => mail.deliverGrouped(b, [{ account: { ...alice, id: accountId } }]) }).then(
      () => undefined,
      (error: unknown) => error,
    );
  const [committed, refused] = await Promise.all([receive(1, alice.id), receive(2, 9999)]);
  t.true(committed instanceof NotDurableError);
  t.false(refused instanceof NotDurableError);
  t.truthy(refused);
  const files = onDisk();
  t.is(files.length, 1);
  t.true(existsSync(store.mail.files.absolute(files[0]!)), 'a committed row names the file, so it stays');
  const swept = store.mail.sweep();
  t.is(swept.orphansRemoved, 0, 'the refused delivery removed its own file');
});

test('a batch commits under synchronous=FULL even when the connection is at NORMAL, and the level is put back', async (t) => {
  let during: unknown;
  let after: unknown;
  const { store, alice, body } = await setup(t);
  const committer = new GroupCommitter(store.db, {
    durable: async () => {
      after = store.db.pragma('synchronous', { simple: true });
    },
  });
  const mail = new MailStore(store.db, store.accounts, store.mail.files, new MailEvents(), committer);
  store.db.pragma('synchronous = NORMAL');
  const b = await body(1);
  await committer.run(() => {
    during = store.db.pragma('synchronous', { simple: true });
  });
  await mail.deliverGrouped(b, [{ account: alice }]);
  t.is(during, 2, 'FULL while the batch commits');
  t.is(after, 1, 'NORMAL again before the durable step');
  t.is(store.db.pragma('synchronous', { simple: true }), 1);
});

test('a folder sync that was running when a rename finished never counts for it', async (t) => {
  const syncs: { dir: string; done: () => void }[] = [];
  const folders = new FolderSyncs((dir) => new Promise<void>((resolve) => syncs.push({ dir, done: resolve })));
  const settled: string[] = [];
  const first = folders.sync('/m/aa').then(() => settled.push('first'));
  t.is(syncs.length, 1);
  const second = folders.sync('/m/aa').then(() => settled.push('second'));
  const third = folders.sync('/m/aa').then(() => settled.push('third'));
  const other = folders.sync('/m/bb').then(() => settled.push('other'));
  t.is(syncs.length, 2, 'the second and third wait; another folder syncs at once');
  syncs[0]!.done();
  await first;
  await new Promise((resolve) => setImmediate(resolve));
  t.deepEqual(settled, ['first'], 'the running sync answered only the call that started it');
  t.is(syncs.length, 3, 'one more sync, started after the first ended, for both waiting calls');
  t.is(syncs[2]!.dir, '/m/aa');
  syncs[2]!.done();
  await Promise.all([second, third]);
  t.deepEqual(settled, ['first', 'second', 'third']);
  syncs[1]!.done();
  await other;
  t.is(folders.started, 3);
});

test('files written one after another share a shard folder; names stay 32 hex digits', async (t) => {
  const store = Store.open(tempDataDir(t));
  t.teardown(() => store.close());
  const files: string[] = [];
  for (let i = 0; i < 10; i++) {
    const received = await receiveBody(store.mail.files, createBodyAnalyzer(), Readable.from([Buffer.from(sample(i))]));
    if (received.ok) files.push(received.body.file.file);
  }
  t.is(files.length, 10);
  for (const file of files) t.regex(file, /^([0-9a-f]{2})\/\1[0-9a-f]{30}\.eml$/);
  t.true(new Set(files.map((f) => f.slice(0, 2))).size <= 2, 'at most one change of shard in ten files');
  t.is(new Set(files).size, 10);
});
