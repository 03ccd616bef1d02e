// CREATE (with CREATE-SPECIAL-USE, RFC 6154 §3), DELETE, RENAME (RFC 3501
// §6.3.3-§6.3.5), SUBSCRIBE and UNSUBSCRIBE (§6.3.6-§6.3.7), STATUS
// (§6.3.10, with HIGHESTMODSEQ, SIZE, DELETED, APPENDLIMIT).

import test from 'ava';
import { RawClient } from './helpers/raw-client.ts';
import { loggedInClient, message, user } from './helpers/server.ts';


test('CREATE makes parents; a trailing separator is dropped; existing and invalid names are refused', async (t) => {
  const { client, backend } = await loggedInClient(t);
  t.is((await client.command('a1', 'CREATE a/b/c')).tagged, 'a1 OK CREATE completed');
  t.deepEqual([...backend.account(user).mailboxes.keys()].filter((name) => name.startsWith('a')).sort(), ['a', 'a/b', 'a/b/c']);
  t.is((await client.command('a2', 'CREATE d/')).tagged, 'a2 OK CREATE completed');
  t.true(backend.account(user).mailboxes.has('d'));
  t.regex((await client.command('a3', 'CREATE a/b')).tagged, /^a3 NO \[ALREADYEXISTS\]/);
  t.regex((await client.command('a4', 'CREATE inbox')).tagged, /^a4 NO \[ALREADYEXISTS\]/);
  t.regex((await client.command('a5', 'CREATE "a//b"')).tagged, /^a5 NO/);
  t.regex((await client.command('a6', 'CREATE "x*"')).tagged, /^a6 NO/);
  t.regex((await client.command('a7', 'CREATE "bad&utf7"')).tagged, /^a7 NO \[CANNOT\]/);
  t.is((await client.command('a8', 'CREATE "Entw&APw-rfe"')).tagged, 'a8 OK CREATE completed');
  t.true(backend.account(user).mailboxes.has('Entwürfe'));
});

test('CREATE with USE sets the special use; an unknown one is NO [USEATTR]', async (t) => {
  const { client, backend } = await loggedInClient(t);
  t.is((await client.command('a1', 'CREATE Spam (USE (\\Junk))')).tagged, 'a1 OK CREATE completed');
  t.is(backend.mailbox(user, 'Spam').specialUse, '\\Junk');
  t.regex((await client.command('a2', 'CREATE Other (USE (\\Important))')).tagged, /^a2 NO \[USEATTR\]/);
  t.regex((await client.command('a3', 'CREATE Other (FOO)')).tagged, /^a3 BAD/);
});

test('DELETE: INBOX never; a leaf goes; a parent with children becomes \\Noselect', async (t) => {
  const { client, backend } = await loggedInClient(t);
  t.regex((await client.command('a1', 'DELETE INBOX')).tagged, /^a1 NO/);
  t.regex((await client.command('a2', 'DELETE Nope')).tagged, /^a2 NO \[NONEXISTENT\]/);
  await client.command('a3', 'CREATE p/q');
  t.is((await client.command('a4', 'DELETE p')).tagged, 'a4 OK DELETE completed');
  t.deepEqual((await client.command('a5', 'LIST "" p*')).untagged, ['* LIST (\\Noselect \\HasChildren) "/" "p"', '* LIST (\\HasNoChildren) "/" "p/q"']);
  t.is((await client.command('a6', 'DELETE p/q')).tagged, 'a6 OK DELETE completed');
  t.false(backend.account(user).mailboxes.has('p/q'));
});

test('RENAME moves children; to an existing name is NO; RENAME INBOX moves its messages', async (t) => {
  const { client, backend } = await loggedInClient(t);
  await client.command('a1', 'CREATE old/child');
  t.is((await client.command('a2', 'RENAME old new')).tagged, 'a2 OK RENAME completed');
  t.deepEqual([...backend.account(user).mailboxes.keys()].filter((name) => /^(old|new)/.test(name)).sort(), ['new', 'new/child']);
  t.regex((await client.command('a3', 'RENAME new Sent')).tagged, /^a3 NO \[ALREADYEXISTS\]/);
  t.regex((await client.command('a4', 'RENAME new new/inside')).tagged, /^a4 NO/);
  backend.deliver(user, 'INBOX', message('keep'));
  t.is((await client.command('a5', 'RENAME INBOX Saved')).tagged, 'a5 OK RENAME completed');
  t.is(backend.mailbox(user, 'INBOX').messages.length, 0);
  t.is(backend.mailbox(user, 'Saved').messages.length, 1);
});

test('SUBSCRIBE and UNSUBSCRIBE', async (t) => {
  const { client, backend } = await loggedInClient(t);
  t.is((await client.command('a1', 'SUBSCRIBE Sent')).tagged, 'a1 OK SUBSCRIBE completed');
  t.true(backend.account(user).subscriptions.has('Sent'));
  t.is((await client.command('a2', 'UNSUBSCRIBE Sent')).tagged, 'a2 OK UNSUBSCRIBE completed');
  t.false(backend.account(user).subscriptions.has('Sent'));
});

test('STATUS answers the items asked, in order; HIGHESTMODSEQ enables CONDSTORE', async (t) => {
  const { client, backend } = await loggedInClient(t);
  backend.deliver(user, 'Sent', message('one'), ['\\Seen']);
  backend.deliver(user, 'Sent', message('two'), ['\\Deleted']);
  const sent = backend.mailbox(user, 'Sent');
  const size = sent.messages.reduce((sum, m) => sum + m.raw.length, 0);
  t.deepEqual((await client.command('a1', 'STATUS Sent (UIDNEXT MESSAGES UNSEEN RECENT UIDVALIDITY SIZE DELETED)')).untagged, [
    `* STATUS "Sent" (UIDNEXT 3 MESSAGES 2 UNSEEN 1 RECENT 2 UIDVALIDITY ${sent.uidValidity} SIZE ${size} DELETED 1)`,
  ]);
  t.regex((await client.command('a2', 'STATUS Sent (HIGHESTMODSEQ APPENDLIMIT)')).untagged[0]!, /^\* STATUS "Sent" \(HIGHESTMODSEQ \d+ APPENDLIMIT \d+\)$/);
  t.regex((await client.command('a3', 'STATUS Nope (MESSAGES)')).tagged, /^a3 NO \[NONEXISTENT\]/);
  t.regex((await client.command('a4', 'STATUS Sent (BOGUS)')).tagged, /^a4 BAD/);
  t.regex((await client.command('a5', 'STATUS Sent ()')).tagged, /^a5 BAD/);
});

test('the selected mailbox deleted: another session with it selected gets BYE at its next command (RFC 2180 §3.3); the deleting session gets OK, then BYE', async (t) => {
  const { client: deleter, backend, port } = await loggedInClient(t);
  await deleter.command('c1', 'CREATE Work');
  backend.deliver(user, 'Work', message('one'));
  const other = await RawClient.connect(t, port);
  await other.login();
  t.regex((await other.command('s1', 'SELECT Work')).tagged, /^s1 OK/);
  t.regex((await deleter.command('s2', 'SELECT Work')).tagged, /^s2 OK/);
  deleter.write('d1 DELETE Work\r\n');
  t.is(await deleter.readResponse(), 'd1 OK DELETE completed');
  t.is(await deleter.readResponse(), '* BYE The selected mailbox was deleted');
  await deleter.waitClosed();
  other.write('f1 FETCH 1 (FLAGS)\r\n');
  t.is(await other.readResponse(), '* BYE The selected mailbox was deleted');
  await other.waitClosed();
  t.pass();
});

test('the selected mailbox renamed by another session stays selected (RFC 2180 §3.4)', async (t) => {
  const { client: renamer, backend, port } = await loggedInClient(t);
  await renamer.command('c1', 'CREATE Work');
  backend.deliver(user, 'Work', message('one'));
  const other = await RawClient.connect(t, port);
  await other.login();
  await other.command('s1', 'SELECT Work');
  t.is((await renamer.command('r1', 'RENAME Work Projects')).tagged, 'r1 OK RENAME completed');
  const fetched = await other.command('f1', 'FETCH 1 (FLAGS)');
  t.is(fetched.tagged, 'f1 OK FETCH completed');
  t.is(fetched.untagged.length, 1);
});
