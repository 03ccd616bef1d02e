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
