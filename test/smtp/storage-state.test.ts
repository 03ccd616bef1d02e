// When the firmware supervisor reports the data disk nearly full or read-only
// (run/storage-state.json), SMTP refuses new mail with temporary failures, so
// senders keep it and retry; when the disk is fine again, mail flows.

import test from 'ava';
import { addFamily, startServices } from '../helpers/services.ts';
import { smtpDialogue } from '../helpers/smtp-client.ts';
import { reportStorageState as report } from '../helpers/storage.ts';

async function mailFromReply(port: number): Promise<string> {
  return (await smtpDialogue(port, ['EHLO c', 'MAIL FROM:<s@remote.test>', 'QUIT']))[2]!;
}

async function eventually(check: () => Promise<boolean>): Promise<boolean> {
  for (let i = 0; i < 50; i++) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}

test('mail is refused with 452 4.3.1 while the disk is nearly full and 451 4.3.0 while it is read-only', async (t) => {
  const env = await startServices(t);
  await addFamily(env.services);
  const port = env.ports.smtp!;
  t.regex(await mailFromReply(port), /^250 /);

  report(env.data, 'nearly-full');
  t.true(await eventually(async () => /^452 4\.3\.1 Insufficient system storage/.test(await mailFromReply(port))));
  const health = await (await fetch(`http://127.0.0.1:${env.ports.web}/healthz`)).json();
  t.like(health, { storage: { state: 'nearly-full', detail: 'test' } });

  report(env.data, 'read-only');
  t.true(await eventually(async () => /^451 4\.3\.0 /.test(await mailFromReply(port))));

  report(env.data, 'ok');
  t.true(await eventually(async () => /^250 /.test(await mailFromReply(port))));
  t.true(env.logs.some((l) => /"storage state changed" state=read-only/.test(l)));
});
