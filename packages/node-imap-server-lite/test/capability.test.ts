// CAPABILITY, the greeting, NOOP and LOGOUT (RFC 3501 §6.1).

import test from 'ava';
import { RawClient } from './helpers/raw-client.ts';
import { startServer } from './helpers/server.ts';

test('the greeting carries the capabilities; CAPABILITY lists them', async (t) => {
  const { port } = await startServer(t);
  const client = await RawClient.connect(t, port);
  t.regex(client.greeting, /^\* OK \[CAPABILITY IMAP4rev1 .*\] .*$/);
  const result = await client.command('a1', 'CAPABILITY');
  t.is(result.tagged, 'a1 OK CAPABILITY completed');
  t.is(result.untagged.length, 1);
  const caps = result.untagged[0]!.split(' ').slice(2);
  for (const cap of ['IMAP4rev1', 'LITERAL-', 'IDLE', 'NAMESPACE', 'ID', 'ENABLE', 'UIDPLUS', 'MOVE', 'UNSELECT', 'SPECIAL-USE', 'CREATE-SPECIAL-USE', 'LIST-EXTENDED', 'LIST-STATUS', 'CONDSTORE', 'QRESYNC', 'ESEARCH', 'SORT', 'SASL-IR', 'AUTH=PLAIN', 'QUOTA']) {
    t.true(caps.includes(cap), cap);
  }
  t.true(caps.some((cap) => /^APPENDLIMIT=\d+$/.test(cap)));
  // loopback counts as secure: no LOGINDISABLED, and no STARTTLS without a TLS context
  t.false(caps.includes('LOGINDISABLED'));
  t.false(caps.includes('STARTTLS'));
  // RFC 7888 §5: LITERAL- before login (non-synchronizing literals up to 4096 octets), LITERAL+ after; never both
  t.false(caps.includes('LITERAL+'));
  await client.login();
  const after = (await client.command('a2', 'CAPABILITY')).untagged[0]!.split(' ').slice(2);
  t.true(after.includes('LITERAL+'));
  t.false(after.includes('LITERAL-'));
});

test('NOOP answers OK; LOGOUT says BYE, then OK, then closes', async (t) => {
  const { port } = await startServer(t);
  const client = await RawClient.connect(t, port);
  t.is((await client.command('a1', 'NOOP')).tagged, 'a1 OK NOOP completed');
  const result = await client.command('a2', 'LOGOUT');
  t.deepEqual(result.untagged, ['* BYE Logging out']);
  t.is(result.tagged, 'a2 OK LOGOUT completed');
  await client.waitClosed();
  t.pass();
});

test('an unknown command and a command in the wrong state get BAD, and the session goes on', async (t) => {
  const { port } = await startServer(t);
  const client = await RawClient.connect(t, port);
  t.regex((await client.command('a1', 'FROB')).tagged, /^a1 BAD /);
  t.regex((await client.command('a2', 'SELECT INBOX')).tagged, /^a2 BAD .*login/);
  t.is((await client.command('a3', 'NOOP')).tagged, 'a3 OK NOOP completed');
});

test('nothing pipelined after LOGOUT is executed', async (t) => {
  const { port, backend } = await startServer(t);
  const client = await RawClient.connect(t, port);
  await client.login();
  client.write('a1 LOGOUT\r\na2 CREATE Sneaky\r\n');
  t.is(await client.readResponse(), '* BYE Logging out');
  t.is(await client.readResponse(), 'a1 OK LOGOUT completed');
  await client.waitClosed();
  t.false(backend.account('alice@example.test').mailboxes.has('Sneaky'));
});
