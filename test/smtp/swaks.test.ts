// swaks, a real SMTP client from Debian, against the running server.

import test from 'ava';
import { execFile } from 'node:child_process';
import { addFamily, startServices } from '../helpers/services.ts';

function swaks(args: string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    execFile('swaks', args, { timeout: 30_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, output: stdout + stderr });
    });
  });
}

test('swaks delivers a message, with and without STARTTLS', async (t) => {
  const env = await startServices(t);
  await addFamily(env.services);
  const plain = await swaks(['--server', '127.0.0.1', '--port', String(env.ports.smtp), '--from', 'friend@remote.test', '--to', 'alice@example.test', '--header', 'Subject: from swaks', '--body', 'Sent by swaks.', '--helo', 'swaks.remote.test']);
  t.is(plain.code, 0, plain.output);
  t.regex(plain.output, /<- {2}250 2\.0\.0 Ok: delivered/);
  const tls = await swaks(['--server', '127.0.0.1', '--port', String(env.ports.smtp), '--from', 'friend@remote.test', '--to', 'bob@example.test', '--header', 'Subject: over tls', '--tls', '--helo', 'swaks.remote.test']);
  t.is(tls.code, 0, tls.output);
  t.regex(tls.output, /TLS started with cipher/);
  const store = env.services.store;
  const subjects = (address: string) => store.mail.listMessages(store.mail.findMailbox(store.accounts.get(address).id, 'INBOX')!.id).map((m) => m.subject);
  t.deepEqual(subjects('alice@example.test'), ['from swaks']);
  t.deepEqual(subjects('bob@example.test'), ['over tls']);
});

test('swaks sees relaying refused and unknown users rejected', async (t) => {
  const env = await startServices(t);
  await addFamily(env.services);
  const relay = await swaks(['--server', '127.0.0.1', '--port', String(env.ports.smtp), '--from', 'alice@example.test', '--to', 'victim@remote.test', '--helo', 'x']);
  t.not(relay.code, 0);
  t.regex(relay.output, /<\*\* 554 5\.7\.1 Relay access denied/);
  const unknown = await swaks(['--server', '127.0.0.1', '--port', String(env.ports.smtp), '--from', 'f@remote.test', '--to', 'nobody@example.test', '--helo', 'x']);
  t.regex(unknown.output, /<\*\* 550 5\.1\.1 No such user here/);
  t.deepEqual(env.services.store.outbound.list(), []);
});
