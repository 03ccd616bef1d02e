// Several sessions on one mailbox see each other's changes, and IDLE reports
// mail delivered over SMTP as it arrives.

import test from 'ava';
import { imapClient } from '../helpers/imap-client.ts';
import { addFamily, startServices } from '../helpers/services.ts';
import { message, sendRaw } from '../helpers/smtp-client.ts';

function waitFor<T>(register: (resolve: (value: T) => void) => void, timeoutMs: number, what: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), timeoutMs);
    register((value) => {
      clearTimeout(timer);
      resolve(value);
    });
  });
}

test('IDLE reports a message delivered over SMTP as it arrives', async (t) => {
  const env = await startServices(t);
  await addFamily(env.services);
  const client = await imapClient(t, env.ports.imap!);
  const lock = await client.getMailboxLock('INBOX');
  t.teardown(() => lock.release());
  const idling = client.idle();
  const arrived = waitFor<{ count: number }>((resolve) => client.on('exists', resolve), 10_000, 'EXISTS during IDLE');
  const sentAt = Date.now();
  t.true((await sendRaw(env.ports.smtp!, 'friend@remote.test', ['alice@example.test'], message('pushed', 'IDLE should tell'))).ok);
  const exists = await arrived;
  t.log(`EXISTS reached the IDLE client ${Date.now() - sentAt} ms after the SMTP transaction began`);
  t.is(exists.count, 1);
  await client.noop();
  await idling.catch(() => {});
});

test('two sessions on one mailbox see each other’s flag changes, expunges and appends', async (t) => {
  const env = await startServices(t);
  await addFamily(env.services);
  for (const subject of ['one', 'two', 'three']) t.true((await sendRaw(env.ports.smtp!, 'friend@remote.test', ['alice@example.test'], message(subject, subject))).ok);
  const a = await imapClient(t, env.ports.imap!);
  const b = await imapClient(t, env.ports.imap!);
  const lockA = await a.getMailboxLock('INBOX');
  const lockB = await b.getMailboxLock('INBOX');
  t.teardown(() => {
    lockA.release();
    lockB.release();
  });
  const flagEvents: { seq: number; flags: Set<string> }[] = [];
  const expunges: number[] = [];
  const counts: number[] = [];
  b.on('flags', (event: { seq: number; flags: Set<string> }) => flagEvents.push(event));
  b.on('expunge', (event: { seq: number }) => expunges.push(event.seq));
  b.on('exists', (event: { count: number }) => counts.push(event.count));

  await a.messageFlagsAdd('2', ['\\Flagged']);
  await b.noop();
  t.true(flagEvents.some((e) => e.seq === 2 && e.flags.has('\\Flagged')), 'B saw the flag A set');

  await a.messageDelete('1');
  await b.noop();
  t.deepEqual(expunges, [1], 'B saw the expunge');

  await a.append('INBOX', message('appended', 'by A'), ['\\Seen']);
  await b.noop();
  t.deepEqual(counts, [3], 'B saw the new message: EXISTS 3 after one expunge and one append');
  const subjects: string[] = [];
  for await (const m of b.fetch('1:*', { envelope: true })) if (m.envelope) subjects.push(m.envelope.subject ?? '');
  t.deepEqual(subjects, ['two', 'three', 'appended']);
});
