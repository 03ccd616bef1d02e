// APPEND (RFC 3501 §6.3.11) with APPENDUID (RFC 4315), flags and dates,
// LITERAL+ (RFC 7888), UTF8=ACCEPT's UTF8 (~{n}) form (RFC 6855), TRYCREATE
// and \Noselect refusals, and the message streamed, never held.

import test from 'ava';
import { connectFlow, loggedInClient, message, selectedClient, user } from './helpers/server.ts';


const body = 'Subject: appended\r\n\r\nhello\r\n';

test('APPEND with flags and a date answers APPENDUID; the message is stored exactly', async (t) => {
  const { client, backend } = await loggedInClient(t);
  client.write(`a1 APPEND Sent (\\Seen $Sent) "05-Mar-2024 07:08:09 +0100" {${body.length}}\r\n`);
  t.is(await client.readResponse(), '+ Ready for literal data');
  client.write(body + '\r\n');
  const sent = backend.mailbox(user, 'Sent');
  t.is((await client.until('a1')).tagged, `a1 OK [APPENDUID ${sent.uidValidity} 1] APPEND completed`);
  t.is(sent.messages[0]!.raw.toString(), body);
  t.deepEqual(sent.messages[0]!.flags, ['\\Seen', '$Sent']);
  t.is(sent.messages[0]!.internalDate.toISOString(), '2024-03-05T06:08:09.000Z');
});

test('a non-synchronizing literal (LITERAL+) needs no "+", and a command pipelined after it runs', async (t) => {
  const { client, backend } = await loggedInClient(t);
  client.write(`a1 APPEND INBOX {${body.length}+}\r\n${body}\r\na2 NOOP\r\n`);
  t.regex((await client.until('a1')).tagged, /^a1 OK \[APPENDUID \d+ 1\]/);
  t.is((await client.until('a2')).tagged, 'a2 OK NOOP completed');
  t.is(backend.mailbox(user, 'INBOX').messages.length, 1);
});

test('to a missing mailbox: NO [TRYCREATE] before "+"; to a \\Noselect one: NO [CANNOT]; the next command is clean', async (t) => {
  const { client } = await loggedInClient(t);
  client.write('a1 APPEND Nowhere {10}\r\n');
  t.is(await client.readResponse(), 'a1 NO [TRYCREATE] Mailbox Nowhere does not exist');
  await client.command('a2', 'CREATE Box/Inner');
  await client.command('a3', 'DELETE Box');
  client.write(`a4 APPEND Box {${body.length}+}\r\n${body}\r\n`);
  t.is((await client.until('a4')).tagged, 'a4 NO [CANNOT] Mailbox Box holds only other mailboxes and cannot hold messages');
  t.is((await client.command('a5', 'NOOP')).tagged, 'a5 OK NOOP completed');
});

test('APPEND over APPENDLIMIT is NO [TOOBIG] before "+", synchronizing or not; the next command works', async (t) => {
  const { client, backend } = await loggedInClient(t, { appendLimit: 1000 });
  t.regex(client.greeting, /APPENDLIMIT=1000/);
  client.write('a1 APPEND INBOX {5000}\r\n');
  t.is(await client.readResponse(), 'a1 NO [TOOBIG] Message too large (the limit is 1000 octets)');
  client.write(`a2 APPEND INBOX {5000+}\r\n${'x'.repeat(5000)}\r\na3 NOOP\r\n`);
  t.is(await client.readResponse(), 'a2 NO [TOOBIG] Message too large (the limit is 1000 octets)');
  t.is((await client.until('a3')).tagged, 'a3 OK NOOP completed');
  t.is(backend.mailbox(user, 'INBOX').messages.length, 0);
});

test('a large message streams through in pieces, never held whole by the library', async (t) => {
  const { client, backend } = await loggedInClient(t);
  const size = 3 * 1024 * 1024;
  const big = Buffer.alloc(size, 'a');
  client.write(`a1 APPEND INBOX {${size}}\r\n`);
  t.is(await client.readResponse(), '+ Ready for literal data');
  for (let i = 0; i < size; i += 65536) client.write(big.subarray(i, i + 65536));
  client.write('\r\n');
  t.regex((await client.until('a1', 20_000)).tagged, /^a1 OK/);
  t.true(backend.mailbox(user, 'INBOX').messages[0]!.raw.equals(big));
});

test('the selected mailbox learns of its own APPEND before the tagged OK', async (t) => {
  const { client } = await selectedClient(t, 1);
  client.write(`a1 APPEND INBOX {${body.length}+}\r\n${body}\r\n`);
  t.deepEqual((await client.until('a1')).untagged, ['* 2 EXISTS', '* 2 RECENT']);
});

test('junk after the message fails the APPEND (MULTIAPPEND is not offered)', async (t) => {
  const { client, backend } = await loggedInClient(t);
  client.write(`a1 APPEND INBOX {${body.length}+}\r\n${body} {3+}\r\nabc\r\na2 NOOP\r\n`);
  t.regex((await client.until('a1')).tagged, /^a1 BAD/);
  t.is((await client.until('a2')).tagged, 'a2 OK NOOP completed');
  t.is(backend.mailbox(user, 'INBOX').messages.length, 0);
});

test('UTF8 (~{n}) form after ENABLE UTF8=ACCEPT; literal8 elsewhere is refused', async (t) => {
  const { client, backend } = await loggedInClient(t);
  await client.command('a0', 'ENABLE UTF8=ACCEPT');
  const utf8 = Buffer.from('Subject: Grüße\r\n\r\nÄ\r\n', 'utf8');
  client.write(Buffer.concat([Buffer.from(`a1 APPEND INBOX UTF8 (~{${utf8.length}+}\r\n`), utf8, Buffer.from(')\r\n')]));
  t.regex((await client.until('a1')).tagged, /^a1 OK \[APPENDUID/);
  t.true(backend.mailbox(user, 'INBOX').messages[0]!.raw.equals(utf8));
  client.write(`a2 APPEND INBOX ~{3+}\r\nabc\r\n`);
  t.regex((await client.until('a2')).tagged, /^a2 BAD/);
  client.write(`a3 STATUS ~{5+}\r\nINBOX (MESSAGES)\r\n`);
  t.regex((await client.until('a3')).tagged, /^a3 BAD .*literal8/);
});

test('bad dates and flags are BAD', async (t) => {
  const { client } = await loggedInClient(t);
  for (const bad of ['APPEND INBOX "31-Feb-2024 00:00:00 +0000" {1+}\r\nx', 'APPEND INBOX (\\Bogus) {1+}\r\nx', 'APPEND INBOX (\\*) {1+}\r\nx', 'APPEND INBOX']) {
    t.regex((await client.command('x', bad)).tagged, /^x BAD/, bad);
  }
});

test('imapflow append()', async (t) => {
  const { port, backend } = await loggedInClient(t);
  const client = await connectFlow(t, port);
  const result = await client.append('Sent', message('via imapflow'), ['\\Seen'], new Date('2024-01-01T00:00:00Z'));
  t.is(result && result.uid, 1);
  t.is(backend.mailbox(user, 'Sent').messages.length, 1);
  await client.logout();
});

test('after each flush of output (a "+" among them) the quickAck option gets the socket, with nothing left unsent', async (t) => {
  // What the application does there (TCP_QUICKACK, as Dovecot after each write)
  // lets a client that sends the literal and its CRLF in two writes with Nagle
  // on (Python's imaplib) send the CRLF at once; here: the hook's timing and
  // argument, and such an APPEND.
  const calls: { remotePort: number | undefined; unsent: number }[] = [];
  const { client, backend } = await loggedInClient(t, {
    quickAck: (socket) => calls.push({ remotePort: socket.remotePort, unsent: socket.writableLength }),
  });
  const before = calls.length;
  client.socket.setNoDelay(false);
  client.write(`a1 APPEND INBOX {${body.length}}\r\n`);
  t.is(await client.readResponse(), '+ Ready for literal data');
  t.deepEqual(calls.slice(before), [{ remotePort: client.socket.localPort, unsent: 0 }], 'called once the "+" had left, before the client could read it, with nothing left unsent');
  client.write(body);
  client.write('\r\n');
  t.regex((await client.until('a1')).tagged, /^a1 OK \[APPENDUID \d+ 1\]/);
  const afterFirst = calls.length;
  t.true(afterFirst > before + 1, 'and again after the tagged answer');
  client.write(`a2 APPEND INBOX {${body.length}+}\r\n${body}\r\n`);
  t.regex((await client.until('a2')).tagged, /^a2 OK/);
  t.true(calls.length > afterFirst, 'after the answer to a LITERAL+ APPEND too');
  t.true(calls.every((call) => call.unsent === 0 && call.remotePort === client.socket.localPort));
  t.is(backend.mailbox(user, 'INBOX').messages.length, 2);
});

test('a quickAck option that throws changes nothing', async (t) => {
  const { client, backend } = await loggedInClient(t, {
    quickAck: () => {
      throw new Error('no such option here');
    },
  });
  client.write(`a1 APPEND INBOX {${body.length}}\r\n`);
  t.is(await client.readResponse(), '+ Ready for literal data');
  client.write(body + '\r\n');
  t.regex((await client.until('a1')).tagged, /^a1 OK/);
  t.is(backend.mailbox(user, 'INBOX').messages.length, 1);
});
