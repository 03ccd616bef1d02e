// Receiving mail on port 25 with nodemailer's client and raw SMTP dialogues.

import test from 'ava';
import { readFileSync } from 'node:fs';
import { addFamily, startServices, type TestServices } from '../helpers/services.ts';
import { message, sendRaw, smtpDialogue } from '../helpers/smtp-client.ts';

function inbox(env: TestServices, address: string, mailbox = 'INBOX') {
  const store = env.services.store;
  const account = store.accounts.get(address);
  return store.mail.listMessages(store.mail.findMailbox(account.id, mailbox)!.id);
}

function stored(env: TestServices, file: string): Buffer {
  return readFileSync(env.services.store.mail.files.absolute(file));
}

test('a message is delivered durably with Return-Path and Received added and the rest byte for byte', async (t) => {
  const env = await startServices(t);
  await addFamily(env.services);
  const raw = message('hello', 'First line.\r\n..a line that starts with a dot\r\nLast line.');
  const result = await sendRaw(env.ports.smtp!, 'sender@remote.test', ['Alice@Example.TEST'], raw);
  t.true(result.ok, result.response);
  t.regex(result.response, /^250 2\.0\.0 Ok: delivered/);
  const [row, ...rest] = inbox(env, 'alice@example.test');
  t.is(rest.length, 0);
  t.is(row!.uid, 1);
  t.is(row!.subject, 'hello');
  const bytes = stored(env, row!.file);
  t.is(row!.size, bytes.length);
  const text = bytes.toString('utf8');
  t.regex(text, /^Return-Path: <sender@remote\.test>\r\nAuthentication-Results: mx\.example\.test;(?:\r\n\t[^\r\n]*)+\r\nReceived: from client\.example\.test \(\[127\.0\.0\.1\]\)\r\n\tby mx\.example\.test \(Mailnest\) with ESMTP id \S+\r\n\tfor <Alice@example\.test>;\r\n\t\w{3}, \d+ \w{3} \d{4} [\d:]{8} \+0000\r\n/);
  t.true(bytes.subarray(bytes.length - Buffer.byteLength(raw)).equals(Buffer.from(raw)), 'the message follows the trace headers unchanged (dot-stuffing undone)');
  t.deepEqual(inbox(env, 'bob@example.test'), []);
  t.true(env.logs.some((l) => / info smtp delivered cid=\S+ from=sender@remote\.test to=Alice@example\.test/.test(l)));
});

test('unknown users get 550 5.1.1 and disabled ones 550 5.2.1', async (t) => {
  const env = await startServices(t);
  await addFamily(env.services);
  env.services.store.accounts.setEnabled('bob@example.test', false);
  const replies = await smtpDialogue(env.ports.smtp!, ['EHLO client.example.test', 'MAIL FROM:<x@remote.test>', 'RCPT TO:<nobody@example.test>', 'RCPT TO:<bob@example.test>', 'RCPT TO:<alice@example.test>', 'QUIT']);
  t.regex(replies[3]!, /^550 5\.1\.1 No such user here: nobody@example\.test$/);
  t.regex(replies[4]!, /^550 5\.2\.1 Mailbox disabled/);
  t.regex(replies[5]!, /^250 2\.1\.5 /);
});

test('never an open relay, whatever the address syntax', async (t) => {
  const env = await startServices(t);
  await addFamily(env.services);
  const attempts: [string, RegExp][] = [
    ['<victim@remote.test>', /^554 5\.7\.1 Relay access denied/],
    ['<victim@REMOTE.test.>', /^5\d\d /],
    ['<@example.test:victim@remote.test>', /^5\d\d /],
    ['<victim%remote.test@example.test>', /^550 5\.1\.1 /],
    ['<remote.test!victim@example.test>', /^550 5\.1\.1 /],
    ['<"victim@remote.test"@example.test>', /^5\d\d /],
    ['<victim@remote.test@example.test>', /^5\d\d /],
    ['<victim@[127.0.0.1]>', /^5\d\d /],
    ['<victim@example.test.remote.test>', /^554 5\.7\.1 /],
  ];
  const lines = ['EHLO client.example.test', 'MAIL FROM:<x@remote.test>', ...attempts.map(([rcpt]) => `RCPT TO:${rcpt}`), 'DATA', 'QUIT'];
  const replies = await smtpDialogue(env.ports.smtp!, lines);
  attempts.forEach(([rcpt, expected], i) => t.regex(replies[3 + i]!, expected, rcpt));
  t.regex(replies[3 + attempts.length]!, /^503 /, 'no recipient was accepted, so DATA is refused');
  t.deepEqual(env.services.store.outbound.list(), []);
  t.deepEqual(inbox(env, 'alice@example.test'), []);
  // AUTH is not offered on port 25, so nobody can make themselves a relay there.
  t.false(replies[1]!.includes('AUTH'));
});

test('a message over the size limit gets 552 5.3.4 and nothing is stored', async (t) => {
  const env = await startServices(t, { overrides: { 'message-size-limit': '64K' } });
  await addFamily(env.services);
  const big = message('big', 'x'.repeat(100).concat('\r\n').repeat(1000));
  const result = await sendRaw(env.ports.smtp!, 'sender@remote.test', ['alice@example.test'], big);
  t.false(result.ok);
  t.is(result.code, 552);
  t.regex(result.response, /552 5\.3\.4/);
  const declared = await smtpDialogue(env.ports.smtp!, ['EHLO c', `MAIL FROM:<sender@remote.test> SIZE=${big.length}`, 'QUIT']);
  t.regex(declared[2]!, /^552 5\.3\.4 /, 'a declared SIZE over the limit is refused at MAIL FROM');
  t.deepEqual(inbox(env, 'alice@example.test'), []);
  t.true((await sendRaw(env.ports.smtp!, 'sender@remote.test', ['alice@example.test'], message('small', 'fits'))).ok, 'the next message still goes through');
});

test('quota: a full mailbox answers 452 4.2.2, at RCPT with SIZE and at DATA without; nothing half-delivered', async (t) => {
  const env = await startServices(t);
  await addFamily(env.services);
  const store = env.services.store;
  const first = message('first', 'y'.repeat(3000));
  t.true((await sendRaw(env.ports.smtp!, 's@remote.test', ['alice@example.test'], first)).ok);
  const used = store.mail.usage(store.accounts.get('alice@example.test').id).usedBytes;
  store.accounts.setQuota('alice@example.test', used + 4000);

  const second = message('second', 'z'.repeat(6000));
  const atData = await sendRaw(env.ports.smtp!, 's@remote.test', ['alice@example.test', 'bob@example.test'], second);
  t.false(atData.ok);
  t.is(atData.code, 452);
  t.regex(atData.response, /452 4\.2\.2 Mailbox full: alice@example\.test/);
  t.is(inbox(env, 'alice@example.test').length, 1);
  t.is(inbox(env, 'bob@example.test').length, 0, 'all recipients or none: bob did not get a copy either');

  const replies = await smtpDialogue(env.ports.smtp!, ['EHLO c', `MAIL FROM:<s@remote.test> SIZE=${second.length}`, 'RCPT TO:<alice@example.test>', 'RCPT TO:<bob@example.test>', 'QUIT']);
  t.regex(replies[3]!, /^452 4\.2\.2 Mailbox full/);
  t.regex(replies[4]!, /^250 /);
  t.true((await sendRaw(env.ports.smtp!, 's@remote.test', ['alice@example.test'], message('tiny', 'ok'))).ok, 'a message that fits still arrives');
  t.is(store.mail.usage(store.accounts.get('alice@example.test').id).usedBytes, used + inbox(env, 'alice@example.test')[1]!.size);
});

test('UTF-8 addresses and headers (SMTPUTF8) and 8-bit bodies arrive unchanged', async (t) => {
  const env = await startServices(t);
  const store = env.services.store;
  store.domains.add('bücher.example');
  await store.accounts.add({ address: 'jürgen@bücher.example', password: 'sesame-tulip-42' });
  const raw = Buffer.from('From: Zoë <zoë@remote.test>\r\nTo: Jürgen <jürgen@bücher.example>\r\nSubject: Grüße aus Köln — 日本語\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\nÄÖÜ äöü ß €\r\n\xff binary-ish line\r\n', 'utf8');
  const replies = await smtpDialogue(env.ports.smtp!, ['EHLO client', 'MAIL FROM:<zoë@remote.test> SMTPUTF8 BODY=8BITMIME', 'RCPT TO:<Jürgen@BÜCHER.example>', 'DATA', raw.toString('utf8') + '.', 'QUIT']);
  t.regex(replies[1]!, /SMTPUTF8/);
  t.regex(replies[1]!, /8BITMIME/);
  t.regex(replies[5]!, /^250 2\.0\.0 /);
  const [row] = inbox(env, 'jürgen@xn--bcher-kva.example');
  const bytes = stored(env, row!.file);
  t.true(bytes.subarray(bytes.length - raw.length).equals(raw));
  t.regex(bytes.toString('utf8'), /with UTF8SMTP id/);
  t.is(row!.subject, 'Grüße aus Köln — 日本語');
});

test('many concurrent deliveries to one mailbox: UIDs strictly increasing, none lost or doubled', async (t) => {
  const env = await startServices(t);
  await addFamily(env.services);
  const count = 60;
  const results = await Promise.all(Array.from({ length: count }, (_, i) => sendRaw(env.ports.smtp!, 's@remote.test', ['alice@example.test'], message(`n${i}`, `body ${i}`))));
  t.true(results.every((r) => r.ok), JSON.stringify(results.filter((r) => !r.ok)));
  const rows = inbox(env, 'alice@example.test');
  t.deepEqual(rows.map((r) => r.uid), Array.from({ length: count }, (_, i) => i + 1));
  t.deepEqual(rows.map((r) => r.subject).sort(), Array.from({ length: count }, (_, i) => `n${i}`).sort());
  t.is(new Set(rows.map((r) => r.file)).size, count);
  const mailbox = env.services.store.mail.findMailbox(env.services.store.accounts.get('alice@example.test').id, 'INBOX')!;
  t.is(mailbox.uidNext, count + 1);
  t.is(mailbox.messages, count);
  t.is(mailbox.highestModseq, count + 1);
});

test('aliases, catch-all and +tags deliver once per account; outside forwards go to the outbound queue, and the reply says so', async (t) => {
  const env = await startServices(t);
  await addFamily(env.services);
  const store = env.services.store;
  store.aliases.add('family@example.test', ['alice@example.test', 'bob@example.test', 'gran@remote.test']);
  store.aliases.add('@example.test', ['bob@example.test']);
  const result = await sendRaw(env.ports.smtp!, 's@remote.test', ['family@example.test', 'alice+news@example.test', 'whoever@example.test'], message('to all', 'hi'));
  t.true(result.ok, result.response);
  t.regex(result.response, /delivered to 2 mailboxes, queued for gran@remote\.test/);
  t.is(inbox(env, 'alice@example.test').length, 1, 'alice once, though named twice');
  t.is(inbox(env, 'bob@example.test').length, 1, 'bob once, though named by the alias and the catch-all');
  const outbound = store.outbound.list();
  t.is(outbound.length, 1);
  t.like(outbound[0], { sender: 's@remote.test', recipient: 'gran@remote.test', state: 'queued' });
  t.true(env.logs.some((l) => / smtp delivered .*queued=gran@remote\.test/.test(l)));
});

test('too many recipients get 452 4.5.3 and the accepted ones still receive', async (t) => {
  const env = await startServices(t, { overrides: { 'max-recipients': '2' } });
  await addFamily(env.services);
  env.services.store.aliases.add('x@example.test', ['alice@example.test']);
  const replies = await smtpDialogue(env.ports.smtp!, ['EHLO c', 'MAIL FROM:<s@remote.test>', 'RCPT TO:<alice@example.test>', 'RCPT TO:<bob@example.test>', 'RCPT TO:<x@example.test>', 'QUIT']);
  t.regex(replies[5]!, /^452 4\.5\.3 /);
});

test('STARTTLS is offered and works; the certificate names the host', async (t) => {
  const env = await startServices(t);
  await addFamily(env.services);
  const replies = await smtpDialogue(env.ports.smtp!, ['EHLO c']);
  t.regex(replies[1]!, /STARTTLS/);
  t.regex(replies[1]!, /ENHANCEDSTATUSCODES/);
  t.regex(replies[1]!, /PIPELINING/);
  t.regex(replies[1]!, /SIZE 52428800/);
  const result = await sendRaw(env.ports.smtp!, 's@remote.test', ['bob@example.test'], message('secret', 'over TLS'), { requireTLS: true, ignoreTLS: false });
  t.true(result.ok, result.response);
  const bytes = stored(env, inbox(env, 'bob@example.test')[0]!.file).toString('utf8');
  t.regex(bytes, /with ESMTPS id \S+\r\n\t\(using TLSv1\.[23] with cipher [A-Z0-9_-]+\)/);
  const cert = readFileSync(`${env.data}/tls/cert.pem`, 'utf8');
  const { X509Certificate } = await import('node:crypto');
  t.regex(new X509Certificate(cert).subjectAltName ?? '', /DNS:mx\.example\.test/);
});
