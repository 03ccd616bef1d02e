// Only what we may vouch for is DKIM-signed (issue 12, item 1): mail a
// logged-in user submitted, and our own reports. Mail that arrived on port 25
// and is forwarded outside by an alias or catch-all goes out as it came, even
// when its From names one of our domains: anyone on the internet can write that.

import test from 'ava';
import { dkimVerify } from 'mailauth/lib/dkim/verify.js';
import { startPeer } from '../helpers/smtp-peer.ts';
import { sendRaw } from '../helpers/smtp-client.ts';
import { dkimResolver, fromAlice, startQueueServices, submit, until } from './helpers.ts';

test('a forged From of ours arriving on port 25 and forwarded by an alias or catch-all is not signed', async (t) => {
  const peer = await startPeer(t);
  const env = await startQueueServices(t);
  const store = env.services.store;
  store.transports.set('remote.test', `127.0.0.1:${peer.port}`);
  store.aliases.add('family@example.test', ['gran@remote.test']);
  store.aliases.add('@example.test', ['catchall@remote.test']);
  const forged = fromAlice('forged on port 25', 'family@example.test');
  t.true((await sendRaw(env.ports.smtp!, 'alice@example.test', ['family@example.test', 'whoever@example.test'], forged)).ok);
  await until(() => peer.received.flatMap((r) => r.to).length === 2, 'both forwards to reach the peer');
  for (const got of peer.received) {
    t.false(/^DKIM-Signature:/im.test(got.raw.toString('latin1')), `no signature on the copy for ${got.to.join(',')}`);
    const verified = await dkimVerify(got.raw, { resolver: dkimResolver(env) });
    t.false(verified.results.some((r) => r.status.result === 'pass'));
  }
  t.deepEqual(store.outbound.list(), []);
});

test('the same message submitted by the logged-in user, also through the alias, is signed', async (t) => {
  const peer = await startPeer(t);
  const env = await startQueueServices(t);
  const store = env.services.store;
  store.transports.set('remote.test', `127.0.0.1:${peer.port}`);
  store.aliases.add('family@example.test', ['alice@example.test', 'gran@remote.test']);
  await submit(env, ['family@example.test'], fromAlice('submitted', 'family@example.test'));
  await until(() => peer.received.length === 1, 'the forward to reach the peer');
  const verified = await dkimVerify(peer.received[0]!.raw, { resolver: dkimResolver(env) });
  t.deepEqual(verified.results.map((r) => r.status.result), ['pass', 'pass']);
});
