// COPY, MOVE and their UID forms (RFC 3501 §6.4.7, RFC 6851) with COPYUID
// (RFC 4315): TRYCREATE, \Noselect destinations, vanished UIDs.

import test from 'ava';
import { connectFlow, selectedClient, user } from './helpers/server.ts';

test('COPY answers COPYUID and keeps flags and dates; the copies are \\Recent for the destination', async (t) => {
  const { client, backend } = await selectedClient(t, 3);
  await client.command('a0', 'STORE 2 +FLAGS.SILENT (\\Flagged Work)');
  const archive = backend.mailbox(user, 'Archive');
  const result = await client.command('a1', 'COPY 2:3 Archive');
  t.is(result.tagged, `a1 OK [COPYUID ${archive.uidValidity} 2:3 1:2] COPY completed`);
  t.deepEqual(archive.messages.map((m) => m.flags), [['\\Flagged', 'Work'], []]);
  t.deepEqual(archive.messages.map((m) => m.internalDate.toISOString()), ['2024-01-02T12:00:00.000Z', '2024-01-03T12:00:00.000Z']);
  t.true((await client.command('a2', 'EXAMINE Archive')).untagged.includes('* 2 RECENT'));
});

test('MOVE sends COPYUID untagged, then EXPUNGE, then OK; UID MOVE the same', async (t) => {
  const { client, backend } = await selectedClient(t, 3);
  const trash = backend.mailbox(user, 'Trash');
  const moved = await client.command('a1', 'MOVE 1 Trash');
  t.deepEqual(moved.untagged, [`* OK [COPYUID ${trash.uidValidity} 1 1] Moved`, '* 1 EXPUNGE', '* 2 RECENT']);
  t.is(moved.tagged, 'a1 OK MOVE completed');
  const uidMoved = await client.command('a2', 'UID MOVE 3 Trash');
  t.deepEqual(uidMoved.untagged, [`* OK [COPYUID ${trash.uidValidity} 3 2] Moved`, '* 2 EXPUNGE', '* 1 RECENT']);
  t.deepEqual(backend.mailbox(user, 'INBOX').messages.map((m) => m.uid), [2]);
});

test('MOVE to the selected mailbox: EXPUNGE then EXISTS', async (t) => {
  const { client } = await selectedClient(t, 2);
  const moved = await client.command('a1', 'MOVE 1 INBOX');
  t.deepEqual(moved.untagged.slice(1), ['* 1 EXPUNGE', '* 2 EXISTS', '* 2 RECENT']);
});

test('to a missing mailbox: NO [TRYCREATE]; to a \\Noselect one: NO [CANNOT] that says so', async (t) => {
  const { client } = await selectedClient(t, 1);
  t.is((await client.command('a1', 'COPY 1 Nowhere')).tagged, 'a1 NO [TRYCREATE] Mailbox Nowhere does not exist');
  await client.command('a2', 'CREATE Folder/Sub');
  await client.command('a3', 'DELETE Folder');
  t.is((await client.command('a4', 'COPY 1 Folder')).tagged, 'a4 NO [CANNOT] Mailbox Folder holds only other mailboxes and cannot hold messages');
  t.regex((await client.command('a5', 'MOVE 1 Folder')).tagged, /^a5 NO \[CANNOT\]/);
});

test('UID COPY and UID MOVE of UIDs that no longer exist answer OK with no effect', async (t) => {
  const { client, backend } = await selectedClient(t, 1);
  t.deepEqual(await client.command('a1', 'UID COPY 40:50 Trash'), { untagged: [], tagged: 'a1 OK COPY completed; the messages no longer exist' });
  t.deepEqual(await client.command('a2', 'UID MOVE 40 Trash'), { untagged: [], tagged: 'a2 OK MOVE completed; the messages no longer exist' });
  t.is(backend.mailbox(user, 'Trash').messages.length, 0);
});

test('MOVE in a read-only mailbox is refused', async (t) => {
  const { client } = await selectedClient(t, 1);
  await client.command('a1', 'EXAMINE INBOX');
  t.regex((await client.command('a2', 'MOVE 1 Trash')).tagged, /^a2 NO/);
  t.regex((await client.command('a3', 'COPY 1 Trash')).tagged, /^a3 OK \[COPYUID/);
});

test('imapflow messageMove and messageCopy', async (t) => {
  const { port, backend } = await selectedClient(t, 3);
  const client = await connectFlow(t, port);
  await client.mailboxOpen('INBOX');
  const copied = await client.messageCopy('1', 'Archive');
  t.is(copied && copied.uidMap?.get(1), 1);
  const moved = await client.messageMove('2:3', 'Trash');
  t.deepEqual(moved && [...(moved.uidMap ?? new Map()).entries()], [[2, 1], [3, 2]]);
  t.is(backend.mailbox(user, 'INBOX').messages.length, 1);
  await client.logout();
});
