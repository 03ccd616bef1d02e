// Once a message is committed, nothing that runs afterwards (announcing it to
// IDLE sessions, waking the queue, logging) may take it back: the sender got,
// or is about to get, its success reply, so its body file must stay (issue 12,
// item 9). A listener that throws stands for any such later failure.

import test from 'ava';
import { existsSync } from 'node:fs';
import { imapClient } from '../helpers/imap-client.ts';
import { addFamily, startServices, type TestServices } from '../helpers/services.ts';
import { message, sendRaw } from '../helpers/smtp-client.ts';

function breakListeners(env: TestServices): string[] {
  const failures: string[] = [];
  env.services.store.mail.events.onListenerError = (error) => failures.push((error as Error).message);
  env.services.store.mail.events.onAny(() => {
    throw new Error('a listener failed after the commit');
  });
  return failures;
}

function inbox(env: TestServices) {
  const store = env.services.store;
  return store.mail.listMessages(store.mail.findMailbox(store.accounts.get('alice@example.test').id, 'INBOX')!.id);
}

test('SMTP: a failure after the commit still answers 250 and keeps the body', async (t) => {
  const env = await startServices(t);
  await addFamily(env.services);
  const failures = breakListeners(env);
  const result = await sendRaw(env.ports.smtp!, 's@remote.test', ['alice@example.test'], message('kept', 'body'));
  t.true(result.ok, result.response);
  const [row] = inbox(env);
  t.truthy(row);
  t.true(existsSync(env.services.store.mail.files.absolute(row!.file)), 'the committed row names a file that exists');
  t.deepEqual(failures, ['a listener failed after the commit']);
});

test('IMAP APPEND: a failure after the commit still answers OK and keeps the body', async (t) => {
  const env = await startServices(t);
  await addFamily(env.services);
  const failures = breakListeners(env);
  const client = await imapClient(t, env.ports.imap!);
  const appended = await client.append('INBOX', message('appended', 'body'));
  t.truthy(appended && appended.uid);
  const [row] = inbox(env);
  t.true(existsSync(env.services.store.mail.files.absolute(row!.file)));
  t.deepEqual(failures, ['a listener failed after the commit']);
});
