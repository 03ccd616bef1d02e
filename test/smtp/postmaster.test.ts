// RFC 5321 §4.5.1: postmaster (with no domain) and postmaster@ each local
// domain are accepted without configuration, and abuse@ too (RFC 2142 §4),
// delivered to the box's owner; real clients against the real server.

import test from 'ava';
import { execFile } from 'node:child_process';
import { addFamily, startServices, type TestServices } from '../helpers/services.ts';
import { message, sendRaw, smtpDialogue } from '../helpers/smtp-client.ts';

function subjects(env: TestServices, address: string): string[] {
  const store = env.services.store;
  return store.mail.listMessages(store.mail.findMailbox(store.accounts.get(address).id, 'INBOX')!.id).map((m) => m.subject);
}

function swaks(args: string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    execFile('swaks', args, { timeout: 30_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, output: stdout + stderr });
    });
  });
}

test('RCPT TO:<postmaster> in any case, postmaster@ and abuse@ every domain are accepted and reach the first user', async (t) => {
  const env = await startServices(t);
  await addFamily(env.services);
  env.services.store.domains.add('other.test');
  const replies = await smtpDialogue(env.ports.smtp!, [
    'EHLO client.remote.test',
    'MAIL FROM:<reporter@remote.test>',
    'RCPT TO:<postmaster>',
    'RCPT TO:<PostMaster>',
    'RCPT TO:<postmaster@example.test>',
    'RCPT TO:<abuse@other.test>',
    'RCPT TO:<hostmaster@example.test>',
    'QUIT',
  ]);
  for (const reply of replies.slice(3, 7)) t.regex(reply, /^250 2\.1\.5 /);
  t.regex(replies[7]!, /^550 5\.1\.1 /, 'only the required role addresses');

  const bare = await sendRaw(env.ports.smtp!, 'reporter@remote.test', ['postmaster'], message('to bare postmaster', 'Hello.'));
  t.true(bare.ok, bare.response);
  const dmarc = await sendRaw(env.ports.smtp!, 'noreply-dmarc@remote.test', ['postmaster@example.test'], message('dmarc report', 'Aggregate report.'));
  t.true(dmarc.ok, dmarc.response);
  const swaksRun = await swaks(['--server', '127.0.0.1', '--port', String(env.ports.smtp), '--from', 'victim@remote.test', '--to', 'abuse@other.test', '--header', 'Subject: abuse report', '--helo', 'swaks.remote.test']);
  t.is(swaksRun.code, 0, swaksRun.output);
  t.deepEqual(subjects(env, 'alice@example.test'), ['to bare postmaster', 'dmarc report', 'abuse report']);
  t.deepEqual(subjects(env, 'bob@example.test'), []);
});

test('an alias of the same name points postmaster@ elsewhere; the postmaster setting chooses the owner', async (t) => {
  const env = await startServices(t, { overrides: { postmaster: 'bob@example.test' } });
  await addFamily(env.services);
  const store = env.services.store;
  store.aliases.add('abuse@example.test', ['alice@example.test']);
  t.true((await sendRaw(env.ports.smtp!, 'r@remote.test', ['Postmaster'], message('bare', 'x'))).ok);
  t.true((await sendRaw(env.ports.smtp!, 'r@remote.test', ['postmaster@example.test'], message('domain', 'x'))).ok);
  t.true((await sendRaw(env.ports.smtp!, 'r@remote.test', ['abuse@example.test'], message('overridden', 'x'))).ok);
  t.deepEqual(subjects(env, 'bob@example.test'), ['bare', 'domain']);
  t.deepEqual(subjects(env, 'alice@example.test'), ['overridden']);
});

test('before the first user, postmaster is refused as unknown, not as bad syntax', async (t) => {
  const env = await startServices(t);
  env.services.store.domains.add('example.test');
  const replies = await smtpDialogue(env.ports.smtp!, ['EHLO client.remote.test', 'MAIL FROM:<r@remote.test>', 'RCPT TO:<postmaster>', 'QUIT']);
  t.regex(replies[3]!, /^550 5\.1\.1 No such user here: postmaster$/);
});
