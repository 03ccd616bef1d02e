// Authenticated submission on 587 (STARTTLS, then AUTH) and 465 (implicit
// TLS): logins against the store, the sender must be the login or one of its
// aliases (envelope and From), and any recipient is accepted once logged in.

import test from 'ava';
import { execFile } from 'node:child_process';
import nodemailer from 'nodemailer';
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

test('no AUTH before STARTTLS, no mail before AUTH, and a wrong password gets 535 5.7.8 after a delay', async (t) => {
  const env = await startServices(t);
  await addFamily(env.services);
  const plain = Buffer.from('\0alice@example.test\0sesame-tulip-42').toString('base64');
  const replies = await smtpDialogue(env.ports.submission!, ['EHLO c', `AUTH PLAIN ${plain}`, 'MAIL FROM:<alice@example.test>', 'QUIT']);
  t.regex(replies[1]!, /STARTTLS/);
  t.regex(replies[2]!, /^538 5\.7\.\d .*STARTTLS/i);
  t.regex(replies[3]!, /^530 5\.7\.0 /);

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
