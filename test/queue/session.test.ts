// The client session's timeouts (RFC 5321 §4.5.3.2), the fallback to
// plaintext after a failed opportunistic TLS handshake (RFC 7435) and never
// for a relay that requires TLS, and fairness between destinations: one
// domain's backlog does not hold the mail for others.

import test from 'ava';
import { startDnsServer } from '../helpers/dns-server.ts';
import { startPeer } from '../helpers/smtp-peer.ts';
import { fromAlice, startQueueServices, submit, until } from './helpers.ts';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

test('the reply to the final dot is waited for longer than the other replies (RFC 5321 §4.5.3.2.6)', async (t) => {
  const peer = await startPeer(t, { noTls: true, dataDelayMs: 5000 });
  const env = await startQueueServices(t, { timings: { socketTimeoutMs: 2000, dataTimeoutMs: 30_000 } });
  env.services.store.transports.set('remote.test', `127.0.0.1:${peer.port}`);
  await submit(env, ['friend@remote.test'], fromAlice('a slow final reply'));
  await until(() => env.services.store.outbound.count() === 0, 'the message to be settled', 20_000);
  t.is(peer.dataAttempts(), 1, 'one copy: the client did not give up before the reply');
  t.false(env.logs.some((l) => / queue deferred /.test(l)), env.logs.filter((l) => / queue /.test(l)).join('\n'));
});

test('a reply to the final dot slower than dataTimeoutMs is given up on and the message deferred', async (t) => {
  const peer = await startPeer(t, { noTls: true, onData: async (attempt) => (attempt === 1 ? sleep(3000).then(() => null) : null) });
  const env = await startQueueServices(t, { timings: { socketTimeoutMs: 10_000, dataTimeoutMs: 1000 } });
  env.services.store.transports.set('remote.test', `127.0.0.1:${peer.port}`);
  await submit(env, ['friend@remote.test'], fromAlice('a reply too slow'));
  await until(() => env.logs.some((l) => / queue deferred .*to=friend@remote\.test .*reply=Timeout/.test(l)), 'the attempt to time out', 15_000);
  await until(() => env.services.store.outbound.count() === 0, 'the retry to get through', 15_000);
  t.is(peer.dataAttempts(), 2, 'the copy the client gave up on, and the retry');
});

test('a failed STARTTLS handshake with an MX: the same host again in plaintext (opportunistic TLS), logged', async (t) => {
  const peer = await startPeer(t, { tls: { maxVersion: 'TLSv1.1' } });
  const dns = await startDnsServer(t, { 'remote.test': { mx: [{ priority: 10, exchange: 'mx.remote.test' }] }, 'mx.remote.test': { a: ['127.0.0.1'] } });
  const env = await startQueueServices(t, { dnsServer: dns.server, mxPort: peer.port });
  await submit(env, ['friend@remote.test'], fromAlice('to a server with broken TLS'));
  await until(() => peer.received.length === 1, 'the message sent in plaintext');
  t.false(peer.received[0]!.secure);
  // The line is written when the queue settles the row, which may come after the peer has the message.
  await until(() => env.services.store.outbound.count() === 0, 'the row to be settled');
  await until(() => env.logs.some((l) => /TLS handshake failed; sent in plaintext .*host=mx\.remote\.test\[127\.0\.0\.1\] .*tls=failed-fallback-plaintext/.test(l)), 'the plaintext fallback to be logged');
});

test('a failed STARTTLS handshake with a relay that requires STARTTLS: never plaintext, the mail waits', async (t) => {
  const peer = await startPeer(t, { tls: { maxVersion: 'TLSv1.1' } });
  const env = await startQueueServices(t);
  env.services.store.relay.set({ host: '127.0.0.1', port: peer.port, security: 'starttls', verify: false, username: null, password: null });
  await submit(env, ['friend@far.test'], fromAlice('through a relay with broken TLS', 'friend@far.test'));
  await until(() => (env.services.store.outbound.list()[0]?.attempts ?? 0) >= 2, 'two attempts to fail');
  t.regex(env.services.store.outbound.list()[0]!.lastError ?? '', /could not connect: 127\.0\.0\.1: .*(alert|protocol|TLS)/i);
  t.is(peer.rcptAttempts.size, 0, 'no transaction in plaintext');
  t.is(peer.received.length, 0);
  t.false(env.logs.some((l) => /failed-fallback-plaintext/.test(l)));
});

test('one domain with a backlog of thousands at a stalled server does not hold the mail for another domain', async (t) => {
  let release: () => void = () => {};
  const released = new Promise<null>((resolve) => (release = () => resolve(null)));
  t.teardown(() => release());
  const slow = await startPeer(t, { noTls: true, onRcpt: () => released });
  const fast = await startPeer(t, { noTls: true });
  // The stalled sessions last; a timeout would reorder the rows and let the other domain through by chance.
  const env = await startQueueServices(t, { overrides: { 'max-recipients': '2500' }, timings: { socketTimeoutMs: 120_000 } });
  env.services.store.transports.set('slow.test', `127.0.0.1:${slow.port}`);
  env.services.store.transports.set('fast.test', `127.0.0.1:${fast.port}`);
  // More due rows for slow.test than the queue reads in one scan (2000), all ahead of the one for fast.test.
  const backlog = Array.from({ length: 2500 }, (_, i) => `user${i}@slow.test`);
  await submit(env, backlog, fromAlice('a newsletter', 'subscribers@slow.test'));
  await until(() => slow.connections.open === 2, 'the slow server to hold two connections');
  await submit(env, ['friend@fast.test'], fromAlice('to another domain', 'friend@fast.test'));
  await until(() => fast.received.length === 1, 'the other domain’s mail to be sent while the backlog waits');
  t.is(slow.received.length, 0, 'the slow server is still busy');
  t.is(env.services.store.outbound.count(), 2500);
});
