// APPEND from a client that writes the literal and its closing CRLF in two sends
// with Nagle on (Python's imaplib): the CRLF cannot leave before the server ACKs
// the literal, and Linux delays that ACK 40 ms when the server has just sent
// "+" (its interactive, "pingpong" mode). The fix is TCP_QUICKACK after each
// "+" (services/core/tcp-quickack.ts, the library's quickAck option). These
// tests check the mechanism, never the clock: the kernel reports the socket out
// of delayed-ACK mode when the literal arrives.

import test, { type ExecutionContext } from 'ava';
import { once } from 'node:events';
import { createServer, connect, type Socket } from 'node:net';
import { TLSSocket } from 'node:tls';
import { quickAck, quickAckAvailable, quickAckState } from '../../services/core/tcp-quickack.ts';
import { addFamily, startServices, testPassword } from '../helpers/services.ts';

/** A loopback connection pair; the server answers each "ping" at once (which puts its side in pingpong mode). */
async function pair(t: ExecutionContext): Promise<{ server: Socket; client: Socket }> {
  const listener = createServer();
  listener.listen(0, '127.0.0.1');
  await once(listener, 'listening');
  const accepted = once(listener, 'connection') as Promise<[Socket]>;
  const client = connect((listener.address() as { port: number }).port, '127.0.0.1');
  const [server] = await accepted;
  t.teardown(() => {
    client.destroy();
    server.destroy();
    listener.close();
  });
  server.on('data', () => server.write('pong\r\n'));
  return { server, client };
}

async function pingPong(client: Socket): Promise<void> {
  client.write('ping\r\n');
  await once(client, 'data');
}

test('quickAck takes a socket that has just answered out of delayed-ACK mode', async (t) => {
  t.true(quickAckAvailable(), 'the sockopt addon loads on Linux');
  const { server, client } = await pair(t);
  // The first exchange of a connection can find it still in its start-up quick-ACK phase.
  await pingPong(client);
  await pingPong(client);
  t.is(quickAckState(server), 0, 'answering at once put the server side in pingpong (delayed-ACK) mode');
  t.true(quickAck(server));
  t.is(quickAckState(server), 1);
  await pingPong(client);
  t.is(quickAckState(server), 0, 'not sticky: the next quick answer turns delayed ACKs back on');
});

test('quickAck reaches the TCP socket under a TLSSocket (993, or after STARTTLS)', async (t) => {
  const { server, client } = await pair(t);
  await pingPong(client);
  await pingPong(client);
  t.is(quickAckState(server), 0);
  const secure = new TLSSocket(server, { isServer: true });
  t.teardown(() => secure.destroy());
  t.true(quickAck(secure));
  t.is(quickAckState(server), 1);
});

test('quickAck does nothing and returns false on a destroyed socket', async (t) => {
  const { server } = await pair(t);
  server.destroy();
  t.false(quickAck(server));
});

test("Mailnest's IMAP server is out of delayed-ACK mode when the literal of an APPEND arrives; the CRLF written apart completes it", async (t) => {
  const env = await startServices(t);
  await addFamily(env.services);
  // Watch which socket the server sets the option on; the real quickAck still runs.
  const options = env.services.services.find((s) => s.name === 'imap') as unknown as { server: { options: { quickAck?: (socket: Socket) => void } } };
  const real = options.server.options.quickAck;
  t.truthy(real, 'the IMAP service passes a quickAck option');
  const sockets: Socket[] = [];
  options.server.options.quickAck = (socket) => {
    sockets.push(socket);
    real!(socket);
  };
  const client = connect(env.ports.imap!, '127.0.0.1');
  client.setNoDelay(false);
  t.teardown(() => client.destroy());
  let received = '';
  client.on('data', (chunk: Buffer) => (received += chunk.toString('latin1')));
  const until = async (pattern: RegExp) => {
    for (let i = 0; i < 500 && !pattern.test(received); i++) await new Promise((r) => setTimeout(r, 10));
    t.regex(received, pattern);
  };
  await until(/^\* OK/m);
  client.write(`a1 LOGIN alice@example.test ${testPassword}\r\n`);
  await until(/^a1 OK/m);
  const body = 'From: alice@example.test\r\nSubject: two writes\r\n\r\n' + 'hello world\r\n'.repeat(40);
  client.write(`a2 APPEND INBOX {${body.length}}\r\n`);
  await until(/^\+ /m);
  // Set after each flush (the greeting, the LOGIN answer, the "+"), always on this connection.
  t.true(sockets.length >= 1);
  t.true(sockets.every((socket) => socket.remotePort === client.localPort));
  t.is(quickAckState(sockets.at(-1)!), 1, 'after "+", the literal will be ACKed as soon as it is read');
  client.write(body);
  client.write('\r\n');
  await until(/^a2 OK \[APPENDUID \d+ 1\]/m);
  const inbox = env.services.store.mail.findMailbox(env.services.store.accounts.get('alice@example.test').id, 'INBOX');
  t.is(inbox?.messages, 1);
});
