// Reports the queue writes to a local sender (bounces, delay notices): stored
// once, whatever happens after the commit, and even when the sender's mailbox
// is over quota (as Postfix delivers its bounces), so a report is never
// retried forever (issue 12, items 6 and 9).

import test from 'ava';
import { existsSync } from 'node:fs';
import { reply, startPeer } from '../helpers/smtp-peer.ts';
import { fromAlice, inboxOf, startQueueServices, submit, until } from './helpers.ts';

test('a bounce reaches a local sender who is over quota, once', async (t) => {
  const peer = await startPeer(t, { onRcpt: () => reply(550, '5.1.1 no such user here') });
  const env = await startQueueServices(t);
  const store = env.services.store;
  store.transports.set('remote.test', `127.0.0.1:${peer.port}`);
  // Full: a quota of one byte above what she uses (submission keeps no copy in Sent).
  store.accounts.setQuota('alice@example.test', store.mail.usage(store.accounts.get('alice@example.test').id).usedBytes + 1);
  await submit(env, ['nobody@remote.test'], fromAlice('to nobody', 'nobody@remote.test'));
  await until(() => inboxOf(env, 'alice@example.test').length === 1, 'the bounce in alice’s INBOX');
  await until(() => store.outbound.count() === 0, 'the row settled');
  t.is(inboxOf(env, 'alice@example.test')[0]!.subject, 'Undelivered Mail Returned to Sender');
  t.true(store.mail.usage(store.accounts.get('alice@example.test').id).usedBytes > store.accounts.get('alice@example.test').quotaBytes, 'the report went past the quota');
  t.false(env.logs.some((l) => /could not store the report/.test(l)));
});

test('a failure after the report was committed does not store it again or remove its body', async (t) => {
  const peer = await startPeer(t, { onRcpt: () => reply(550, '5.1.1 no such user here') });
  const env = await startQueueServices(t);
  const store = env.services.store;
  store.transports.set('remote.test', `127.0.0.1:${peer.port}`);
  const failures: unknown[] = [];
  store.mail.events.onListenerError = (error) => failures.push(error);
  store.mail.events.onAny(() => {
    throw new Error('a listener failed after the commit');
  });
  await submit(env, ['nobody@remote.test'], fromAlice('to nobody', 'nobody@remote.test'));
  await until(() => store.outbound.count() === 0, 'the row settled');
  // Time for a wrongly repeated report to arrive: several retry periods of the test timings.
  await new Promise((resolve) => setTimeout(resolve, 1500));
  const reports = inboxOf(env, 'alice@example.test');
  t.is(reports.length, 1);
  t.true(existsSync(store.mail.files.absolute(reports[0]!.file)));
  t.true(failures.length >= 1);
});
