// Transfers cut off half-way: a client that disconnects in the middle of DATA,
// or of an IMAP APPEND literal, leaves no open file and no spool file behind,
// and nothing is delivered (issue 12, items 2 and 20).

import test from 'ava';
import { connect, type Socket } from 'node:net';
import { untilNothingLeft } from '../helpers/open-files.ts';
import { testPassword } from '../helpers/accounts.ts';
import { addFamily, startServices } from '../helpers/services.ts';
import { message, sendRaw } from '../helpers/smtp-client.ts';

/** Opens a connection and resolves once `text` has arrived (the greeting, a reply, a continuation). */
function dial(port: number): { socket: Socket; expect: (pattern: RegExp) => Promise<void> } {
  const socket = connect(port, '127.0.0.1');
  socket.on('error', () => {});
  let received = '';
  const waiters: (() => void)[] = [];
  socket.on('data', (chunk: Buffer) => {
    received += chunk.toString('latin1');
    for (const wake of waiters.splice(0)) wake();
  });
  const expect = (pattern: RegExp) =>
    new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`never saw ${pattern}; got ${JSON.stringify(received)}`)), 10_000);
      const check = () => {
        const match = pattern.exec(received);
        if (!match) return void waiters.push(check);
        received = received.slice(match.index + match[0].length);
        clearTimeout(timer);
        resolve();
      };
      check();
    });
  return { socket, expect };
}

async function dropMidData(port: number, bytes: number): Promise<void> {
  const { socket, expect } = dial(port);
  await expect(/^220 .*\r\n/m);
  socket.write('EHLO client.example.test\r\n');
  await expect(/^250 .*\r\n/m);
  socket.write('MAIL FROM:<s@remote.test>\r\nRCPT TO:<alice@example.test>\r\nDATA\r\n');
  await expect(/^354 .*\r\n/m);
  socket.write('From: s@remote.test\r\nSubject: never finished\r\n\r\n');
  // Written in pieces, so that the server has its spool file open when the connection drops.
  const line = 'x'.repeat(998) + '\r\n';
  for (let sent = 0; sent < bytes; sent += line.length * 64) socket.write(line.repeat(64));
  await new Promise<void>((resolve) => socket.end(resolve));
  socket.destroy();
}

test('clients that disconnect mid-DATA leave no open file, no spool file and no message', async (t) => {
  const env = await startServices(t);
  await addFamily(env.services);
  await Promise.all([1, 2, 3, 4, 5].map((n) => dropMidData(env.ports.smtp!, n * 300_000)));
  await untilNothingLeft(env.data);
  const store = env.services.store;
  const inbox = store.mail.findMailbox(store.accounts.get('alice@example.test').id, 'INBOX')!;
  t.deepEqual(store.mail.listMessages(inbox.id), []);
  t.true(env.logs.some((l) => /smtp "message abandoned" .*reason="connection closed during DATA"/.test(l)), 'the log says why');
  t.false(env.logs.some((l) => / error smtp /.test(l)), 'a client going away is not a server error');
  const result = await sendRaw(env.ports.smtp!, 's@remote.test', ['alice@example.test'], message('after', 'still works'));
  t.true(result.ok, result.response);
});

test('an IMAP APPEND cut off mid-literal leaves no open file, no spool file and no message', async (t) => {
  const env = await startServices(t);
  await addFamily(env.services);
  for (let round = 0; round < 3; round += 1) {
    const { socket, expect } = dial(env.ports.imap!);
    await expect(/^\* OK .*\r\n/m);
    // Loopback counts as secure, so LOGIN is allowed without TLS.
    socket.write(`a LOGIN alice@example.test ${testPassword}\r\n`);
    await expect(/^a OK .*\r\n/m);
    socket.write('b APPEND INBOX {2000000}\r\n');
    await expect(/^\+ .*\r\n/m);
    socket.write('From: s@remote.test\r\nSubject: cut off\r\n\r\n' + 'y'.repeat(600_000));
    await new Promise<void>((resolve) => socket.end(resolve));
    socket.destroy();
  }
  await untilNothingLeft(env.data);
  const store = env.services.store;
  const inbox = store.mail.findMailbox(store.accounts.get('alice@example.test').id, 'INBOX')!;
  t.deepEqual(store.mail.listMessages(inbox.id), []);
});
