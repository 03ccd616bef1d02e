// curl, a real IMAP client program from Debian: listing and fetching, over
// plain IMAP on loopback and over implicit TLS.

import test from 'ava';
import { execFile } from 'node:child_process';
import { addFamily, startServices } from '../helpers/services.ts';
import { message, sendRaw } from '../helpers/smtp-client.ts';

function curl(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile('curl', ['--silent', '--show-error', '--max-time', '20', ...args], { timeout: 30_000, encoding: 'utf8' }, (error, stdout, stderr) => {
      if ((error as NodeJS.ErrnoException | null)?.code === 'ENOENT') return reject(new Error('curl is not installed: apt-get install curl'));
      resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

test('curl lists mailboxes and fetches a message by UID, over IMAP and IMAPS', async (t) => {
  const env = await startServices(t);
  await addFamily(env.services);
  t.true((await sendRaw(env.ports.smtp!, 'friend@remote.test', ['alice@example.test'], message('Fetched by curl', 'Hello from the other side.'))).ok);

  const list = await curl(['--user', 'alice@example.test:sesame-tulip-42', `imap://127.0.0.1:${env.ports.imap}/`]);
  t.is(list.code, 0, list.stderr);
  for (const name of ['INBOX', 'Drafts', 'Sent', 'Junk', 'Trash', 'Archive']) t.regex(list.stdout, new RegExp(`\\* LIST \\([^)]*\\) "/" "?${name}"?\\r?\\n`), name);
  t.regex(list.stdout, /\* LIST \([^)]*\\Sent[^)]*\) "\/" "?Sent"?/);

  const fetched = await curl(['--user', 'alice@example.test:sesame-tulip-42', `imap://127.0.0.1:${env.ports.imap}/INBOX;UID=1`]);
  t.is(fetched.code, 0, fetched.stderr);
  t.regex(fetched.stdout, /^Return-Path: <friend@remote\.test>/);
  t.regex(fetched.stdout, /Subject: Fetched by curl/);
  t.regex(fetched.stdout, /Hello from the other side\./);

  const secure = await curl(['--insecure', '--user', 'alice@example.test:sesame-tulip-42', `imaps://127.0.0.1:${env.ports.imaps}/INBOX;UID=1;SECTION=HEADER.FIELDS%20(SUBJECT)`]);
  t.is(secure.code, 0, secure.stderr);
  t.is(secure.stdout.trim(), 'Subject: Fetched by curl');

  const wrong = await curl(['--user', 'alice@example.test:wrong', `imap://127.0.0.1:${env.ports.imap}/`]);
  t.not(wrong.code, 0);
  t.regex(wrong.stderr, /Login denied|login|denied/i);
  t.is(env.services.authEvents.failures, 1, 'the failed login was reported');
});
