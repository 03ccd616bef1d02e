// Connection reuse (services/queue/session-cache.ts, as Postfix's connection
// cache): several messages over one SMTP connection with RSET between them; a
// transaction that fails closes its connection and leaves nothing behind for
// the next message; a connection the peer drops while parked costs nothing;
// the parked connections say QUIT when the queue stops. Against a real
// smtp-server on 127.0.0.1, behind a small TCP relay that records the client's
// command lines (no STARTTLS here, so the relay can read them).

import test, { type ExecutionContext } from 'ava';
import { createServer, connect, type Socket } from 'node:net';
import { reply, startPeer } from '../helpers/smtp-peer.ts';
import { fromAlice, startQueueServices, submit, until } from './helpers.ts';

/** A TCP relay to `port` that records the command lines clients send, one list per connection. */
async function recordingRelay(t: ExecutionContext, port: number) {
  const sessions: string[][] = [];
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const lines: string[] = [];
    sessions.push(lines);
    const upstream = connect(port, '127.0.0.1');
    sockets.add(client);
    sockets.add(upstream);
    let partial = '';
    let inData = false;
    client.on('data', (chunk: Buffer) => {
      partial += chunk.toString('latin1');
      let end;
      while ((end = partial.indexOf('\r\n')) >= 0) {
        const line = partial.slice(0, end);
        partial = partial.slice(end + 2);
        if (inData) {
          if (line === '.') inData = false;
          continue;
        }
        const verb = line.split(' ')[0]!.toUpperCase();
        lines.push(verb === 'MAIL' || verb === 'RCPT' ? line : verb);
        if (verb === 'DATA') inData = true;
      }
      upstream.write(chunk);
    });
    upstream.on('data', (chunk) => client.write(chunk));
    const close = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('close', close).on('error', close);
    upstream.on('close', close).on('error', close);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    for (const socket of sockets) socket.destroy();
    server.close();
  });
  return {
    port: (server.address() as { port: number }).port,
    sessions,
    /** Drops every connection, as a peer's idle timeout would. */
    dropAll: () => {
      for (const socket of sockets) socket.destroy();
    },
  };
}

async function setUp(t: ExecutionContext, peerOptions: Parameters<typeof startPeer>[1] = {}, reuse: { idleMs?: number; maxMessages?: number } = {}) {
  const peer = await startPeer(t, { noTls: true, ...peerOptions });
  const relay = await recordingRelay(t, peer.port);
  // One connection to the destination, so that each message follows the last on it.
  const env = await startQueueServices(t, { queue: { maxPerDestination: 1, reuse: { idleMs: 30_000, ...reuse } } });
  env.services.store.transports.set('remote.test', `127.0.0.1:${relay.port}`);
  return { peer, relay, env };
}

test('several messages go over one connection, with RSET before each one after the first', async (t) => {
  const { peer, relay, env } = await setUp(t);
  for (let i = 1; i <= 4; i++) {
    await submit(env, [`friend${i}@remote.test`], fromAlice(`message ${i}`, `friend${i}@remote.test`));
    await until(() => peer.received.length === i, `message ${i} at the peer`);
  }
  t.is(peer.connections.total, 1, 'one connection carried them all');
  t.is(relay.sessions.length, 1);
  const lines = relay.sessions[0]!;
  t.deepEqual(lines.filter((l) => l === 'RSET').length, 3);
  // Each MAIL after the first comes right after the 250 to a RSET.
  const mails = lines.map((l, i) => [l, i] as const).filter(([l]) => l.startsWith('MAIL'));
  t.is(mails.length, 4);
  for (const [, i] of mails.slice(1)) t.is(lines[i - 1], 'RSET');
  t.deepEqual(peer.received.map((m) => m.to), [['friend1@remote.test'], ['friend2@remote.test'], ['friend3@remote.test'], ['friend4@remote.test']]);
  await until(() => env.services.store.outbound.count() === 0, 'the queue to empty');
});

test('a transaction that fails closes its connection; the next message goes on a new one, and the failed one is retried', async (t) => {
  // The second DATA is refused for now (451): that transaction is an error of the session.
  const { peer, relay, env } = await setUp(t, { onData: (attempt) => (attempt === 2 ? reply(451, '4.3.0 try again later') : null) });
  await submit(env, ['one@remote.test'], fromAlice('first', 'one@remote.test'));
  await until(() => peer.received.length === 1, 'the first message');
  await submit(env, ['two@remote.test'], fromAlice('second', 'two@remote.test'));
  await until(() => env.logs.some((l) => / queue deferred .*to=two@remote\.test/.test(l)), 'the second to be deferred');
  await submit(env, ['three@remote.test'], fromAlice('third', 'three@remote.test'));
  await until(() => peer.received.length === 3, 'the third, and the retry of the second');
  t.deepEqual(peer.received.map((m) => m.to[0]).sort(), ['one@remote.test', 'three@remote.test', 'two@remote.test']);
  const failed = relay.sessions.find((lines) => lines.some((l) => l.includes('two@remote.test')))!;
  t.is(failed.filter((l) => l.startsWith('MAIL')).length, 2, 'the failed connection carried the first message and the failed one, nothing after');
  t.is(failed.at(-1), 'QUIT', 'and was closed with QUIT');
  t.true(relay.sessions.length >= 2);
  await until(() => env.services.store.outbound.count() === 0, 'the queue to empty');
});

test('a refused recipient leaves nothing in the next transaction on the same connection', async (t) => {
  const { peer, relay, env } = await setUp(t, { onRcpt: (address) => (address === 'nobody@remote.test' ? reply(550, '5.1.1 no such user') : null) });
  await submit(env, ['friend@remote.test', 'nobody@remote.test'], fromAlice('to two, one refused'));
  await until(() => peer.received.length === 1 && env.services.store.outbound.count() === 0, 'the first message, and the bounce of the refused recipient');
  await submit(env, ['other@remote.test'], fromAlice('the next one', 'other@remote.test'));
  await until(() => peer.received.length === 2, 'the next message');
  t.deepEqual(peer.received[1]!.to, ['other@remote.test'], 'only its own recipient');
  t.is(relay.sessions.length, 1, 'the same connection');
  const lines = relay.sessions[0]!;
  t.is(lines.filter((l) => l.startsWith('MAIL')).length, 2);
  t.is(lines[lines.findLastIndex((l) => l.startsWith('MAIL')) - 1], 'RSET');
});

test('a parked connection the peer dropped costs nothing: the next message goes on a new one, not deferred', async (t) => {
  const { peer, relay, env } = await setUp(t);
  await submit(env, ['one@remote.test'], fromAlice('first', 'one@remote.test'));
  await until(() => peer.received.length === 1, 'the first message');
  relay.dropAll();
  await submit(env, ['two@remote.test'], fromAlice('second', 'two@remote.test'));
  await until(() => peer.received.length === 2, 'the second message');
  t.is(relay.sessions.length, 2);
  t.false(env.logs.some((l) => / queue deferred /.test(l)), env.logs.filter((l) => / queue /.test(l)).join('\n'));
});

test('the queue stop says QUIT on parked connections and leaves none open', async (t) => {
  const { peer, relay, env } = await setUp(t);
  await submit(env, ['one@remote.test'], fromAlice('first', 'one@remote.test'));
  await until(() => peer.received.length === 1 && env.services.store.outbound.count() === 0, 'the message sent');
  await until(() => env.services.queue!.sessions.idle === 1, 'the connection parked');
  t.is(peer.connections.open, 1);
  await env.services.queue!.stop();
  t.is(env.services.queue!.sessions.idle, 0);
  t.is(relay.sessions[0]!.at(-1), 'QUIT');
  await until(() => peer.connections.open === 0, 'the peer to see the connection closed');
});

test('a connection carries at most maxMessages messages', async (t) => {
  const { peer, relay, env } = await setUp(t, {}, { maxMessages: 2 });
  for (let i = 1; i <= 3; i++) {
    await submit(env, [`friend${i}@remote.test`], fromAlice(`message ${i}`, `friend${i}@remote.test`));
    await until(() => peer.received.length === i, `message ${i}`);
  }
  t.deepEqual(relay.sessions.map((lines) => lines.filter((l) => l.startsWith('MAIL')).length), [2, 1]);
  t.is(relay.sessions[0]!.at(-1), 'QUIT');
});
