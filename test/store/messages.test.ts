import test from 'ava';
import { Store, type MailChange } from '../../services/store/index.ts';
import { tempDataDir } from '../helpers/data-dir.ts';
import { testPassword } from '../helpers/accounts.ts';
import { appendRaw, sample } from '../helpers/mail.ts';

async function setup(t: Parameters<typeof tempDataDir>[0], count = 5) {
  const store = Store.open(tempDataDir(t));
  t.teardown(() => store.close());
  store.domains.add('example.test');
  const alice = await store.accounts.add({ address: 'alice@example.test', password: testPassword });
  for (let i = 1; i <= count; i++) await appendRaw(store, 'alice@example.test', 'INBOX', sample(i));
  const events: MailChange[] = [];
  store.mail.events.onAny((e) => events.push(e));
  return { store, alice, inbox: () => store.mail.findMailbox(alice.id, 'INBOX')!, events };
}

const all = [[1, 0xffffffff]] as const;

test('STORE adds, removes and replaces flags with one new MODSEQ, and keeps counters', async (t) => {
  const { store, inbox, events } = await setup(t);
  const start = inbox().highestModseq;
  const added = store.mail.setFlags(inbox(), [[2, 3]], 'add', ['\\Seen', '$Important']).toArray();
  t.deepEqual(added.map((r) => [r.uid, r.status, r.modseq]), [[2, 'updated', start + 1], [3, 'updated', start + 1]]);
  t.is(inbox().highestModseq, start + 1);
  t.is(inbox().unseen, 3);
  t.deepEqual(store.mail.mailboxes.keywords(inbox().id), ['$Important']);
  t.like(events.at(-1), { kind: 'flags', modseq: start + 1 });

  const again = store.mail.setFlags(inbox(), [[2, 2]], 'add', ['\\seen']).toArray();
  t.is(again[0]!.status, 'unchanged', 'system flags match without regard to case');
  t.is(inbox().highestModseq, start + 1, 'no change, no new MODSEQ');

  const replaced = store.mail.setFlags(inbox(), [[3, 3]], 'replace', ['\\Flagged']).toArray();
  t.is(replaced[0]!.flags, 4);
  t.is(replaced[0]!.keywords, '');
  t.is(inbox().unseen, 4);

  const removed = store.mail.setFlags(inbox(), [[2, 2]], 'remove', ['$important', '\\Seen']).toArray();
  t.is(removed[0]!.flags, 0);
  t.is(removed[0]!.keywords, '', 'keywords removed without regard to case');
});

test('UNCHANGEDSINCE holds back messages changed after it', async (t) => {
  const { store, inbox } = await setup(t);
  const base = inbox().highestModseq;
  store.mail.setFlags(inbox(), [[1, 1]], 'add', ['\\Flagged']).toArray();
  const results = store.mail.setFlags(inbox(), [[1, 2]], 'add', ['\\Seen'], base).toArray();
  t.deepEqual(results.map((r) => [r.uid, r.status]), [[1, 'modified'], [2, 'updated']]);
});

test('COPY keeps flags, shares bodies, gives new UIDs; MOVE also expunges the sources', async (t) => {
  const { store, alice, inbox, events } = await setup(t);
  store.mail.setFlags(inbox(), [[1, 1]], 'add', ['\\Seen', 'work']).toArray();
  const used = store.mail.usage(alice.id).usedBytes;
  const copied = store.mail.copy(inbox(), [[1, 2], [4, 4], [99, 100]], 'Archive', alice, false);
  t.deepEqual([copied.source, copied.destination], [[1, 2, 4], [1, 2, 3]]);
  t.is(copied.uidValidity, store.mail.findMailbox(alice.id, 'Archive')!.uidValidity);
  const archive = store.mail.findMailbox(alice.id, 'Archive')!;
  t.deepEqual([archive.messages, archive.unseen, archive.uidNext], [3, 2, 4]);
  t.deepEqual(store.mail.listMessages(archive.id)[0]!.keywords, ['work']);
  t.true(store.mail.usage(alice.id).usedBytes > used, 'a copy counts against the quota');

  const moved = store.mail.copy(inbox(), [[4, 5]], 'Trash', alice, true);
  t.deepEqual(moved.source, [4, 5]);
  t.deepEqual(inbox().messages, 3);
  t.deepEqual(events.slice(-2).map((e) => e.kind), ['append', 'expunge']);
  t.deepEqual([...store.mail.messages.changes(inbox().id, moved.expungeModseq! - 1)].map((c) => [c.kind, c.uid]), [['expunge', 4], ['expunge', 5]]);
  t.throws(() => store.mail.copy(inbox(), all, 'Nowhere', alice, false), { message: /no mailbox Nowhere/ });
  t.deepEqual(store.mail.copy(inbox(), [[50, 60]], 'Archive', alice, false).source, [], 'UIDs that do not exist are no error');
});

test('a copy that does not fit the quota is refused whole', async (t) => {
  const { store, alice, inbox } = await setup(t);
  store.accounts.setQuota('alice@example.test', store.mail.usage(alice.id).usedBytes + 10);
  t.throws(() => store.mail.copy(inbox(), all, 'Archive', alice, false), { message: /is full/ });
  t.is(store.mail.findMailbox(alice.id, 'Archive')!.messages, 0);
  t.notThrows(() => store.mail.copy(inbox(), all, 'Archive', alice, true), 'moving within the account needs no more room');
});

test('EXPUNGE removes \\Deleted messages (UID EXPUNGE only within its set), leaves tombstones, frees quota and files', async (t) => {
  const { store, alice, inbox } = await setup(t);
  store.mail.setFlags(inbox(), [[2, 4]], 'add', ['\\Deleted']).toArray();
  const before = store.mail.usage(alice.id).usedBytes;
  t.deepEqual(store.mail.expunge(inbox(), [[1, 3]]), [2, 3]);
  t.deepEqual(store.mail.expunge(inbox()), [4]);
  t.deepEqual(store.mail.expunge(inbox()), []);
  t.is(inbox().messages, 2);
  t.true(store.mail.usage(alice.id).usedBytes < before);
  const changes = [...store.mail.messages.changes(inbox().id, 0)];
  t.deepEqual(changes.filter((c) => c.kind === 'expunge').map((c) => c.uid), [2, 3, 4]);
  t.deepEqual(store.mail.messages.expungedSince(inbox().id, 0, [[3, 10]]), [3, 4]);
  t.is(await store.mail.collectGarbage({ graceMs: 0 }), 3);
  t.deepEqual(store.mail.listMessages(inbox().id).map((m) => m.uid), [1, 5]);
});

test('the change feed replays new messages, flag changes and expunges in MODSEQ order', async (t) => {
  const { store, inbox } = await setup(t, 2);
  const since = inbox().highestModseq;
  store.mail.setFlags(inbox(), [[1, 1]], 'add', ['\\Deleted']).toArray();
  await appendRaw(store, 'alice@example.test', 'INBOX', sample(3));
  store.mail.expunge(inbox());
  t.deepEqual([...store.mail.messages.changes(inbox().id, since)].map((c) => [c.kind, c.uid, c.modseq - since]), [
    ['message', 3, 2],
    ['expunge', 1, 3],
  ]);
});

test('APPEND goes to the named mailbox only and refuses a missing or \\Noselect one', async (t) => {
  const { store, alice } = await setup(t, 0);
  const { uid } = await appendRaw(store, 'alice@example.test', 'Drafts', sample(1), ['\\Draft', '\\Seen'], Date.UTC(2020, 0, 1));
  t.is(uid, 1);
  const drafts = store.mail.findMailbox(alice.id, 'Drafts')!;
  t.like(store.mail.listMessages(drafts.id)[0], { flags: 17, internalDate: Date.UTC(2020, 0, 1) });
  t.is(drafts.unseen, 0);
  await t.throwsAsync(appendRaw(store, 'alice@example.test', 'Nope', sample(2)), { message: /no mailbox Nope/ });
  store.mail.createMailbox(alice.id, 'P/C');
  store.mail.deleteMailbox(alice.id, 'P');
  await t.throwsAsync(appendRaw(store, 'alice@example.test', 'P', sample(3)), { message: /cannot hold messages/ });
});

test('an expunged body stays readable for a grace period before its file is removed', async (t) => {
  const { store, inbox } = await setup(t, 1);
  const file = store.mail.listMessages(inbox().id)[0]!.file;
  store.mail.setFlags(inbox(), [[1, 1]], 'add', ['\\Deleted']).toArray();
  store.mail.expunge(inbox());
  t.is(await store.mail.collectGarbage({ graceMs: 60_000 }), 0, 'just expunged: kept');
  t.true((await import('node:fs')).existsSync(store.mail.files.absolute(file)));
  t.is(await store.mail.collectGarbage({ graceMs: 0 }), 1, 'once the grace is over: removed');
  t.false((await import('node:fs')).existsSync(store.mail.files.absolute(file)));
});

test('COPY and MOVE into the same mailbox take only the messages that were there, as set-based SQL', async (t) => {
  const { store, alice, inbox } = await setup(t, 3);
  const copied = store.mail.copy(inbox(), [[1, 2], [3, 0xffffffff]], 'INBOX', alice, false);
  t.deepEqual([copied.source, copied.destination], [[1, 2, 3], [4, 5, 6]]);
  t.is(inbox().messages, 6);
  const moved = store.mail.copy(inbox(), [[1, 0xffffffff]], 'INBOX', alice, true);
  t.deepEqual([moved.source, moved.destination], [[1, 2, 3, 4, 5, 6], [7, 8, 9, 10, 11, 12]]);
  t.deepEqual(store.mail.listMessages(inbox().id).map((m) => m.uid), [7, 8, 9, 10, 11, 12], 'the moved copies stay');
  t.deepEqual([inbox().messages, inbox().unseen], [6, 6]);
  t.is(store.db.prepare('SELECT sum(refs) FROM bodies').pluck().get(), 6, 'each row holds one reference');
});

test('the tombstone pruner removes only tombstones that were there at its previous run, so open sessions can still read them', async (t) => {
  const { store, inbox } = await setup(t, 6);
  const expungeUid = (uid: number) => {
    store.mail.setFlags(inbox(), [[uid, uid]], 'add', ['\\Deleted']).toArray();
    store.mail.expunge(inbox());
  };
  expungeUid(1);
  expungeUid(2);
  const prune = store.mail.tombstonePruner(0);
  t.is(prune(), 0, 'the first run only takes the snapshot');
  expungeUid(3);
  const seenAtSecondRun = inbox().highestModseq;
  t.is(prune(), 2, 'the second run takes the two tombstones older than the first run, not the newer one');
  t.is(inbox().tombstonesPrunedModseq < seenAtSecondRun, true);
  t.deepEqual(store.mail.messages.expungedSince(inbox().id, inbox().tombstonesPrunedModseq, all), [3], 'the newer tombstone is still there');
  t.is(prune(), 1, 'the next run takes it');
});
