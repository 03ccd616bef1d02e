import test from 'ava';
import { existsSync } from 'node:fs';
import { Store } from '../../services/store/index.ts';
import { tempDataDir } from '../helpers/data-dir.ts';
import { testPassword } from '../helpers/accounts.ts';
import { appendRaw, sample } from '../helpers/mail.ts';

async function setup(t: Parameters<typeof tempDataDir>[0]) {
  const store = Store.open(tempDataDir(t));
  t.teardown(() => store.close());
  store.domains.add('example.test');
  const alice = await store.accounts.add({ address: 'alice@example.test', password: testPassword });
  return { store, alice };
}

const names = (store: Store, accountId: number) => store.mail.listMailboxes(accountId).map((m) => (m.noselect ? `${m.name} (noselect)` : m.name));

test('a new account has the special-use mailboxes, subscribed', async (t) => {
  const { store, alice } = await setup(t);
  t.deepEqual(
    store.mail.listMailboxes(alice.id).map((m) => [m.name, m.specialUse]),
    [['INBOX', null], ['Archive', '\\Archive'], ['Drafts', '\\Drafts'], ['Junk', '\\Junk'], ['Sent', '\\Sent'], ['Trash', '\\Trash']],
  );
  t.deepEqual([...store.mail.mailboxes.subscriptions(alice.id)].sort(), ['Archive', 'Drafts', 'INBOX', 'Junk', 'Sent', 'Trash']);
  const validities = store.mail.listMailboxes(alice.id).map((m) => m.uidValidity);
  t.is(new Set(validities).size, validities.length, 'every mailbox has its own UIDVALIDITY');
});

test('create makes parents; names are validated; duplicates and special-use clashes are refused', async (t) => {
  const { store, alice } = await setup(t);
  store.mail.createMailbox(alice.id, 'Family/Holidays/2026');
  t.true(names(store, alice.id).includes('Family') && names(store, alice.id).includes('Family/Holidays'));
  t.throws(() => store.mail.createMailbox(alice.id, 'Family/Holidays/2026'), { message: /already exists/ });
  t.throws(() => store.mail.createMailbox(alice.id, 'inbox'), { message: /already exists/ });
  t.throws(() => store.mail.createMailbox(alice.id, 'Bad//Name'), { message: /empty level/ });
  t.throws(() => store.mail.createMailbox(alice.id, 'Star*'), { message: /control character, \* or %/ });
  t.throws(() => store.mail.createMailbox(alice.id, 'Sent2', '\\Sent'), { message: /already has the special use/ });
  t.is(store.mail.createMailbox(alice.id, 'Everything', '\\All').specialUse, '\\All');
  t.is(store.mail.findMailbox(alice.id, 'inbox')?.name, 'INBOX');
});

test('delete: a leaf goes with its mail; a parent stays as \\Noselect without its mail; INBOX stays', async (t) => {
  const { store, alice } = await setup(t);
  store.mail.createMailbox(alice.id, 'Work/Old');
  await appendRaw(store, 'alice@example.test', 'Work', sample(1));
  const { mailbox } = await appendRaw(store, 'alice@example.test', 'Work/Old', sample(2));
  const file = store.mail.listMessages(mailbox.id)[0]!.file;

  store.mail.deleteMailbox(alice.id, 'Work');
  t.true(names(store, alice.id).includes('Work (noselect)'));
  t.is(store.mail.findMailbox(alice.id, 'Work')!.messages, 0);
  t.throws(() => store.mail.mailboxes.selectable(alice.id, 'Work'), { message: /only holds other mailboxes/ });
  t.throws(() => store.mail.deleteMailbox(alice.id, 'Work'), { message: /delete them first/ });

  store.mail.deleteMailbox(alice.id, 'Work/Old');
  t.false(names(store, alice.id).includes('Work/Old'));
  t.is(await store.mail.collectGarbage({ graceMs: 0 }), 2);
  t.false(existsSync(store.mail.files.absolute(file)));
  t.is(store.mail.usage(alice.id).usedBytes, 0);

  const before = store.mail.findMailbox(alice.id, 'Work')!.uidValidity;
  const again = store.mail.createMailbox(alice.id, 'Work');
  t.false(again.noselect);
  t.true(again.uidValidity > before, 'a new UIDVALIDITY when the name is made again');
  t.throws(() => store.mail.deleteMailbox(alice.id, 'INBOX'), { message: /INBOX cannot be deleted/ });
  t.throws(() => store.mail.deleteMailbox(alice.id, 'Nope'), { message: /no mailbox Nope/ });
});

test('rename moves children and subscriptions; INBOX rename moves its messages and leaves INBOX empty', async (t) => {
  const { store, alice } = await setup(t);
  store.mail.createMailbox(alice.id, 'Projects/A');
  store.mail.mailboxes.subscribe(alice.id, 'Projects/A');
  const validity = store.mail.findMailbox(alice.id, 'Projects')!.uidValidity;
  store.mail.renameMailbox(alice.id, 'alice@example.test', 'Projects', 'Archive/Projects');
  t.true(names(store, alice.id).includes('Archive/Projects/A'));
  t.false(names(store, alice.id).some((n) => n.startsWith('Projects')));
  t.true(store.mail.mailboxes.subscriptions(alice.id).has('Archive/Projects/A'));
  t.is(store.mail.findMailbox(alice.id, 'Archive/Projects')!.uidValidity, validity, 'UIDVALIDITY kept across a rename');
  t.throws(() => store.mail.renameMailbox(alice.id, 'alice@example.test', 'Archive', 'Archive/Inner'), { message: /into itself/ });
  t.throws(() => store.mail.renameMailbox(alice.id, 'alice@example.test', 'Sent', 'Trash'), { message: /already exists/ });

  await appendRaw(store, 'alice@example.test', 'INBOX', sample(1));
  await appendRaw(store, 'alice@example.test', 'INBOX', sample(2), ['\\Seen']);
  store.mail.renameMailbox(alice.id, 'alice@example.test', 'INBOX', 'Old Inbox');
  const old = store.mail.findMailbox(alice.id, 'Old Inbox')!;
  const inbox = store.mail.findMailbox(alice.id, 'INBOX')!;
  t.deepEqual([old.messages, old.unseen, inbox.messages, inbox.unseen], [2, 1, 0, 0]);
  t.deepEqual([...store.mail.messages.changes(inbox.id, 0)].map((c) => [c.kind, c.uid]), [['expunge', 1], ['expunge', 2]]);
});

test('SELECT claims \\Recent for one session only; EXAMINE shows it without claiming', async (t) => {
  const { store, alice } = await setup(t);
  await appendRaw(store, 'alice@example.test', 'INBOX', sample(1));
  await appendRaw(store, 'alice@example.test', 'INBOX', sample(2));
  const examined = store.mail.mailboxes.open(alice.id, 'INBOX', true);
  t.deepEqual([...examined.uids], [1, 2]);
  t.is(examined.recentFrom, 1, 'EXAMINE shows \\Recent');
  t.is(store.mail.mailboxes.status(examined.mailbox).recent, 2);
  const first = store.mail.mailboxes.open(alice.id, 'INBOX', false);
  t.is(first.recentFrom, 1);
  t.is(first.firstUnseenUid, 1);
  const second = store.mail.mailboxes.open(alice.id, 'INBOX', false);
  t.is(second.recentFrom, 3, 'the second session gets no \\Recent');
  await appendRaw(store, 'alice@example.test', 'INBOX', sample(3));
  t.is(store.mail.mailboxes.claimRecent(first.mailbox.id, 3), 3);
  t.is(store.mail.mailboxes.claimRecent(first.mailbox.id, 3), 4, 'claimed once');
});
