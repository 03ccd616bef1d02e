// The outbound queue end to end: a user submits on 587, the queue delivers
// to a peer server on loopback (found through the transport table, or through
// MX lookups answered by a DNS server on 127.0.0.1), DKIM-signed, with
// per-recipient results, retries, bounces and delay warnings.

import test from 'ava';
import { dkimVerify } from 'mailauth/lib/dkim/verify.js';
import { startDnsServer } from '../helpers/dns-server.ts';
import { reply, startPeer } from '../helpers/smtp-peer.ts';
import { sendRaw } from '../helpers/smtp-client.ts';
import { dkimResolver, fromAlice, inboxOf, startQueueServices, submit, until } from './helpers.ts';

test('submitted mail goes through the transport table to the peer, DKIM-signed (RSA and Ed25519), over STARTTLS, without our Return-Path', async (t) => {
  const peer = await startPeer(t);
  const env = await startQueueServices(t);
  env.services.store.transports.set('remote.test', `127.0.0.1:${peer.port}`);
  const info = await submit(env, ['friend@remote.test'], fromAlice('over the transport'));
  t.regex(info.response, /queued for friend@remote\.test/);
  await until(() => peer.received.length === 1, 'the peer to receive the message');
  const got = peer.received[0]!;
  t.is(got.from, 'alice@example.test');
  t.deepEqual(got.to, ['friend@remote.test']);
  t.true(got.secure, 'opportunistic STARTTLS was used');
  t.is(got.helo, 'mx.example.test');
  const text = got.raw.toString('utf8');
  t.false(/^Return-Path:/im.test(text), 'Return-Path is for final delivery only');
  t.regex(text, /^Received: from /m, 'the submission Received line travels with the message');
  const verified = await dkimVerify(got.raw, { resolver: dkimResolver(env) });
  t.deepEqual(
    verified.results.map((r) => `${r.algo}:${r.status.result}:${r.signingDomain}`).sort(),
    ['ed25519-sha256:pass:example.test', 'rsa-sha256:pass:example.test'],
  );
  await until(() => env.services.store.outbound.count() === 0, 'the row to be settled');
  t.like(await env.services.queue!.health(), { sent: 1, queued: 0 });
  t.true(env.logs.some((l) => / queue sent .*to=friend@remote\.test/.test(l)));
});

test('MX lookups: lowest preference first, the next MX when one does not answer, the implicit MX, and the local part kept as written', async (t) => {
  const peer = await startPeer(t);
  const dns = await startDnsServer(t, {
    'remote.test': { mx: [{ priority: 20, exchange: 'mx2.remote.test' }, { priority: 10, exchange: 'mx1.remote.test' }] },
    // mx1 has an address nobody listens on: the queue must go on to mx2.
    'mx1.remote.test': { a: ['127.0.0.3'] },
    'mx2.remote.test': { a: ['127.0.0.1'] },
    'plain.test': { a: ['127.0.0.1'] },
  });
  const env = await startQueueServices(t, { dnsServer: dns.server, mxPort: peer.port });
  await submit(env, ['Friend.Name@Remote.Test', 'someone@plain.test'], fromAlice('by MX'));
  await until(() => peer.received.length === 2, 'both domains to be delivered');
  const byDomain = new Map(peer.received.map((r) => [r.to[0]!.split('@')[1], r]));
  t.deepEqual(byDomain.get('remote.test')?.to, ['Friend.Name@remote.test']);
  t.deepEqual(byDomain.get('plain.test')?.to, ['someone@plain.test']);
  const mxOrder = dns.queries.filter((q) => /^(A|MX) /.test(q));
  t.true(mxOrder.indexOf('A mx1.remote.test') < mxOrder.indexOf('A mx2.remote.test'), mxOrder.join(', '));
  t.true(dns.queries.includes('MX plain.test') && dns.queries.includes('A plain.test'), 'no MX: the A record of the domain itself');
  t.true(env.logs.some((l) => /could not connect" .*host=mx1\.remote\.test\[127\.0\.0\.3\]/.test(l)), env.logs.filter((l) => / queue /.test(l)).join('\n'));
});

test('a refusing peer: the sender gets a readable bounce (RFC 3464) in the INBOX; the accepted recipient still gets the message', async (t) => {
  const peer = await startPeer(t, { onRcpt: (address) => (address.startsWith('nobody@') ? reply(550, '5.1.1 <nobody@remote.test>: no such user here') : null) });
  const env = await startQueueServices(t);
  env.services.store.transports.set('remote.test', `127.0.0.1:${peer.port}`);
  await submit(env, ['friend@remote.test', 'nobody@remote.test'], fromAlice('partly refused', 'friend@remote.test, nobody@remote.test'));
  await until(() => inboxOf(env, 'alice@example.test').length === 1, 'the bounce in alice’s INBOX');
  t.deepEqual(peer.received.map((r) => r.to), [['friend@remote.test']]);
  const bounce = inboxOf(env, 'alice@example.test')[0]!;
  t.is(bounce.subject, 'Undelivered Mail Returned to Sender');
  t.regex(bounce.raw, /^Return-Path: <>\r$/m);
  t.regex(bounce.raw, /^From: Mail Delivery System <MAILER-DAEMON@mx\.example\.test>\r$/m);
  t.regex(bounce.raw, /^Content-Type: multipart\/report; report-type=delivery-status; boundary=/m);
  t.regex(bounce.raw, /^Auto-Submitted: auto-replied\r$/m);
  t.regex(bounce.raw, /<nobody@remote\.test>: 127\.0\.0\.1 said: 550 5\.1\.1 <nobody@remote\.test>: no such user here \(in reply to RCPT TO\)/);
  t.regex(bounce.raw, /^Final-Recipient: rfc822; nobody@remote\.test\r\nAction: failed\r\nStatus: 5\.1\.1\r\nRemote-MTA: dns; 127\.0\.0\.1\r\nDiagnostic-Code: smtp; 550 5\.1\.1/m);
  t.regex(bounce.raw, /^Content-Type: text\/rfc822-headers\r\n[\s\S]*^Subject: partly refused\r$/m, 'the original headers come back');
  t.notRegex(bounce.raw, /friend@remote\.test>:/, 'the delivered recipient is not reported');
  await until(() => env.services.store.outbound.count() === 0, 'both rows settled');
});

test('a 4xx is retried with backoff until the peer accepts', async (t) => {
  const peer = await startPeer(t, { onRcpt: (_address, attempt) => (attempt < 3 ? reply(451, '4.7.1 greylisted, try again later') : null) });
  const env = await startQueueServices(t);
  env.services.store.transports.set('remote.test', `127.0.0.1:${peer.port}`);
  await submit(env, ['friend@remote.test'], fromAlice('greylisted'));
  await until(() => peer.received.length === 1, 'the third attempt to be accepted');
  t.is(peer.rcptAttempts.get('friend@remote.test'), 3);
  const deferred = env.logs.filter((l) => / queue deferred .*to=friend@remote\.test/.test(l));
  t.is(deferred.length, 2);
  t.regex(deferred[1]!, /attempts=2/);
  t.is(inboxOf(env, 'alice@example.test').length, 0, 'no report for a message that got through');
});

test('still failing after the warning time: one delay report; after the lifetime: a bounce that says it was given up', async (t) => {
  const peer = await startPeer(t, { onRcpt: () => reply(452, '4.2.2 mailbox full') });
  const env = await startQueueServices(t, { timings: { delayWarningMs: 300, lifetimeMs: 2500 } });
  env.services.store.transports.set('remote.test', `127.0.0.1:${peer.port}`);
  await submit(env, ['friend@remote.test'], fromAlice('never accepted'));
  // At least two, then exactly two: a third report would fail here with what arrived, not as a timeout.
  await until(() => inboxOf(env, 'alice@example.test').length >= 2, 'a delay report, then a bounce', 40_000);
  t.is(inboxOf(env, 'alice@example.test').length, 2, 'one delay report and one bounce, no more');
  const [delayed, failed] = inboxOf(env, 'alice@example.test');
  t.is(delayed!.subject, 'Delayed Mail (still being retried)');
  t.regex(delayed!.raw, /^Action: delayed\r\nStatus: 4\.2\.2\r$/m);
  t.regex(delayed!.raw, /^Will-Retry-Until: /m);
  t.is(failed!.subject, 'Undelivered Mail Returned to Sender');
  t.regex(failed!.raw, /^Action: failed\r\nStatus: 5\.2\.2\r$/m);
  t.regex(failed!.raw, /given up after/);
  t.is(env.services.store.outbound.count(), 0);
  t.is(peer.received.length, 0);
});

test('DNS says no: a null MX or a domain that does not exist bounces at once; a lookup that fails waits', async (t) => {
  const dns = await startDnsServer(t, {
    'nullmx.test': { mx: [{ priority: 0, exchange: '.' }] },
    'broken.test': { servfail: true },
  });
  const env = await startQueueServices(t, { dnsServer: dns.server });
  await submit(env, ['a@nullmx.test'], fromAlice('to a null MX', 'a@nullmx.test'));
  await submit(env, ['b@gone.test'], fromAlice('to nowhere', 'b@gone.test'));
  await submit(env, ['c@broken.test'], fromAlice('to a broken zone', 'c@broken.test'));
  await until(() => inboxOf(env, 'alice@example.test').length === 2, 'two bounces');
  const raws = inboxOf(env, 'alice@example.test').map((m) => m.raw);
  const nullMx = raws.find((r) => /a@nullmx\.test/.test(r))!;
  t.regex(nullMx, /^Status: 5\.1\.10\r$/m);
  t.regex(nullMx, /nullmx\.test does not accept mail \(null MX, RFC 7505\)/);
  t.regex(raws.find((r) => /b@gone\.test/.test(r))!, /^Status: 5\.1\.2\r$/m);
  await until(() => env.services.store.outbound.list()[0]?.lastError != null, 'the failed lookup to be recorded');
  const left = env.services.store.outbound.list();
  t.deepEqual(left.map((r) => r.recipient), ['c@broken.test']);
  t.regex(left[0]!.lastError ?? '', /MX lookup for broken\.test failed/);
});

test('bounces for forwarded mail go to the remote sender with a null sender, and a message with a null sender is never bounced', async (t) => {
  const peer = await startPeer(t, { onRcpt: (address) => (address === 'gran@remote.test' ? reply(550, '5.1.1 no such user') : null) });
  const env = await startQueueServices(t);
  const store = env.services.store;
  store.transports.set('remote.test', `127.0.0.1:${peer.port}`);
  store.aliases.add('family@example.test', ['alice@example.test', 'gran@remote.test']);
  // From outside, forwarded to gran: her server refuses, the report goes back to the outside sender.
  const sent = await sendRaw(env.ports.smtp!, 'someone@remote.test', ['family@example.test'], fromAlice('to the family').replace('From: Alice <alice@example.test>', 'From: someone@remote.test'));
  t.true(sent.ok, sent.response);
  await until(() => peer.received.length === 1, 'the report at the remote sender');
  const report = peer.received[0]!;
  t.is(report.from, '', 'a report has a null sender');
  t.deepEqual(report.to, ['someone@remote.test']);
  t.regex(report.raw.toString(), /Final-Recipient: rfc822; gran@remote\.test/);
  // A report (null sender) that is refused is dropped with a log line, not reported on.
  const again = await sendRaw(env.ports.smtp!, '', ['family@example.test'], fromAlice('a report to the family').replace('From: Alice <alice@example.test>', 'From: MAILER-DAEMON@remote.test'));
  t.true(again.ok, again.response);
  await until(() => env.logs.some((l) => /no report: the message had a null sender/.test(l)), 'the refusal to be dropped');
  await until(() => store.outbound.count() === 0, 'nothing left');
  t.is(peer.received.length, 1);
});

test('connections per destination are limited', async (t) => {
  const peer = await startPeer(t, { dataDelayMs: 150 });
  const env = await startQueueServices(t);
  env.services.store.transports.set('remote.test', `127.0.0.1:${peer.port}`);
  await Promise.all(Array.from({ length: 8 }, (_, i) => submit(env, ['friend@remote.test'], fromAlice(`burst ${i}`))));
  await until(() => peer.received.length === 8, 'all eight');
  t.is(peer.connections.most, 2, 'two connections at once to one destination, never more');
});
