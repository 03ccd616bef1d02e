// A graceful stop and the outbound queue: an attempt that has sent the final
// dot is waited for, so its result is recorded and the message is not sent
// again after the restart; an attempt that has not is cut off at once and its
// row stays queued, uncharged. After stop(), the queue touches nothing.

import test from 'ava';
import { tempDataDir } from '../helpers/data-dir.ts';
import { startPeer } from '../helpers/smtp-peer.ts';
import { Store } from '../../services/store/index.ts';
import { fromAlice, startQueueServices, submit, until } from './helpers.ts';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A promise the test settles, for a peer that stalls until told. */
function gate() {
  let open: () => void = () => {};
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { opened, open };
}

test('a stop while the peer takes its time over the final dot waits for the reply: after the restart the peer has exactly one copy', async (t) => {
  const data = tempDataDir(t);
  const arrived = gate();
  // Longer than the 10 s the queue used to wait before the store was closed under the session.
  const peer = await startPeer(t, {
    onData: async (attempt) => {
      if (attempt === 1) {
        arrived.open();
        await sleep(11_000);
      }
      return null;
    },
  });
  const first = await startQueueServices(t, { data, timings: { stopWaitMs: 30_000 } });
  first.services.store.transports.set('remote.test', `127.0.0.1:${peer.port}`);
  await submit(first, ['friend@remote.test'], fromAlice('sent during a stop'));
  await arrived.opened;
  await first.services.stop();
  const stoppedAt = first.logs.findIndex((l) => / "?stopped"?$/.test(l));
  t.true(stoppedAt > 0, first.logs.slice(-5).join('\n'));
  t.true(first.logs.slice(0, stoppedAt).some((l) => / queue sent .*to=friend@remote\.test/.test(l)), 'the reply was recorded before the stop ended');
  t.deepEqual(first.logs.slice(stoppedAt + 1).filter((l) => / queue /.test(l)), [], 'nothing of the queue after the stop');

  const second = await startQueueServices(t, { data, family: false });
  t.is(second.services.store.outbound.count(), 0, 'nothing left to send after the restart');
  await sleep(500);
  t.is(peer.received.length, 1);
  t.is(peer.dataAttempts(), 1, 'exactly one copy');
});

test('a stop while the peer stalls before DATA is prompt; the row stays queued, due at once and not charged, and is sent after the restart', async (t) => {
  const data = tempDataDir(t);
  const stall = gate();
  t.teardown(() => stall.open());
  let stalling = true;
  const peer = await startPeer(t, { onRcpt: async () => (stalling ? stall.opened.then(() => null) : null) });
  const first = await startQueueServices(t, { data });
  first.services.store.transports.set('remote.test', `127.0.0.1:${peer.port}`);
  await submit(first, ['friend@remote.test'], fromAlice('cut off by a stop'));
  await until(() => peer.rcptAttempts.get('friend@remote.test') === 1, 'the peer to stall on RCPT');
  const stopping = first.services.stop();
  let stopped = false;
  void stopping.then(() => (stopped = true));
  // The queue used to wait 10 s here; an attempt that has not sent the dot is cut off at once.
  await until(() => stopped, 'the stop to end', 5000);
  t.true(first.logs.some((l) => /"attempt cut off by the shutdown; still queued" .*to=friend@remote\.test/.test(l)));
  const store = Store.open(data);
  const rows = store.outbound.list();
  store.close();
  t.is(rows.length, 1);
  t.like(rows[0], { attempts: 0, lastError: null, lastAttemptAt: null });
  t.true(rows[0]!.nextAttemptAt <= Date.now(), 'due at once after the restart');

  stalling = false;
  stall.open();
  const second = await startQueueServices(t, { data, family: false });
  await until(() => peer.received.length === 1, 'the message sent after the restart');
  await until(() => second.services.store.outbound.count() === 0, 'the row to be settled');
  t.is(peer.dataAttempts(), 1);
});
