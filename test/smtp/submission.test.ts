// Authenticated submission on 587 (STARTTLS, then AUTH) and 465 (implicit
// TLS): logins against the store, the sender must be the login or one of its
// aliases (envelope and From), and any recipient is accepted once logged in.

import test, { type ExecutionContext } from 'ava';
import { execFile } from 'node:child_process';
import nodemailer from 'nodemailer';
import { silentLogger } from '../../services/core/log.ts';
import { createBodyAnalyzer } from '../../services/delivery/analyzer.ts';
import { LocalDelivery } from '../../services/delivery/local.ts';
import { SmtpService } from '../../services/smtp/index.ts';
import { ensureCertificate } from '../../services/tls/certificate.ts';
import { testPassword } from '../helpers/accounts.ts';
import { addFamily, startServices, type TestServices } from '../helpers/services.ts';
import { message, smtpDialogue } from '../helpers/smtp-client.ts';

function transport(env: TestServices, options: { implicit?: boolean; user?: string; pass?: string } = {}) {
  return nodemailer.createTransport({
    host: '127.0.0.1',
    port: options.implicit ? env.ports.submissions! : env.ports.submission!,
    secure: options.implicit ?? false,
    requireTLS: !options.implicit,
    tls: { rejectUnauthorized: false },
    auth: { user: options.user ?? 'alice@example.test', pass: options.pass ?? 'sesame-tulip-42' },
  });
}

async function send(env: TestServices, from: string, to: string[], raw: string, options: Parameters<typeof transport>[1] = {}) {
  const client = transport(env, options);
  try {
    const info = await client.sendMail({ envelope: { from, to }, raw });
    return { ok: true, response: info.response, code: 250 };
  } catch (error) {
    const e = error as { responseCode?: number; response?: string; message: string };
    return { ok: false, response: e.response ?? e.message, code: e.responseCode };
  } finally {
    client.close();
  }
}

const inbox = (env: TestServices, address: string) => {
  const store = env.services.store;
  return store.mail.listMessages(store.mail.findMailbox(store.accounts.get(address).id, 'INBOX')!.id);
};

function fromAlice(subject: string, from = 'Alice <alice@example.test>'): string {
  return message(subject, 'Sent from a mail client.').replace('From: Sender <sender@remote.test>', `From: ${from}`);
}

test('a logged-in user sends to a local user and to an outside address over STARTTLS on 587', async (t) => {
  const env = await startServices(t);
  await addFamily(env.services);
  const result = await send(env, 'alice@example.test', ['bob@example.test', 'friend@remote.test'], fromAlice('hello bob'));
  t.true(result.ok, result.response);
  t.is(inbox(env, 'bob@example.test')[0]?.subject, 'hello bob');
  t.like(env.services.store.outbound.list()[0], { sender: 'alice@example.test', recipient: 'friend@remote.test' });
  const bytes = (await import('node:fs')).readFileSync(env.services.store.mail.files.absolute(inbox(env, 'bob@example.test')[0]!.file), 'utf8');
  t.regex(bytes, /with ESMTPSA id /, 'Received says authenticated and TLS');
});

test('implicit TLS on 465 works the same', async (t) => {
  const env = await startServices(t);
  await addFamily(env.services);
  const result = await send(env, 'alice@example.test', ['bob@example.test'], fromAlice('over 465'), { implicit: true });
  t.true(result.ok, result.response);
  t.is(inbox(env, 'bob@example.test')[0]?.subject, 'over 465');
});

/** A submission service of its own on 127.0.0.1, which treats the test's loopback connections as coming from elsewhere. */
async function offLoopbackSubmission(t: ExecutionContext, env: TestServices): Promise<number> {
  const smtp = new SmtpService({
    role: 'submission',
    name: 'submission',
    addresses: ['127.0.0.1'],
    port: 0,
    hostname: 'mx.example.test',
    tls: ensureCertificate(env.services.store.paths.tls, 'mx.example.test'),
    maxMessageBytes: 1024 * 1024,
    maxRecipients: 10,
    store: env.services.store,
    delivery: new LocalDelivery(env.services.store, createBodyAnalyzer, silentLogger),
    logger: silentLogger,
    authFailureDelayMs: 10,
    plaintextAuthAllowed: () => false,
  });
  await smtp.start();
  t.teardown(() => smtp.stop());
  const [listening] = smtp.health().listening as string[];
  return Number(listening!.slice(listening!.lastIndexOf(':') + 1));
}

test('off loopback, AUTH is neither offered nor accepted before STARTTLS, and is offered after it', async (t) => {
  const env = await startServices(t);
  await addFamily(env.services);
  const port = await offLoopbackSubmission(t, env);
  const plain = Buffer.from(`\0alice@example.test\0${testPassword}`).toString('base64');
  const replies = await smtpDialogue(port, ['EHLO c', `AUTH PLAIN ${plain}`, 'MAIL FROM:<alice@example.test>', 'QUIT']);
  t.regex(replies[1]!, /STARTTLS/);
  t.notRegex(replies[1]!, /AUTH/, 'no AUTH in the EHLO reply before TLS');
  t.regex(replies[2]!, /^5\d\d /, 'AUTH before STARTTLS is refused');
  t.regex(replies[3]!, /^530 5\.7\.0 Authentication required: use STARTTLS, then AUTH/);

  // After STARTTLS, a real client sees AUTH and logs in (nodemailer would refuse to send a password otherwise).
  const client = nodemailer.createTransport({ host: '127.0.0.1', port, secure: false, requireTLS: true, tls: { rejectUnauthorized: false }, auth: { user: 'alice@example.test', pass: testPassword } });
  t.teardown(() => client.close());
  t.true(await client.verify());
  const info = await client.sendMail({ envelope: { from: 'alice@example.test', to: ['bob@example.test'] }, raw: fromAlice('after STARTTLS') });
  t.regex(info.response, /^250 /);
  t.is(inbox(env, 'bob@example.test')[0]?.subject, 'after STARTTLS');
});

test('from loopback (the board itself), AUTH is offered without TLS, as IMAP and POP3 allow; no mail before AUTH; a wrong password gets 535 5.7.8 after a delay', async (t) => {
  const env = await startServices(t);
  await addFamily(env.services);
  const plain = Buffer.from(`\0alice@example.test\0${testPassword}`).toString('base64');
  const anonymous = await smtpDialogue(env.ports.submission!, ['EHLO c', 'MAIL FROM:<alice@example.test>', 'QUIT']);
  t.regex(anonymous[1]!, /AUTH PLAIN LOGIN/);
  t.regex(anonymous[2]!, /^530 5\.7\.0 /);
  const replies = await smtpDialogue(env.ports.submission!, ['EHLO c', `AUTH PLAIN ${plain}`, 'MAIL FROM:<alice@example.test>', 'QUIT']);
  t.regex(replies[2]!, /^235 /);
  t.regex(replies[3]!, /^250 /);

  const started = Date.now();
  const wrong = await send(env, 'alice@example.test', ['bob@example.test'], fromAlice('x'), { pass: 'wrong' });
  t.false(wrong.ok);
  t.is(wrong.code, 535);
  t.regex(wrong.response, /535 5\.7\.8/);
  t.true(Date.now() - started >= 1500);
  t.is(env.services.authEvents.failures, 1);
});

test('sending as someone else is refused: 553 5.7.1 for the envelope sender and for the From header', async (t) => {
  const env = await startServices(t);
  await addFamily(env.services);
  env.services.store.aliases.add('family@example.test', ['alice@example.test', 'bob@example.test']);

  const envelope = await send(env, 'bob@example.test', ['friend@remote.test'], fromAlice('spoof'));
  t.false(envelope.ok);
  t.is(envelope.code, 553);
  t.regex(envelope.response, /553 5\.7\.1 Sender address rejected: bob@example\.test is not yours/);

  const header = await send(env, 'alice@example.test', ['friend@remote.test'], fromAlice('spoof', 'Bob <bob@example.test>'));
  t.false(header.ok);
  t.regex(header.response, /553 5\.7\.1 From address rejected: bob@example\.test/);

  const outsider = await send(env, 'someone@remote.test', ['friend@remote.test'], fromAlice('spoof'));
  t.is(outsider.code, 553);
  t.deepEqual(env.services.store.outbound.list(), [], 'nothing refused was queued');

  t.true((await send(env, 'family@example.test', ['friend@remote.test'], fromAlice('as the family', 'The Family <family@example.test>'))).ok, 'an alias that reaches the user may be used');
  t.true((await send(env, 'alice+shop@example.test', ['friend@remote.test'], fromAlice('tagged', 'alice+shop@example.test'))).ok, 'so may a +tag of the login');
});

test('swaks submits with AUTH over STARTTLS', async (t) => {
  const env = await startServices(t);
  await addFamily(env.services);
  const output = await new Promise<string>((resolve) =>
    execFile(
      'swaks',
      ['--server', '127.0.0.1', '--port', String(env.ports.submission), '--tls', '--auth', 'PLAIN', '--auth-user', 'alice@example.test', '--auth-password', 'sesame-tulip-42', '--from', 'alice@example.test', '--to', 'bob@example.test', '--header', 'From: alice@example.test', '--header', 'Subject: via swaks submission'],
      { timeout: 30_000 },
      (_error, stdout, stderr) => resolve(stdout + stderr),
    ),
  );
  t.regex(output, /<~ {2}235 2\.7\.0 /);
  t.regex(output, /<~ {2}250 2\.0\.0 Ok: delivered/);
  t.is(inbox(env, 'bob@example.test')[0]?.subject, 'via swaks submission');
});
