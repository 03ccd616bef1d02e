// Real POP3 client programs from Debian: fetchmail (keep and no-keep modes,
// STLS on 110 and implicit TLS on 995) and curl pop3://.

import test from 'ava';
import { execFile } from 'node:child_process';
import { chmodSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDataDir } from '../helpers/data-dir.ts';
import { imapClient } from '../helpers/imap-client.ts';
import { addFamily, startServices, type TestServices } from '../helpers/services.ts';
import { message, sendRaw } from '../helpers/smtp-client.ts';

function run(command: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; output: string; stdout: string }> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { timeout: 60_000, encoding: 'utf8', env: { ...process.env, ...env } }, (error, stdout, stderr) => {
      if ((error as NodeJS.ErrnoException | null)?.code === 'ENOENT') return reject(new Error(`${command} is not installed: apt-get install ${command}`));
      resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, output: stdout + stderr, stdout });
    });
  });
}

async function deliver(env: TestServices, subjects: string[]): Promise<void> {
  for (const subject of subjects) {
    const sent = await sendRaw(env.ports.smtp!, 'friend@remote.test', ['alice@example.test'], message(subject, `Text of ${subject}.`));
    if (!sent.ok) throw new Error(sent.response);
  }
}

/** Runs fetchmail once against the server; each message lands as a file in `inbox`. */
async function fetchmail(t: Parameters<typeof tempDataDir>[0], env: TestServices, options: { keep: boolean; implicitTls: boolean; home: string }) {
  const inbox = join(options.home, 'delivered');
  mkdirSync(inbox, { recursive: true });
  const rc = join(options.home, 'fetchmailrc');
  const tls = options.implicitTls ? 'ssl' : 'sslproto tls1.2+';
  writeFileSync(
    rc,
    [
      `set no syslog`,
      `poll 127.0.0.1 service ${options.implicitTls ? env.ports.pop3s : env.ports.pop3} protocol pop3 uidl`,
      `  user "alice@example.test" there with password "sesame-tulip-42" is "tester" here`,
      `  ${options.keep ? 'keep' : 'nokeep'} ${tls} sslcertck sslcertfile "${join(env.data, 'tls', 'cert.pem')}" sslcommonname "mx.example.test"`,
      `  mda "/bin/sh -c 'cat > ${inbox}/msg.$$'"`,
      '',
    ].join('\n'),
  );
  chmodSync(rc, 0o600);
  const result = await run('fetchmail', ['--fetchmailrc', rc, '--idfile', join(options.home, 'fetchids'), '--pidfile', join(options.home, 'fetchmail.pid'), '--nodetach', '--verbose'], { HOME: options.home, FETCHMAILHOME: options.home });
  const subjects = readdirSync(inbox).map((f) => /^Subject: (.*)$/m.exec(readFileSync(join(inbox, f), 'utf8'))?.[1]).sort();
  return { ...result, subjects };
}

async function imapSubjects(t: Parameters<typeof tempDataDir>[0], env: TestServices): Promise<string[]> {
  const client = await imapClient(t, env.ports.imap!);
  const lock = await client.getMailboxLock('INBOX');
  try {
    const subjects: string[] = [];
    if ((client.mailbox as { exists: number }).exists > 0) for await (const m of client.fetch('1:*', { envelope: true })) if (m.envelope) subjects.push(m.envelope.subject ?? '');
    return subjects.sort();
  } finally {
    lock.release();
    await client.logout();
  }
}

test('fetchmail in keep mode over STLS downloads once and leaves the mail on the server', async (t) => {
  const env = await startServices(t);
  await addFamily(env.services);
  await deliver(env, ['keep one', 'keep two']);
  const home = tempDataDir(t, 'mailnest-fetchmail-');
  const first = await fetchmail(t, env, { keep: true, implicitTls: false, home });
  t.is(first.code, 0, first.output);
  t.regex(first.output, /STLS|TLS/);
  t.deepEqual(first.subjects, ['keep one', 'keep two']);
  await deliver(env, ['keep three']);
  const second = await fetchmail(t, env, { keep: true, implicitTls: false, home });
  t.is(second.code, 0, second.output);
  t.deepEqual(second.subjects, ['keep one', 'keep three', 'keep two'], 'only the new message was fetched the second time (UIDL)');
  t.regex(second.output, /1 message \(2 seen\)|2 seen/);
  t.deepEqual(await imapSubjects(t, env), ['keep one', 'keep three', 'keep two']);
});

test('fetchmail in no-keep mode over implicit TLS downloads, deletes, and IMAP sees the mail gone', async (t) => {
  const env = await startServices(t);
  await addFamily(env.services);
  await deliver(env, ['take one', 'take two', 'take three']);
  const home = tempDataDir(t, 'mailnest-fetchmail-');
  const result = await fetchmail(t, env, { keep: false, implicitTls: true, home });
  t.is(result.code, 0, result.output);
  t.deepEqual(result.subjects, ['take one', 'take three', 'take two']);
  t.regex(result.output, /flushed|deleted/i);
  t.deepEqual(await imapSubjects(t, env), []);
  const again = await fetchmail(t, env, { keep: false, implicitTls: true, home });
  t.is(again.code, 1, 'fetchmail exits 1 when there was no mail');
});

test('curl pop3:// lists and retrieves, and pop3s:// too', async (t) => {
  const env = await startServices(t);
  await addFamily(env.services);
  await deliver(env, ['by curl']);
  const list = await run('curl', ['--silent', '--show-error', '--max-time', '20', '--user', 'alice@example.test:sesame-tulip-42', `pop3://127.0.0.1:${env.ports.pop3}/`]);
  t.is(list.code, 0, list.output);
  t.regex(list.stdout, /^1 \d+\r?\n$/);
  const retr = await run('curl', ['--silent', '--show-error', '--max-time', '20', '--user', 'alice@example.test:sesame-tulip-42', `pop3://127.0.0.1:${env.ports.pop3}/1`]);
  t.is(retr.code, 0, retr.output);
  t.regex(retr.stdout, /Subject: by curl/);
  t.regex(retr.stdout, /Text of by curl\./);
  const secure = await run('curl', ['--silent', '--show-error', '--max-time', '20', '--insecure', '--user', 'alice@example.test:sesame-tulip-42', `pop3s://127.0.0.1:${env.ports.pop3s}/1`]);
  t.is(secure.code, 0, secure.output);
  t.regex(secure.stdout, /Subject: by curl/);
});
