// A client that FETCHes large messages and goes away without reading: every
// message file the server opened for the answer is closed again, the ones
// being streamed and the ones queued behind them alike.

import test from 'ava';
import { realpathSync } from 'node:fs';
import { connect } from 'node:net';
import { testPassword } from '../helpers/accounts.ts';
import { appendRaw } from '../helpers/mail.ts';
import { openFilesUnder } from '../helpers/open-files.ts';
import { until } from '../hw/until.ts';
import { addFamily, startServices } from '../helpers/services.ts';

function largeMessage(n: number): string {
  const text = `${'x'.repeat(998)}\r\n`.repeat(2048);
  // A NUL in the second part: its octets go out through a filter stream (NUL becomes a space).
  const binary = `${'y'.repeat(500)}\0${'y'.repeat(497)}\r\n`.repeat(2048);
  return [
    `From: Friend <friend@remote.test>`,
    `To: alice@example.test`,
    `Subject: large ${n}`,
    `MIME-Version: 1.0`,
    `Content-Type: multipart/mixed; boundary="part"`,
    ``,
    `--part`,
    `Content-Type: text/plain`,
    ``,
    text,
    `--part`,
    `Content-Type: application/octet-stream`,
    ``,
    binary,
    `--part--`,
    ``,
  ].join('\r\n');
}

test('FETCH of large messages by a client that closes without reading leaves no message file open', async (t) => {
  // A descriptor that only the garbage collector closes was leaked: count those too.
  const closedByGc: string[] = [];
  const onWarning = (warning: Error) => {
    if (/Closing file descriptor \d+ on garbage collection/.test(warning.message)) closedByGc.push(warning.message);
  };
  process.on('warning', onWarning);
  t.teardown(() => process.off('warning', onWarning));
  const env = await startServices(t);
  await addFamily(env.services);
  const messages = realpathSync(env.services.store.paths.messages);
  for (let n = 1; n <= 6; n++) await appendRaw(env.services.store, 'alice@example.test', 'INBOX', largeMessage(n));
  t.is(openFilesUnder(messages).length, 0);

  const socket = connect(env.ports.imap!, '127.0.0.1');
  socket.on('error', () => {});
  t.teardown(() => socket.destroy());
  await new Promise((resolve) => socket.once('connect', resolve));
  // Read nothing: the answers pile up until the socket is full.
  socket.pause();
  socket.write(`a LOGIN alice@example.test ${testPassword}\r\nb SELECT INBOX\r\nc FETCH 1:6 (BODY.PEEK[1] BODY.PEEK[2] BODY.PEEK[])\r\n`);
  await until(() => openFilesUnder(messages).length > 0, 'the server to open message files for the FETCH');
  t.log(`message files open while the answer is stuck: ${openFilesUnder(messages).length}`);
  socket.destroy();
  await until(() => openFilesUnder(messages).length === 0, 'every message file to be closed after the client went away');
  // Warnings are emitted on the next tick: let them arrive.
  await new Promise((resolve) => setImmediate(resolve));
  t.deepEqual(closedByGc, []);
});
