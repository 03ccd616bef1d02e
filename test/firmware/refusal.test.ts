// A services process that refuses to start (exit status 78: a bad setting, a
// port in use) against the supervisor, with the fake services process: one
// report, the cannot-start LED pattern, the watchdog still fed, no restart
// loop, and a new try only when something changed (SIGHUP's retryNow, a
// settings change, the port free again, the factory reset).

import test from 'ava';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { ledPatterns } from '../../firmware/led-patterns.ts';
import type { SupervisorReport } from '../../firmware/supervisor.ts';
import { startSupervisor, until } from './helpers.ts';

function report(data: string): SupervisorReport {
  return JSON.parse(readFileSync(join(data, 'run', 'supervisor.json'), 'utf8')) as SupervisorReport;
}

const quick = { startRefusedCheckMs: 50, startRefusedMinGapMs: 50, maxRestarts: 2, backoffBaseMs: 20 };

test('a refusal to start is reported once, shows cannot-start, keeps the watchdog fed and is not restarted', async (t) => {
  let expired = 0;
  const h = await startSupervisor(t, {
    behaviour: { refuseStarts: -1 },
    timings: quick,
    hardware: { watchdogTimeoutMs: 3000, onWatchdogExpire: () => expired++ },
  });
  const refused = await h.waitFor('start-refused');
  t.regex(refused.message, /^setting max-recipients: 0 is outside 1\.\.10000/);
  t.false(refused.repeated);
  await h.waitFor('state', (e) => e.state === 'cannot-start' && e.led === 'cannot-start');
  t.deepEqual(h.hardware.statusLed.signal, ledPatterns['cannot-start'].status);
  t.deepEqual(h.hardware.alertLed.signal, ledPatterns['cannot-start'].alert);

  // Longer than the watchdog's timeout, petted all along: a real board would not reset.
  const pets = h.hardware.watchdog.keepAlives;
  await until(() => h.hardware.watchdog.keepAlives >= pets + 80, '80 more keep-alives (4 s at 50 ms)', 30_000);
  t.is(expired, 0);
  t.is(h.hardware.watchdog.state, 'armed');
  t.is(h.events.filter((e) => e.type === 'spawned').length, 1);
  t.false(h.events.some((e) => e.type === 'restart' || e.type === 'failed'));
  t.is(h.lines.filter((l) => l.startsWith('error ')).length, 1);
  t.regex(h.lines.find((l) => l.startsWith('error '))!, /^error the services cannot start: no restart until something changes error=setting max-recipients: 0 is outside/);

  await until(() => report(h.data).state === 'cannot-start', 'supervisor.json to say cannot-start');
  const written = report(h.data);
  t.is(written.led, 'cannot-start');
  t.true(written.watchdog.petting);
  t.is(written.services.restarts, 0);
  t.regex(written.startError?.message ?? '', /^setting max-recipients/);
  t.regex(written.startError?.retry ?? '', /SIGHUP/);
  t.deepEqual(written.reasons, [written.startError!.message]);

  // SIGHUP (retryNow): one more try, the same error, not reported again.
  const from = h.events.length;
  t.true(h.supervisor.retryNow('SIGHUP'));
  t.like(await h.waitFor('retry', undefined, { from }), { why: 'SIGHUP' });
  t.true((await h.waitFor('start-refused', undefined, { from })).repeated);
  await h.waitFor('state', (e) => e.state === 'cannot-start', { from });
  t.is(h.events.filter((e) => e.type === 'spawned').length, 2);
  t.is(h.lines.filter((l) => l.startsWith('error ')).length, 1);
  t.true(h.lines.some((l) => l.startsWith('info the services still cannot start, for the same reason')));

  // The setting is fixed (`mailnest config set` touches run/settings-changed): the supervisor tries again by itself.
  writeFileSync(join(h.data, 'fake-services.json'), '{}');
  const fixed = h.events.length;
  writeFileSync(join(h.data, 'run', 'settings-changed'), new Date().toISOString());
  t.like(await h.waitFor('retry', undefined, { from: fixed }), { why: 'the stored settings changed' });
  await h.waitFor('healthy', undefined, { from: fixed });
  await h.waitFor('state', (e) => e.led === 'healthy', { from: fixed });
  t.false(existsSync(join(h.data, 'run', 'start-error.json')));
  t.false(h.events.some((e) => e.type === 'restart'));
  t.true(h.supervisor.retryNow('SIGHUP') === false);
});

test('a port in use: cannot-start until the port is free, then the services start by themselves', async (t) => {
  let blocker: Server | undefined;
  t.teardown(() => new Promise<void>((resolve) => (blocker?.listening ? blocker.close(() => resolve()) : resolve())));
  const h = await startSupervisor(t, {
    timings: quick,
    prepare: async (_data, launch) => {
      // Another program on the web port, which hangs up on whoever connects (the first probe may).
      blocker = createServer((socket) => socket.destroy());
      await new Promise<void>((resolve, reject) => {
        blocker!.once('error', reject);
        blocker!.listen(launch.ports.http, '127.0.0.1', resolve);
      });
    },
  });
  const port = h.launch.ports.http;
  const refused = await h.waitFor('start-refused');
  t.is(refused.message, `web: port ${port} on 127.0.0.1 is already in use (is another Mailnest running?)`);
  await h.waitFor('state', (e) => e.led === 'cannot-start');
  await until(() => report(h.data).startError?.retry.includes(`when port ${port} is free again`) === true, 'supervisor.json to say when it tries again');
  // Many change checks pass while the port is held: no new try.
  const pets = h.hardware.watchdog.keepAlives;
  await until(() => h.hardware.watchdog.keepAlives >= pets + 20, '20 more keep-alives');
  t.is(h.events.filter((e) => e.type === 'spawned').length, 1);

  const from = h.events.length;
  await new Promise<void>((resolve) => blocker!.close(() => resolve()));
  t.like(await h.waitFor('retry', undefined, { from }), { why: `port ${port} on 127.0.0.1 is free again` });
  await h.waitFor('healthy', undefined, { from });
  await h.waitFor('state', (e) => e.led === 'healthy', { from });
  t.false(h.events.some((e) => e.type === 'restart' || e.type === 'failed'));
  t.is(h.lines.filter((l) => l.startsWith('error ')).length, 1);
});

test('the factory reset is a way out of a refusal to start', async (t) => {
  const h = await startSupervisor(t, { behaviour: { refuseStarts: 1 }, timings: quick });
  await h.waitFor('state', (e) => e.state === 'cannot-start');
  const from = h.events.length;
  h.supervisor.factoryReset('test');
  t.true((await h.waitFor('factory-reset', (e) => e.phase === 'done', { from })).ok);
  await h.waitFor('healthy', undefined, { from });
  t.true(existsSync(join(h.data, 'reset-ran')));
  await until(() => report(h.data).state === 'healthy' && report(h.data).startError === null, 'supervisor.json to forget the start error');
});

test('SIGHUP (retryNow) also tries again after recovery failed, and is refused in a healthy state', async (t) => {
  const h = await startSupervisor(t, { behaviour: { crashStarts: 2 }, timings: { maxRestarts: 1, backoffBaseMs: 20 } });
  await h.waitFor('failed');
  const from = h.events.length;
  t.true(h.supervisor.retryNow('SIGHUP'));
  t.like(await h.waitFor('retry', undefined, { from }), { why: 'SIGHUP' });
  await h.waitFor('healthy', undefined, { from });
  t.false(h.supervisor.retryNow('SIGHUP'));
  t.true(h.lines.some((l) => l.startsWith('info trying the services again after recovery failed why=SIGHUP')));
});
