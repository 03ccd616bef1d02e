// IDLE (RFC 2177): "+ idling" first, changes pushed as they happen, DONE ends
// it and whatever followed DONE in the same packet runs; a new tagged command
// where DONE was expected ends the IDLE and runs too.

import test from 'ava';
import { RawClient } from './helpers/raw-client.ts';
import { connectFlow, message, selectedClient, user } from './helpers/server.ts';

test('"+ idling" first; a delivery is pushed as EXISTS; DONE then a pipelined command in the same packet', async (t) => {
  const { client, backend } = await selectedClient(t, 1);
  client.write('i1 IDLE\r\n');
  t.is(await client.readResponse(), '+ idling');
  backend.deliver(user, 'INBOX', message('pushed'));
  t.is(await client.readResponse(), '* 2 EXISTS');
  t.is(await client.readResponse(), '* 2 RECENT');
  client.write('DONE\r\ni2 FETCH 2 (UID)\r\n');
  t.is(await client.readResponse(), 'i1 OK IDLE completed');
  t.deepEqual(await client.until('i2'), { untagged: ['* 2 FETCH (UID 2)'], tagged: 'i2 OK FETCH completed' });
});

test('expunges and flag changes by another session are pushed during IDLE', async (t) => {
  const { client, port } = await selectedClient(t, 3);
  const other = await RawClient.connect(t, port);
  await other.login();
  await other.command('b0', 'SELECT INBOX');
  client.write('i1 IDLE\r\n');
  t.is(await client.readResponse(), '+ idling');
  await other.command('b1', 'STORE 3 +FLAGS.SILENT (\\Seen)');
  t.is(await client.readResponse(), '* 3 FETCH (UID 3 FLAGS (\\Recent \\Seen))');
  await other.command('b2', 'STORE 1 +FLAGS.SILENT (\\Deleted)');
  await client.readResponse();
  await other.command('b3', 'EXPUNGE');
  t.is(await client.readResponse(), '* 1 EXPUNGE');
  t.is(await client.readResponse(), '* 2 RECENT');
  client.write('done\r\n');
  t.is(await client.readResponse(), 'i1 OK IDLE completed');
});

test('a new tagged IDLE where DONE was expected ends the first IDLE and starts the second', async (t) => {
  const { client } = await selectedClient(t, 1);
  client.write('i1 IDLE\r\n');
  t.is(await client.readResponse(), '+ idling');
  client.write('i2 IDLE\r\n');
  t.regex(await client.readResponse(), /^i1 BAD Expected DONE/);
  t.is(await client.readResponse(), '+ idling');
  client.write('DONE\r\n');
  t.is(await client.readResponse(), 'i2 OK IDLE completed');
  t.is((await client.command('i3', 'NOOP')).tagged, 'i3 OK NOOP completed');
});

test('IDLE works in the authenticated state too, and the IDLE line and DONE may arrive in one packet', async (t) => {
  const { port } = await selectedClient(t, 0);
  const client = await RawClient.connect(t, port);
  await client.login();
  client.write('i1 IDLE\r\nDONE\r\n');
  t.is(await client.readResponse(), '+ idling');
  t.is(await client.readResponse(), 'i1 OK IDLE completed');
});

test('imapflow idle() sees a new message', async (t) => {
  const { port, backend } = await selectedClient(t, 1);
  const client = await connectFlow(t, port);
  await client.mailboxOpen('INBOX');
  const exists = new Promise<number>((resolve) => client.on('exists', (data: { count: number }) => resolve(data.count)));
  const idling = client.idle();
  setTimeout(() => backend.deliver(user, 'INBOX', message('idle')), 50);
  t.is(await exists, 2);
  await client.noop();
  await idling;
  await client.logout();
});
