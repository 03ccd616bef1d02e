// The queue when things break under it: a message file that is gone, a
// database that cannot be written while a message is being sent, and a disk
// the supervisor reports read-only. Every failure waits its backoff (never a
// retry at once), a message the peer took is not sent again, and nothing is
// attempted while its result could not be recorded. Each test counts the
// peer's copies and the attempts over a bounded window.

import test from 'ava';
import { unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { cliOk } from '../helpers/cli.ts';
import { tempDataDir } from '../helpers/data-dir.ts';
import { reply, startPeer } from '../helpers/smtp-peer.ts';
import { fillDisk, mountTmpfs, reportStorageState, requireRoot } from '../helpers/storage.ts';
import { fromAlice, inboxOf, startQueueServices, submit, until } from './helpers.ts';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The attempts logged for a recipient: each ends in one of these lines. */
function attemptLines(logs: string[], recipient: string): string[] {
  const to = recipient.replace(/[.@]/g, '\\$&');
  return logs.filter((l) => new RegExp(` queue "?(deferred|sent|bounced|expired|delivery attempt failed)"? .*to=[^ ]*${to}`).test(l));
}

test('a missing message file: a clear error in the log and in queue list, retried with backoff instead of at once, bounced when the lifetime ends', async (t) => {
  const data = tempDataDir(t);
  const peer = await startPeer(t, { onRcpt: (_address, attempt) => (attempt === 1 ? reply(451, '4.3.0 try again later') : null) });
  const first = await startQueueServices(t, { data, timings: { retryBaseMs: 60_000, retryMaxMs: 60_000 } });
  first.services.store.transports.set('remote.test', `127.0.0.1:${peer.port}`);
  await submit(first, ['friend@remote.test'], fromAlice('its file goes missing'));
  await until(() => /451/.test(first.services.store.outbound.list()[0]?.lastError ?? ''), 'the first attempt to be deferred');
  const row = first.services.store.outbound.list()[0]!;
  await first.services.stop();
  unlinkSync(join(data, 'messages', row.file));
  await cliOk(['queue', 'retry', '--all'], { data });

  // The lifetime ends a few seconds into this run, after the window below.
  const lifetimeMs = Date.now() - row.createdAt + 5000;
  const env = await startQueueServices(t, { data, family: false, timings: { retryBaseMs: 1000, retryMaxMs: 1000, lifetimeMs } });
  await until(() => attemptLines(env.logs, 'friend@remote.test').length > 0, 'an attempt with the file missing');
  await sleep(3000);
  const attempts = attemptLines(env.logs, 'friend@remote.test').length;
  t.true(attempts <= 5, `${attempts} attempts in 3 s with a 1 s backoff:\n${env.logs.slice(-10).join('\n')}`);
  t.true(env.logs.some((l) => / error queue "the message file is missing; the message cannot be sent" .*to=friend@remote\.test/.test(l)), env.logs.join('\n'));
  const listed = await cliOk(['queue', 'list', '--json'], { data });
  t.regex((JSON.parse(listed) as { lastError: string }[])[0]!.lastError, /the stored message file messages\/\S+ is missing; restore it from a backup, or remove the message with mailnest queue delete 1/);

  await until(() => inboxOf(env, 'alice@example.test').length === 1, 'the bounce when the lifetime ends', 15_000);
  const bounce = inboxOf(env, 'alice@example.test')[0]!;
  t.is(bounce.subject, 'Undelivered Mail Returned to Sender');
  t.regex(bounce.raw, /<friend@remote\.test>: the stored message file messages\/\S+ is missing/);
  t.is(env.services.store.outbound.count(), 0);
  t.is(peer.received.length, 0, 'nothing was sent without its body');
  t.is(peer.rcptAttempts.get('friend@remote.test'), 1, 'the peer saw only the attempt made before the file went');
});

test.serial('the disk fills while the peer takes a message: it is not sent again, no other attempt starts, and the result is recorded once there is room', async (t) => {
  requireRoot(t);
  const data = tempDataDir(t);
  mountTmpfs(t, data, '12m');
  let free: (() => void) | undefined;
  let storeWritable: boolean | undefined;
  const peer = await startPeer(t, {
    onData: (attempt) => {
      if (attempt === 1) {
        free = fillDisk(data);
        storeWritable = env.services.store.health().ok;
      }
      return null;
    },
  });
  t.teardown(() => free?.());
  const env = await startQueueServices(t, { data });
  env.services.store.transports.set('remote.test', `127.0.0.1:${peer.port}`);
  await submit(env, ['friend@remote.test'], fromAlice('sent while the disk fills'));
  await until(() => peer.received.length === 1, 'the peer to take the message');
  t.false(storeWritable, 'the full disk refuses the database write (else this test proves nothing)');
  await sleep(2000);
  t.is(peer.received.length, 1, 'one copy, however long the disk stays full');
  t.is(peer.connections.total, 1, 'no other attempt while results cannot be recorded');
  t.is(env.services.store.outbound.count(), 1, 'the row is still in the table');
  t.true(env.logs.some((l) => /could not record the result; the message is not sent again/.test(l)), env.logs.slice(-10).join('\n'));
  t.true(env.logs.some((l) => /"no delivery attempts for now" reason="earlier results could not be written/.test(l)), env.logs.slice(-10).join('\n'));

  free!();
  await until(() => env.services.store.outbound.count() === 0, 'the result to be recorded once there is room');
  t.is(peer.received.length, 1);
  t.true(env.logs.some((l) => /results that could not be written before are recorded/.test(l)));
  t.true(env.logs.some((l) => /delivery attempts resume/.test(l)));
});

test('while the supervisor reports the disk read-only, no attempt starts; when it is writable again, the mail goes at once', async (t) => {
  const peer = await startPeer(t, { onRcpt: (_address, attempt) => (attempt === 1 ? reply(451, '4.3.0 try again later') : null) });
  const env = await startQueueServices(t, { timings: { retryBaseMs: 1000, retryMaxMs: 1000 } });
  env.services.store.transports.set('remote.test', `127.0.0.1:${peer.port}`);
  await submit(env, ['friend@remote.test'], fromAlice('waits for a writable disk'));
  await until(() => /451/.test(env.services.store.outbound.list()[0]?.lastError ?? ''), 'the first attempt to be deferred');
  reportStorageState(env.data, 'read-only');
  await until(async () => ((await env.services.health()).storage as { state: string }).state === 'read-only', 'the services to see the read-only disk');
  // The row falls due a second after the first attempt; three seconds cover it twice over.
  await sleep(3000);
  t.is(peer.rcptAttempts.get('friend@remote.test'), 1, 'no attempt while nothing could be recorded');
  t.true(env.logs.some((l) => /"no delivery attempts for now" reason="the supervisor reports the data disk read-only/.test(l)), env.logs.slice(-10).join('\n'));
  t.is(attemptLines(env.logs, 'friend@remote.test').length, 1);

  reportStorageState(env.data, 'ok');
  await until(() => peer.received.length === 1, 'the message sent once the disk is writable');
  await until(() => env.services.store.outbound.count() === 0, 'the row to be settled');
});
