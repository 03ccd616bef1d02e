// Per-mailbox forwarding end to end: mail for a forwarding account arrives
// over real SMTP, and the queue carries the forwarded copy to a peer server on
// loopback (through the transport table), unsigned; a forward to a local
// address lands in that INBOX; the CLI sets it.

import test from 'ava';
import { runCli } from '../helpers/cli.ts';
import { message, sendRaw } from '../helpers/smtp-client.ts';
import { startPeer } from '../helpers/smtp-peer.ts';
import { fromAlice, inboxOf, startQueueServices, submit, until } from './helpers.ts';

test('mail from outside for a forwarding mailbox goes to the peer, unsigned, with no copy kept; with keepCopy the INBOX has one too', async (t) => {
  const peer = await startPeer(t);
  const env = await startQueueServices(t);
  const store = env.services.store;
  store.transports.set('remote.test', `127.0.0.1:${peer.port}`);
  store.forwards.set('alice@example.test', { to: ['alice.elsewhere@remote.test'], keepCopy: false });
  const sent = await sendRaw(env.ports.smtp!, 'sender@outside.test', ['alice@example.test'], message('forward me', 'Please forward.'));
  t.true(sent.ok, sent.response);
  t.regex(sent.response, /queued for alice\.elsewhere@remote\.test/);
  await until(() => peer.received.length === 1, 'the peer to receive the forwarded copy');
  const got = peer.received[0]!;
  t.is(got.from, 'sender@outside.test', 'the envelope sender is kept');
  t.deepEqual(got.to, ['alice.elsewhere@remote.test']);
  t.regex(got.raw.toString('utf8'), /^Subject: forward me\r$/m);
  t.notRegex(got.raw.toString('utf8'), /^DKIM-Signature:/im, 'a forward of outside mail is never signed');
  t.is(inboxOf(env, 'alice@example.test').length, 0, 'no copy kept');

  store.forwards.set('alice@example.test', { to: ['alice.elsewhere@remote.test'], keepCopy: true });
  t.true((await sendRaw(env.ports.smtp!, 'sender@outside.test', ['alice@example.test'], message('keep a copy', 'Both places.'))).ok);
  await until(() => peer.received.length === 2, 'the second forwarded copy');
  t.is(inboxOf(env, 'alice@example.test').length, 1);
  t.is(inboxOf(env, 'alice@example.test')[0]!.subject, 'keep a copy');
  await until(() => store.outbound.count() === 0, 'the queue to settle');
});

test('a logged-in user’s mail to a forwarding mailbox is forwarded as origin forward, unsigned; a forward to a local address is delivered locally', async (t) => {
  const peer = await startPeer(t);
  const env = await startQueueServices(t);
  const store = env.services.store;
  store.transports.set('remote.test', `127.0.0.1:${peer.port}`);
  store.forwards.set('bob@example.test', { to: ['bob@remote.test'], keepCopy: false });
  const info = await submit(env, ['bob@example.test', 'friend@remote.test'], fromAlice('to bob and a friend', 'bob@example.test, friend@remote.test'));
  t.regex(info.response, /queued for/);
  await until(() => peer.received.length === 2, 'the peer to receive both copies');
  const byRecipient = new Map(peer.received.map((r) => [r.to[0], r.raw.toString('utf8')]));
  t.regex(byRecipient.get('friend@remote.test')!, /^DKIM-Signature:/im, 'alice’s own outside copy is signed');
  t.notRegex(byRecipient.get('bob@remote.test')!, /^DKIM-Signature:/im, 'bob’s forward is not');
  t.is(inboxOf(env, 'bob@example.test').length, 0);

  // bob now forwards to alice on this box: the copy lands in her INBOX, nothing is queued.
  store.forwards.set('bob@example.test', { to: ['alice@example.test'], keepCopy: false });
  const sent = await sendRaw(env.ports.smtp!, 'sender@outside.test', ['bob@example.test'], message('for bob', 'Via alice.'));
  t.true(sent.ok, sent.response);
  t.regex(sent.response, /delivered/);
  t.deepEqual(inboxOf(env, 'alice@example.test').map((m) => m.subject), ['for bob']);
  t.is(inboxOf(env, 'bob@example.test').length, 0);
  // And a loop between them keeps the mail instead of losing it or looping.
  store.forwards.set('alice@example.test', { to: ['bob@example.test'], keepCopy: false });
  t.true((await sendRaw(env.ports.smtp!, 'sender@outside.test', ['bob@example.test'], message('loop', 'Round and round.'))).ok);
  t.deepEqual(inboxOf(env, 'alice@example.test').map((m) => m.subject), ['for bob', 'loop']);
  t.is(store.outbound.count(), 0);
});

test('a message that has looped (more than 50 Received lines) is refused with 554 5.4.6; 50 still pass', async (t) => {
  const env = await startQueueServices(t);
  const trace = (n: number) => Array.from({ length: n }, (_, i) => `Received: from hop${i}.remote.test by hop${i + 1}.remote.test; Tue, 24 Nov 2026 10:00:00 +0000\r\n`).join('');
  // Ours is added on arrival: 49 + 1 is 50, the limit.
  const passes = await sendRaw(env.ports.smtp!, 'sender@remote.test', ['alice@example.test'], trace(49) + message('49 hops', 'Fine.'));
  t.true(passes.ok, passes.response);
  const looped = await sendRaw(env.ports.smtp!, 'sender@remote.test', ['alice@example.test'], trace(50) + message('50 hops', 'A loop.'));
  t.is(looped.code, 554);
  t.regex(looped.response, /5\.4\.6 Too many hops \(51 Received lines\)/);
  t.deepEqual(inboxOf(env, 'alice@example.test').map((m) => m.subject), ['49 hops']);
});

test('mailnest user forward shows, sets, changes keeping and clears the forwarding', async (t) => {
  const env = await startQueueServices(t);
  const data = env.data;
  const shown = await runCli(['user', 'forward', 'alice@example.test'], { data });
  t.is(shown.code, 0, shown.stderr);
  t.is(shown.stdout, 'alice@example.test does not forward; its mail stays in its mailbox\n');
  const set = await runCli(['user', 'forward', 'Alice@example.test', '--to', 'a@remote.test,bob@example.test', '--no-keep'], { data });
  t.is(set.code, 0, set.stderr);
  t.is(set.stdout, 'alice@example.test forwards to a@remote.test, bob@example.test (keeping no copy)\n');
  const kept = await runCli(['user', 'forward', 'alice@example.test', '--keep', '--json'], { data });
  t.deepEqual(JSON.parse(kept.stdout), { address: 'alice@example.test', to: ['a@remote.test', 'bob@example.test'], keepCopy: true });
  const bad = await runCli(['user', 'forward', 'alice@example.test', '--to', 'nobody@example.test'], { data });
  t.is(bad.code, 1);
  t.regex(bad.stderr, /nobody@example\.test is in a local domain but reaches nobody; add the user or alias first/);
  const both = await runCli(['user', 'forward', 'alice@example.test', '--keep', '--no-keep'], { data });
  t.is(both.code, 2);
  const cleared = await runCli(['user', 'forward', 'alice@example.test', '--clear'], { data });
  t.is(cleared.stdout, 'alice@example.test does not forward; its mail stays in its mailbox\n');
  t.deepEqual(env.services.store.forwards.get('alice@example.test'), { to: [], keepCopy: true });
});
