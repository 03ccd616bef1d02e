// LIST (RFC 3501 §6.3.8), LSUB (§6.3.9), LIST-EXTENDED (RFC 5258),
// SPECIAL-USE (RFC 6154), LIST-STATUS (RFC 5819), and mailbox names in
// modified UTF-7 or, after ENABLE UTF8=ACCEPT (RFC 6855), UTF-8.

import test from 'ava';
import { RawClient } from './helpers/raw-client.ts';
import { connectFlow, startServer, user } from './helpers/server.ts';

async function setup(t: Parameters<typeof startServer>[0]) {
  const started = await startServer(t, { mailboxes: ['INBOX', 'Sent', 'Trash', 'Work', 'Work/Projects', 'Work/Projects/2024', 'Entwürfe'] });
  const account = started.backend.account(user);
  account.mailboxes.get('Sent')!.specialUse = '\\Sent';
  account.mailboxes.get('Trash')!.specialUse = '\\Trash';
  account.subscriptions = new Set(['INBOX', 'Work/Projects', 'Gone']);
  const client = await RawClient.connect(t, started.port);
  await client.login();
  return { ...started, client };
}

test('LIST "" "" gives the separator', async (t) => {
  const { client } = await setup(t);
  t.deepEqual((await client.command('a1', 'LIST "" ""')).untagged, ['* LIST (\\Noselect) "/" ""']);
});

test('LIST with * and %, children attributes, special uses, modified UTF-7 names', async (t) => {
  const { client } = await setup(t);
  t.deepEqual((await client.command('a1', 'LIST "" *')).untagged, [
    '* LIST (\\HasNoChildren) "/" "INBOX"',
    '* LIST (\\HasNoChildren) "/" "Entw&APw-rfe"',
    '* LIST (\\HasNoChildren \\Sent) "/" "Sent"',
    '* LIST (\\HasNoChildren \\Trash) "/" "Trash"',
    '* LIST (\\HasChildren) "/" "Work"',
    '* LIST (\\HasChildren) "/" "Work/Projects"',
    '* LIST (\\HasNoChildren) "/" "Work/Projects/2024"',
  ]);
  t.deepEqual((await client.command('a2', 'LIST "" %')).untagged.length, 5);
  t.deepEqual((await client.command('a3', 'LIST Work/ %')).untagged, ['* LIST (\\HasChildren) "/" "Work/Projects"']);
  t.deepEqual((await client.command('a4', 'LIST "" W*/%4')).untagged, ['* LIST (\\HasNoChildren) "/" "Work/Projects/2024"']);
  t.deepEqual((await client.command('a5', 'LIST "" inbox')).untagged, ['* LIST (\\HasNoChildren) "/" "INBOX"']);
  t.deepEqual((await client.command('a6', 'LIST "" "Entw&APw-rfe"')).untagged, ['* LIST (\\HasNoChildren) "/" "Entw&APw-rfe"']);
  t.deepEqual((await client.command('a7', 'LIST "" "bad&name"')).untagged, []);
});

test('LSUB lists subscriptions; an unsubscribed parent reached by % is \\Noselect', async (t) => {
  const { client } = await setup(t);
  t.deepEqual((await client.command('a1', 'LSUB "" *')).untagged, ['* LSUB () "/" "INBOX"', '* LSUB (\\Noselect) "/" "Gone"', '* LSUB () "/" "Work/Projects"']);
  t.deepEqual((await client.command('a2', 'LSUB "" %')).untagged, ['* LSUB () "/" "INBOX"', '* LSUB (\\Noselect) "/" "Gone"', '* LSUB (\\Noselect) "/" "Work"']);
});

test('LIST-EXTENDED: selection and return options, several patterns, errors', async (t) => {
  const { client } = await setup(t);
  t.deepEqual((await client.command('a1', 'LIST (SUBSCRIBED) "" *')).untagged, [
    '* LIST (\\HasNoChildren \\Subscribed) "/" "INBOX"',
    '* LIST (\\NonExistent \\Subscribed) "/" "Gone"',
    '* LIST (\\HasChildren \\Subscribed) "/" "Work/Projects"',
  ]);
  t.deepEqual((await client.command('a2', 'LIST (SUBSCRIBED RECURSIVEMATCH) "" %')).untagged, [
    '* LIST (\\HasNoChildren \\Subscribed) "/" "INBOX"',
    '* LIST (\\NonExistent \\Subscribed) "/" "Gone"',
    '* LIST (\\HasChildren) "/" "Work" ("CHILDINFO" ("SUBSCRIBED"))',
  ]);
  t.deepEqual((await client.command('a3', 'LIST (SPECIAL-USE) "" *')).untagged, ['* LIST (\\HasNoChildren \\Sent) "/" "Sent"', '* LIST (\\HasNoChildren \\Trash) "/" "Trash"']);
  t.deepEqual((await client.command('a4', 'LIST "" (INBOX Sent) RETURN (SUBSCRIBED CHILDREN)')).untagged, ['* LIST (\\HasNoChildren \\Subscribed) "/" "INBOX"', '* LIST (\\HasNoChildren \\Sent) "/" "Sent"']);
  t.is((await client.command('a5', 'LIST (REMOTE) "" Trash')).untagged.length, 1);
  for (const bad of ['LIST (RECURSIVEMATCH) "" *', 'LIST (BOGUS) "" *', 'LIST "" * RETURN (BOGUS)', 'LIST "" * BOGUS ()', 'LIST "" ()']) t.regex((await client.command('x', bad)).tagged, /^x BAD/, bad);
});

test('LIST-STATUS: RETURN (STATUS (...)) adds a STATUS line after each selectable mailbox', async (t) => {
  const { client, backend } = await setup(t);
  backend.deliver(user, 'Work', 'Subject: x\r\n\r\nx\r\n');
  t.deepEqual((await client.command('a1', 'LIST "" Work* RETURN (STATUS (MESSAGES UNSEEN))')).untagged, [
    '* LIST (\\HasChildren) "/" "Work"',
    '* STATUS "Work" (MESSAGES 1 UNSEEN 1)',
    '* LIST (\\HasChildren) "/" "Work/Projects"',
    '* STATUS "Work/Projects" (MESSAGES 0 UNSEEN 0)',
    '* LIST (\\HasNoChildren) "/" "Work/Projects/2024"',
    '* STATUS "Work/Projects/2024" (MESSAGES 0 UNSEEN 0)',
  ]);
});

test('after ENABLE UTF8=ACCEPT names travel as UTF-8 both ways', async (t) => {
  const { client } = await setup(t);
  t.deepEqual((await client.command('a1', 'ENABLE UTF8=ACCEPT')).untagged, ['* ENABLED UTF8=ACCEPT']);
  const name = Buffer.from('Entwürfe', 'utf8').toString('latin1');
  t.deepEqual((await client.command('a2', 'LIST "" Entw*')).untagged, [`* LIST (\\HasNoChildren) "/" {${Buffer.byteLength('Entwürfe')}}\r\n${name}`]);
  client.write(Buffer.from('a3 SELECT "Entwürfe"\r\n', 'utf8'));
  t.regex((await client.until('a3')).tagged, /^a3 OK/);
});

test('imapflow list() and listTree()', async (t) => {
  const { port } = await setup(t);
  const client = await connectFlow(t, port);
  const list = await client.list();
  t.deepEqual(list.map((entry) => entry.path).sort(), ['Entwürfe', 'INBOX', 'Sent', 'Trash', 'Work', 'Work/Projects', 'Work/Projects/2024']);
  t.is(list.find((entry) => entry.path === 'Sent')?.specialUse, '\\Sent');
  await client.logout();
});
