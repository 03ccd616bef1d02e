// `mailbox list` and `message list` on mail delivered over SMTP.

import test from 'ava';
import { cliOk, runCli } from '../helpers/cli.ts';
import { addFamily, startServices } from '../helpers/services.ts';
import { message, sendRaw } from '../helpers/smtp-client.ts';

test('a message sent over SMTP appears in message list, and mailbox list shows the default folders', async (t) => {
  const env = await startServices(t);
  await addFamily(env.services);
  const sent = await sendRaw(env.ports.smtp!, 'friend@remote.test', ['alice@example.test'], message('Dinner on Friday?', 'Bring the salad.'));
  t.true(sent.ok, sent.response);

  const listed = JSON.parse(await cliOk(['message', 'list', 'alice@example.test', '--json'], { data: env.data }));
  t.is(listed.length, 1);
  t.like(listed[0], { uid: 1, subject: 'Dinner on Friday?', flags: [] });
  t.regex(listed[0].from, /sender@remote\.test/);
  t.regex(await cliOk(['message', 'list', 'alice@example.test'], { data: env.data }), /^UID\s+RECEIVED\s+FROM\s+SUBJECT\s+SIZE\s+FLAGS\n1\s+\d{4}-\d\d-\d\d \d\d:\d\d\s+.*Dinner on Friday\?/);

  const mailboxes = JSON.parse(await cliOk(['mailbox', 'list', 'alice@example.test', '--json'], { data: env.data })) as { name: string; specialUse: string | null; messages: number; unseen: number }[];
  t.deepEqual(mailboxes.map((m) => [m.name, m.specialUse, m.messages, m.unseen]), [
    ['INBOX', null, 1, 1],
    ['Archive', '\\Archive', 0, 0],
    ['Drafts', '\\Drafts', 0, 0],
    ['Junk', '\\Junk', 0, 0],
    ['Sent', '\\Sent', 0, 0],
    ['Trash', '\\Trash', 0, 0],
  ]);
  t.regex(await cliOk(['mailbox', 'list', 'alice@example.test'], { data: env.data }), /used \d+(\.\d)?[BKM] of unlimited/);
  t.regex(await cliOk(['message', 'list', 'bob@example.test', 'Sent'], { data: env.data }), /Sent of bob@example\.test is empty/);

  const missing = await runCli(['message', 'list', 'alice@example.test', 'Nope'], { data: env.data });
  t.is(missing.code, 1);
  t.regex(missing.stderr, /has no mailbox "Nope"/);
  const nobody = await runCli(['mailbox', 'list', 'nobody@example.test'], { data: env.data });
  t.regex(nobody.stderr, /user nobody@example\.test does not exist/);
});

test('removing a user removes their mail and its files', async (t) => {
  const env = await startServices(t);
  await addFamily(env.services);
  t.true((await sendRaw(env.ports.smtp!, 'f@remote.test', ['alice@example.test', 'bob@example.test'], message('shared', 'one body, two mailboxes'))).ok);
  const store = env.services.store;
  const file = store.mail.listMessages(store.mail.findMailbox(store.accounts.get('alice@example.test').id, 'INBOX')!.id)[0]!.file;
  await cliOk(['user', 'remove', 'alice@example.test'], { data: env.data });
  const { existsSync } = await import('node:fs');
  t.true(existsSync(store.mail.files.absolute(file)), 'bob still has the message, so its body stays');
  await cliOk(['user', 'remove', 'bob@example.test'], { data: env.data });
  t.is(await store.mail.collectGarbage({ graceMs: 0 }), 1);
  t.false(existsSync(store.mail.files.absolute(file)));
});
