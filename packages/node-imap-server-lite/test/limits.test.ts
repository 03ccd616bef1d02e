// Limits that protect the server: line length, literal size, command size,
// output back-pressure for readers that do not read, and parse-ahead.

import test from 'ava';
import { RawClient } from './helpers/raw-client.ts';
import { message, startServer, user } from './helpers/server.ts';

test('a line over maxLineLength is BAD [TOOBIG] and the next command works', async (t) => {
  const { port } = await startServer(t, { maxLineLength: 4096 });
  const client = await RawClient.connect(t, port);
  await client.login();
  client.write(`a1 SEARCH SUBJECT "${'x'.repeat(100_000)}"\r\na2 NOOP\r\n`);
  t.is(await client.readResponse(), 'a1 BAD [TOOBIG] Command line too long (the limit is 4096 octets)');
  t.is(await client.readResponse(), 'a2 OK NOOP completed');
});

test('a literal over maxLiteralSize is NO [TOOBIG] before "+"; a non-synchronizing one is skipped; the next command works', async (t) => {
  const { port } = await startServer(t, { maxLiteralSize: 1000 });
  const client = await RawClient.connect(t, port);
  await client.login();
  client.write('a1 SEARCH SUBJECT {100000}\r\n');
  t.is(await client.readResponse(), 'a1 NO [TOOBIG] Literal too large (the limit is 1000 octets)');
  client.write(`a2 SEARCH SUBJECT {100000+}\r\n${'y'.repeat(100_000)} ALL\r\na3 NOOP\r\n`);
  t.is(await client.readResponse(), 'a2 NO [TOOBIG] Literal too large (the limit is 1000 octets)');
  t.is(await client.readResponse(), 'a3 OK NOOP completed');
  // Outlook's case: one refused literal does not poison the DONE/next command
  client.write('a4 LOGIN {5000}\r\na5 NOOP\r\n');
  t.is(await client.readResponse(), 'a4 NO [TOOBIG] Literal too large (the limit is 1000 octets)');
  t.is(await client.readResponse(), 'a5 OK NOOP completed');
});

test('a command over maxCommandSize is refused, and the next command works', async (t) => {
  const { port } = await startServer(t, { maxCommandSize: 5000, maxLiteralSize: 4000 });
  const client = await RawClient.connect(t, port);
  await client.login();
  const literal = 'z'.repeat(3000);
  client.write(`a1 SEARCH OR SUBJECT {3000+}\r\n${literal} SUBJECT {3000+}\r\n${literal}\r\na2 NOOP\r\n`);
  t.regex(await client.readResponse(), /^a1 NO \[TOOBIG\]/);
  t.is(await client.readResponse(), 'a2 OK NOOP completed');
});

test('a reader that does not read slows the FETCH down instead of filling memory', async (t) => {
  const { port, backend } = await startServer(t);
  const count = 120;
  const body = 'x'.repeat(254) + '\r\n';
  for (let i = 0; i < count; i++) backend.deliver(user, 'INBOX', message(`m${i}`, body.repeat(1024)));
  let yielded = 0;
  const original = backend.fetch.bind(backend);
  backend.fetch = async function* (...args: Parameters<typeof original>) {
    for await (const item of original(...args)) {
      yielded++;
      yield item;
    }
  };
  const client = await RawClient.connect(t, port);
  await client.login();
  await client.command('a0', 'SELECT INBOX');
  client.socket.pause();
  client.write('a1 FETCH 1:* BODY.PEEK[]\r\n');
  // Wait until the server stops making progress (bounded: at most 50 checks).
  let last = -1;
  for (let i = 0; i < 50 && yielded !== last; i++) {
    last = yielded;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  t.log(`read ahead: ${yielded} of ${count}`);
  t.true(yielded < count / 2, `the backend was read ${yielded} of ${count} messages ahead of a client that reads nothing`);
  client.socket.resume();
  const result = await client.until('a1', 30_000);
  t.is(result.untagged.filter((line) => / FETCH \(/.test(line)).length, count);
  t.is(yielded, count);
});

test('commands pipelined far ahead are all answered, in order', async (t) => {
  const { port } = await startServer(t, { maxPendingCommands: 4 });
  const client = await RawClient.connect(t, port);
  await client.login();
  let script = '';
  for (let i = 0; i < 500; i++) script += `n${i} NOOP\r\n`;
  client.write(script);
  for (let i = 0; i < 500; i++) t.is(await client.readResponse(), `n${i} OK NOOP completed`);
});

test('a client that never logs in is dropped after preAuthTimeoutMs', async (t) => {
  const { port } = await startServer(t, { preAuthTimeoutMs: 200 });
  const client = await RawClient.connect(t, port);
  t.is(await client.readResponse(2000), '* BYE Autologout; idle for too long');
  await client.waitClosed();
  t.pass();
});

test('before login literals are capped at 4096 octets (LITERAL-, RFC 7888 §5): a larger non-synchronizing one is BAD [TOOBIG] and skipped, a larger synchronizing one is refused before "+"', async (t) => {
  const { port } = await startServer(t);
  const client = await RawClient.connect(t, port);
  client.write(`a1 ID ("name" {4096+}\r\n${'n'.repeat(4096)})\r\n`);
  t.regex((await client.until('a1')).tagged, /^a1 OK/);
  client.write(`a2 ID ("name" {4097+}\r\n${'n'.repeat(4097)})\r\na3 NOOP\r\n`);
  t.is(await client.readResponse(), 'a2 BAD [TOOBIG] Non-synchronizing literal too large (LITERAL- allows 4096 octets)');
  t.is(await client.readResponse(), 'a3 OK NOOP completed');
  client.write('a4 LOGIN {4097}\r\na5 NOOP\r\n');
  t.is(await client.readResponse(), 'a4 NO [TOOBIG] Literal too large (the limit is 4096 octets before login)');
  t.is(await client.readResponse(), 'a5 OK NOOP completed');
  // APPEND's message is not streamed before login: it is a literal like any other.
  client.write(`a6 APPEND INBOX {60000+}\r\n${'m'.repeat(60000)}\r\na7 NOOP\r\n`);
  t.regex(await client.readResponse(), /^a6 BAD \[TOOBIG\]/);
  t.is(await client.readResponse(), 'a7 OK NOOP completed');
  client.write('a8 LOGIN {18}\r\n');
  t.is(await client.readResponse(), '+ Ready for literal data');
  client.write(`${user} {6}\r\n`);
  t.is(await client.readResponse(), '+ Ready for literal data');
  client.write('secret\r\n');
  t.regex(await client.readResponse(), /^a8 OK \[CAPABILITY [^\]]*LITERAL\+/);
});

test('before login a line holds the largest ID (RFC 2971 §3.3: 30 fields of 1024 octets); a longer one is BAD [TOOBIG]', async (t) => {
  const { port } = await startServer(t);
  const client = await RawClient.connect(t, port);
  const fields = Array.from({ length: 30 }, (_, i) => `"${`f${i}`.padEnd(30, 'x')}" "${'v'.repeat(1024)}"`).join(' ');
  t.regex((await client.command('a1', `ID (${fields})`)).tagged, /^a1 OK/);
  client.write(`a2 ID ("name" "${'v'.repeat(40_000)}")\r\na3 NOOP\r\n`);
  t.regex(await client.readResponse(), /^a2 BAD \[TOOBIG\] Command line too long/);
  t.is(await client.readResponse(), 'a3 OK NOOP completed');
});

test('commands pipelined after LOGIN are read under the limits after login (LOGIN is a barrier)', async (t) => {
  const { port } = await startServer(t);
  const client = await RawClient.connect(t, port);
  client.write(`a1 LOGIN "${user}" secret\r\na2 SELECT INBOX\r\na3 SEARCH SUBJECT {20000+}\r\n${'s'.repeat(20000)}\r\na4 LOGOUT\r\n`);
  t.regex((await client.until('a1')).tagged, /^a1 OK/);
  t.regex((await client.until('a2')).tagged, /^a2 OK/);
  t.is((await client.until('a3')).tagged, 'a3 OK SEARCH completed');
  t.is((await client.until('a4')).tagged, 'a4 OK LOGOUT completed');
});

test('four unauthenticated connections sending large literals and thousands of pipelined commands before reading each leave the server holding one socket read and a few KiB', async (t) => {
  const { server, port } = await startServer(t);
  const clients = await Promise.all([1, 2, 3, 4].map(() => RawClient.connect(t, port)));
  const megabyte = 'x'.repeat(1_000_000);
  const commands = 5000;
  for (const client of clients) {
    client.socket.pause();
    let script = '';
    for (let i = 0; i < 8; i++) script += `a${i} ID ("name" {1000000+}\r\n${megabyte})\r\n`;
    script += 's0 LOGIN {2000000}\r\n';
    for (let i = 0; i < commands; i++) script += `c${i} CAPABILITY\r\n`;
    client.write(script + 'z NOOP\r\n');
  }
  // Nothing is read until every octet has left the client.
  await Promise.all(clients.map((client) => (client.socket.writableLength === 0 ? undefined : new Promise((resolve) => client.socket.once('drain', resolve)))));
  for (const client of clients) client.socket.resume();
  for (const client of clients) {
    const result = await client.until('z', 60_000);
    t.is(result.tagged, 'z OK NOOP completed');
    const tagged = result.untagged.filter((line) => /^[as]\d+ /.test(line));
    t.deepEqual(tagged.slice(0, 8), Array.from({ length: 8 }, (_, i) => `a${i} BAD [TOOBIG] Non-synchronizing literal too large (LITERAL- allows 4096 octets)`));
    t.regex(tagged[8] ?? '', /^s0 NO \[TOOBIG\]/);
    t.is(result.untagged.filter((line) => line.startsWith('* CAPABILITY ')).length, commands);
  }
  const { peakPerSession } = server.buffered;
  t.log(`the most one connection held at any time: ${peakPerSession} octets`);
  // One socket read (up to 64 KiB) plus the limits before login: 8 KiB parsed
  // ahead, the command being read, 16 KiB of queued output and the socket's
  // own write buffer. Before LITERAL- and the byte budgets it was megabytes.
  t.true(peakPerSession <= 160 * 1024, `one connection held ${peakPerSession} octets`);
});
