// Bare CR and bare LF in submitted mail (issue 12, item 4). The queue's client
// turns every bare CR and LF into CRLF as it sends, so submission stores the
// message in that form: the From check reads the header fields that will be
// sent, and the DKIM signature covers the octets that will be sent.

import test from 'ava';
import { dkimVerify } from 'mailauth/lib/dkim/verify.js';
import { normalizeLineEnds } from '../../services/mime/line-ends.ts';
import { startPeer } from '../helpers/smtp-peer.ts';
import { testPassword } from '../helpers/accounts.ts';
import { smtpDialogue } from '../helpers/smtp-client.ts';
import { dkimResolver, inboxOf, startQueueServices, until } from '../queue/helpers.ts';

const login = `AUTH PLAIN ${Buffer.from(`\0alice@example.test\0${testPassword}`).toString('base64')}`;

/** Submits over a raw socket (from loopback, where AUTH is allowed without TLS), so the octets arrive exactly as written. */
function submitRaw(port: number, to: string, raw: string) {
  return smtpDialogue(port, ['EHLO client.example.test', login, 'MAIL FROM:<alice@example.test>', `RCPT TO:<${to}>`, 'DATA', `${raw}\r\n.`, 'QUIT']);
}

test('a second From hidden behind a bare CR is seen by the sender check', async (t) => {
  const env = await startQueueServices(t);
  const raw = 'From: Alice <alice@example.test>\rFrom: Bob <bob@example.test>\r\nTo: friend@remote.test\r\nSubject: two senders\r\n\r\nHello.';
  const replies = await submitRaw(env.ports.submission!, 'friend@remote.test', raw);
  t.regex(replies[2]!, /^235 /);
  t.regex(replies[6]!, /^553 5\.7\.1 From address rejected: bob@example\.test/);
  t.deepEqual(env.services.store.outbound.list(), []);
});

test('bare LF and bare CR line ends are stored as CRLF, so the signature holds after the client normalises them', async (t) => {
  const peer = await startPeer(t);
  const env = await startQueueServices(t);
  env.services.store.transports.set('remote.test', `127.0.0.1:${peer.port}`);
  const raw = 'From: Alice <alice@example.test>\nTo: friend@remote.test\nSubject: unix line ends\r\nDate: Wed, 02 Dec 2026 10:00:00 +0000\n\nline one\nline two\rline three\r\nlast';
  const replies = await submitRaw(env.ports.submission!, 'friend@remote.test', raw);
  t.regex(replies[6]!, /^250 /);
  await until(() => peer.received.length === 1, 'the peer to receive the message');
  const got = peer.received[0]!.raw;
  t.true(got.toString('latin1').endsWith(normalizeLineEnds(Buffer.from(raw + '\r\n')).toString('latin1')), 'sent with CRLF line ends only');
  const verified = await dkimVerify(got, { resolver: dkimResolver(env) });
  t.deepEqual(verified.results.map((r) => `${r.algo}:${r.status.result}`).sort(), ['ed25519-sha256:pass', 'rsa-sha256:pass']);
});

test('mail arriving on port 25 is stored as it came, bare line ends and all', async (t) => {
  const env = await startQueueServices(t);
  const raw = 'From: someone@remote.test\nTo: alice@example.test\nSubject: as it came\n\nbare\rCR';
  const replies = await smtpDialogue(env.ports.smtp!, ['EHLO client.example.test', 'MAIL FROM:<someone@remote.test>', 'RCPT TO:<alice@example.test>', 'DATA', `${raw}\r\n.`, 'QUIT']);
  t.regex(replies[5]!, /^250 /);
  const stored = inboxOf(env, 'alice@example.test')[0]!.raw;
  t.true(stored.endsWith(raw + '\r\n'), JSON.stringify(stored));
});
