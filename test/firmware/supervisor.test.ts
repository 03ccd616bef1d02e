// The supervisor against simulated hardware and a fake services process
// (fixtures/fake-services.mjs): LED patterns per state, restarts with backoff,
// the watchdog, the disk, the button. Timings are short and passed as options;
// waits are bounded; nothing asserts how fast anything is.

import test from 'ava';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { serveLaunch } from '../../firmware/launch.ts';
import { ledPatterns } from '../../firmware/led-patterns.ts';
import type { StorageStateFile } from '../../firmware/run-files.ts';
import { Supervisor, type SupervisorReport } from '../../firmware/supervisor.ts';
import { simulatedHardware } from '../../hw/hardware.ts';
import { tempDataDir } from '../helpers/data-dir.ts';
import { arrayLog, fakeServices, startSupervisor, testTimings, until } from './helpers.ts';

function readJson<T>(path: string): T {
  return JSON.parse(readFileSync(path, 'utf8')) as T;
}

function report(data: string): SupervisorReport {
  return readJson<SupervisorReport>(join(data, 'run', 'supervisor.json'));
}

function starts(data: string): { pid: number; args: string[] }[] {
  return readFileSync(join(data, 'fake-starts.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
}

test('boots with the booting pattern, turns healthy, writes supervisor.json and storage-state.json, pets the watchdog', async (t) => {
  const h = await startSupervisor(t);
  t.deepEqual(h.hardware.statusLed.history[0], ledPatterns.booting.status);
  const spawned = await h.waitFor('spawned');
  await h.waitFor('state', (e) => e.led === 'healthy');
  t.deepEqual(h.hardware.statusLed.signal, ledPatterns.healthy.status);
  t.deepEqual(h.hardware.alertLed.signal, { mode: 'off' });

  // The services were started with serve's flags, and the ports probed are those flags.
  const [first] = starts(h.data);
  t.deepEqual(first!.args.slice(0, 5), ['serve', '--data', h.data, '--port-offset', '0']);
  t.true(first!.args.includes(`http=${h.launch.ports.http}`));

  await until(() => existsSync(join(h.data, 'run', 'supervisor.json')) && report(h.data).state === 'healthy', 'supervisor.json to say healthy');
  const written = report(h.data);
  t.is(written.services.pid, spawned.pid ?? null);
  t.is(written.services.restarts, 0);
  t.is(written.led, 'healthy');
  t.is(written.hardware, 'simulated');
  t.is(written.pid, process.pid);
  t.true(written.watchdog.petting);
  t.is(written.storage.state, 'ok');
  t.is(written.sensors?.data?.usedPercent, 20);

  const storage = readJson<StorageStateFile>(join(h.data, 'run', 'storage-state.json'));
  t.is(storage.state, 'ok');
  t.false(Number.isNaN(Date.parse(storage.since)));

  await until(() => h.hardware.watchdog.keepAlives > 2, 'keep-alives');
  t.is(h.hardware.watchdog.state, 'armed');
  t.true(h.lines.some((l) => l.startsWith('info led pattern=healthy')));
});

test('setup not done: its own pattern until a domain and a user exist', async (t) => {
  const h = await startSupervisor(t, { behaviour: { setupDone: false } });
  await h.waitFor('state', (e) => e.led === 'setup-not-done');
  t.deepEqual(h.hardware.statusLed.signal, ledPatterns['setup-not-done'].status);
  await until(() => report(h.data).setupDone === false, 'supervisor.json setupDone false');
});

test('a killed services process is restarted, and the LED shows it', async (t) => {
  const h = await startSupervisor(t);
  const first = await h.waitFor('healthy');
  const from = h.events.length;
  process.kill(first.pid!, 'SIGKILL');

  const restart = await h.waitFor('restart', undefined, { from });
  t.regex(restart.reason, /killed by SIGKILL/);
  t.is(restart.restarts, 1);
  await h.waitFor('state', (e) => e.state === 'recovering' && e.led === 'degraded', { from });
  const second = await h.waitFor('healthy', undefined, { from });
  t.not(second.pid, first.pid);
  await h.waitFor('state', (e) => e.led === 'healthy', { from });
  t.true(h.lines.some((l) => /^warn restarting services reason=.*killed by SIGKILL.* restart=1/.test(l)));

  await until(() => report(h.data).services.pid === second.pid && report(h.data).state === 'healthy', 'supervisor.json to name the new pid');
  const written = report(h.data);
  t.is(written.services.restarts, 1);
  t.regex(written.services.lastRestart?.reason ?? '', /killed by SIGKILL/);
  t.is(h.hardware.watchdog.state, 'armed');
});

test('restarts back off, doubling up to the maximum, and keep the watchdog fed while recovering', async (t) => {
  const h = await startSupervisor(t, {
    behaviour: { crashStarts: 4 },
    timings: { backoffBaseMs: 40, backoffMaxMs: 120, maxRestarts: 5 },
  });
  await h.waitFor('healthy');
  const restarts = h.events.filter((e) => e.type === 'restart');
  t.deepEqual(
    restarts.map((e) => e.delayMs),
    [40, 80, 120, 120],
  );
  t.deepEqual(
    restarts.map((e) => e.restarts),
    [1, 2, 3, 4],
  );
  // Each new start came at least its backoff after the restart was decided (a timer may fire a millisecond early).
  const spawnedAt = h.events.flatMap((e, i) => (e.type === 'spawned' ? [h.times[i]!] : []));
  const restartAt = h.events.flatMap((e, i) => (e.type === 'restart' ? [h.times[i]!] : []));
  t.is(spawnedAt.length, 5);
  restarts.forEach((restart, i) => t.true(spawnedAt[i + 1]! - restartAt[i]! >= restart.delayMs - 2, `start ${i + 2} waited its backoff`));
  t.is(h.hardware.watchdog.state, 'armed');
  await h.waitFor('state', (e) => e.led === 'healthy');
  await until(() => report(h.data).services.restarts === 4 && report(h.data).state === 'healthy', 'supervisor.json to count 4 restarts');
});

test('when the services cannot recover, petting stops and the (simulated) board resets', async (t) => {
  let expired = 0;
  const h = await startSupervisor(t, {
    behaviour: { crashStarts: -1 },
    timings: { maxRestarts: 2, backoffBaseMs: 20 },
    hardware: { watchdogTimeoutMs: 3000, onWatchdogExpire: () => expired++ },
  });
  const failed = await h.waitFor('failed');
  t.regex(failed.reason, /2 restarts within 60 s did not help; last: the services process ended \(exit status 1\)/);
  await h.waitFor('watchdog', (e) => !e.petting);
  await h.waitFor('state', (e) => e.state === 'failed' && e.led === 'failed');
  t.deepEqual(h.hardware.statusLed.signal, ledPatterns.failed.status);
  t.deepEqual(h.hardware.alertLed.signal, { mode: 'on' });
  const petsAtFailure = h.hardware.watchdog.keepAlives;
  await until(() => expired === 1, 'the watchdog to expire');
  t.is(h.hardware.watchdog.state, 'expired');
  t.is(h.hardware.watchdog.keepAlives, petsAtFailure);
  t.is(h.events.filter((e) => e.type === 'spawned').length, 3);
  await until(() => report(h.data).state === 'failed' && !report(h.data).watchdog.petting, 'supervisor.json to say failed, not petting');
  const written = report(h.data);
  t.false(written.watchdog.petting);
  t.regex(written.failure?.reason ?? '', /did not help/);
  t.is(written.services.pid, null);
  t.true(h.lines.some((l) => l.startsWith('error recovery failed: no longer petting the watchdog')));
});

test('a hung services process is killed and restarted', async (t) => {
  const h = await startSupervisor(t, { timings: { probeTimeoutMs: 300, stopTimeoutMs: 500 } });
  const first = await h.waitFor('healthy');
  const from = h.events.length;
  process.kill(first.pid!, 'SIGUSR2');
  const restart = await h.waitFor('restart', undefined, { from });
  t.regex(restart.reason, /\/healthz on 127\.0\.0\.1:\d+: no answer within 300 ms/);
  await h.waitFor('exited', (e) => e.pid === first.pid, { from });
  await until(() => h.lines.some((l) => l.startsWith(`warn services did not stop in time: killed pid=${first.pid}`)), 'the kill to be logged');
  const second = await h.waitFor('healthy', undefined, { from });
  t.not(second.pid, first.pid);
});

test('a wrong SMTP greeting is a reason to restart', async (t) => {
  const h = await startSupervisor(t, { behaviour: { badGreeting: true } });
  await h.waitFor('healthy');
  const restart = await h.waitFor('restart');
  t.regex(restart.reason, /smtp greeting on 127\.0\.0\.1:\d+: unexpected greeting "554 go away"/);
});

test('a database that cannot be written is a reason to restart', async (t) => {
  const h = await startSupervisor(t, { behaviour: { storeFailed: true } });
  const restart = await h.waitFor('restart');
  t.regex(restart.reason, /the database cannot be written: disk I\/O error/);
});

test('...unless a full disk explains it: then the services stay up, degraded', async (t) => {
  const h = await startSupervisor(t, { behaviour: { storeFailed: true }, hardware: { conditions: { dataUsedPercent: 97 } } });
  await h.waitFor('state', (e) => e.state === 'degraded');
  // Several probe rounds later, still no restart.
  await h.waitFor('probe', (e) => e.verdict.verdict === 'degraded');
  const count = h.events.filter((e) => e.type === 'probe').length;
  await until(() => h.events.filter((e) => e.type === 'probe').length >= count + 5, 'five more probe rounds');
  t.is(h.events.filter((e) => e.type === 'restart').length, 0);
  t.deepEqual(h.hardware.statusLed.signal, ledPatterns.degraded.status);
});

test('disk nearly full or read-only: storage-state.json tells the services, the LED shows degraded, both recover', async (t) => {
  const h = await startSupervisor(t);
  await h.waitFor('state', (e) => e.led === 'healthy');
  const storagePath = join(h.data, 'run', 'storage-state.json');

  let from = h.events.length;
  h.hardware.sensors.set({ dataUsedPercent: 96.5 });
  const full = await h.waitFor('storage', (e) => e.storage.state === 'nearly-full', { from });
  t.regex(full.storage.detail, /96\.5 % full/);
  t.is(readJson<StorageStateFile>(storagePath).state, 'nearly-full');
  t.is(readJson<StorageStateFile>(storagePath).since, full.storage.since);
  await h.waitFor('state', (e) => e.state === 'degraded' && e.led === 'degraded', { from });
  await until(() => report(h.data).storage.state === 'nearly-full', 'supervisor.json storage');
  t.true(report(h.data).reasons.some((r) => /96\.5 % full/.test(r)));

  // Less than 64 MiB free is nearly full too, whatever the percentage.
  from = h.events.length;
  h.hardware.sensors.set({ dataUsedPercent: 50, dataSizeBytes: 100 * 1024 * 1024 });
  await until(() => h.events.slice(from).some((e) => e.type === 'sensors' && e.readings.data?.usedPercent === 50), 'a reading at 50 %');
  t.is(readJson<StorageStateFile>(storagePath).state, 'nearly-full');

  from = h.events.length;
  h.hardware.sensors.set({ dataUsedPercent: 50, dataSizeBytes: 32 * 1024 ** 3, dataReadOnly: true });
  await h.waitFor('storage', (e) => e.storage.state === 'read-only', { from });
  t.is(readJson<StorageStateFile>(storagePath).state, 'read-only');

  from = h.events.length;
  h.hardware.sensors.set({ dataReadOnly: false });
  await h.waitFor('storage', (e) => e.storage.state === 'ok', { from });
  t.is(readJson<StorageStateFile>(storagePath).state, 'ok');
  await h.waitFor('state', (e) => e.led === 'healthy', { from });
  t.true(h.lines.some((l) => l.startsWith('warn storage state state=nearly-full')));
  t.true(h.lines.some((l) => l.startsWith('info storage state state=ok')));
});

test('a disk above 90 %, heat, under-voltage or a failing disk degrade without refusing mail', async (t) => {
  const h = await startSupervisor(t);
  await h.waitFor('state', (e) => e.led === 'healthy');
  const storagePath = join(h.data, 'run', 'storage-state.json');
  for (const [conditions, reason] of [
    [{ dataUsedPercent: 92 }, /is 92 % full/],
    [{ temperatureC: 81 }, /81 °C/],
    [{ underVoltage: true }, /under-voltage/],
    [{ smartPassed: false }, /SMART health check of \/dev\/sim0 failed/],
  ] as const) {
    const from = h.events.length;
    h.hardware.sensors.set(conditions);
    await h.waitFor('state', (e) => e.led === 'degraded', { from });
    await until(() => report(h.data).reasons.some((r) => reason.test(r)), `supervisor.json reasons to match ${reason}`);
    t.is(readJson<StorageStateFile>(storagePath).state, 'ok');
    h.hardware.sensors.set({ dataUsedPercent: 20, temperatureC: 48, underVoltage: false, smartPassed: undefined });
    await h.waitFor('state', (e) => e.led === 'healthy', { from });
  }
});

test('holding the button 10 s: confirmation pattern, settings reset, services back; mail is not touched', async (t) => {
  const h = await startSupervisor(t);
  const first = await h.waitFor('healthy');
  const from = h.events.length;
  h.hardware.button.press();
  await h.waitFor('state', (e) => e.led === 'reset-pending', { from });
  t.deepEqual(h.hardware.statusLed.signal, ledPatterns['reset-pending'].status);
  await h.waitFor('button', (e) => e.action === 'long-press', { from });
  await h.waitFor('state', (e) => e.state === 'factory-reset' && e.led === 'factory-reset', { from });
  const done = await h.waitFor('factory-reset', (e) => e.phase === 'done', { from });
  t.true(done.ok);
  t.is(readFileSync(join(h.data, 'reset-ran'), 'utf8'), 'reset');
  const exited = h.events.slice(from).find((e) => e.type === 'exited');
  t.like(exited, { pid: first.pid, expected: true });
  h.hardware.button.release();
  const second = await h.waitFor('healthy', undefined, { from });
  t.not(second.pid, first.pid);
  await h.waitFor('state', (e) => e.led === 'healthy', { from });
  // A factory reset is not a restart for a failure.
  t.is(h.events.filter((e) => e.type === 'restart').length, 0);
  await until(() => report(h.data).factoryReset?.ok === true, 'supervisor.json to record the reset');
});

test('the factory reset runs `config reset --all --data DIR` and reports its failure', async (t) => {
  const h = await startSupervisor(t, {
    resetCommand: () => ({ command: process.execPath, args: ['-e', "console.error('no such command'); process.exit(3)"] }),
  });
  await h.waitFor('healthy');
  h.supervisor.factoryReset('test');
  const done = await h.waitFor('factory-reset', (e) => e.phase === 'done');
  t.false(done.ok);
  t.regex(done.detail ?? '', /exit status 3: no such command/);
  await h.waitFor('state', (e) => e.led === 'healthy', { from: h.events.indexOf(done) });
});

test('a short press changes nothing', async (t) => {
  const h = await startSupervisor(t, { timings: { longPressMs: 5_000 } });
  await h.waitFor('state', (e) => e.led === 'healthy');
  const from = h.events.length;
  h.hardware.button.press();
  await h.waitFor('state', (e) => e.led === 'reset-pending', { from });
  h.hardware.button.release();
  await h.waitFor('button', (e) => e.action === 'release', { from });
  await h.waitFor('state', (e) => e.led === 'healthy', { from });
  t.false(h.events.some((e) => e.type === 'factory-reset' || e.type === 'restart'));
  t.false(existsSync(join(h.data, 'reset-ran')));
});

test('stop: SIGTERM to the services, the watchdog disarmed, the LEDs dark, supervisor.json says stopped', async (t) => {
  const h = await startSupervisor(t);
  const healthy = await h.waitFor('healthy');
  await h.supervisor.stop();
  const exited = h.events.find((e) => e.type === 'exited');
  t.like(exited, { pid: healthy.pid, info: 'exit status 0', expected: true });
  t.is(h.hardware.watchdog.state, 'disarmed');
  t.deepEqual(h.hardware.statusLed.history.at(-1), { mode: 'off' });
  t.deepEqual(h.hardware.alertLed.history.at(-1), { mode: 'off' });
  t.is(report(h.data).state, 'stopped');
  t.is(report(h.data).services.pid, null);
  t.true(h.lines.some((l) => l.startsWith('info watchdog disarmed (magic close)')));
  // Stopping twice is harmless.
  await h.supervisor.stop();
});

test('services that ignore SIGTERM are killed when the supervisor stops', async (t) => {
  const h = await startSupervisor(t, { behaviour: { ignoreTerm: true }, timings: { stopTimeoutMs: 300 } });
  const healthy = await h.waitFor('healthy');
  await h.supervisor.stop();
  t.like(h.events.find((e) => e.type === 'exited'), { pid: healthy.pid, info: 'killed by SIGKILL' });
});

test('a stop asked for while starting spawns nothing and still disarms the watchdog', async (t) => {
  const data = tempDataDir(t);
  const hardware = simulatedHardware();
  const { log } = arrayLog();
  const supervisor = new Supervisor({
    dataDir: data,
    launch: serveLaunch({ node: process.execPath, bundle: fakeServices, dataDir: data, portOffset: 0, ports: { http: 1 } }),
    resetCommand: { command: 'true', args: [] },
    hardware,
    log,
    timings: testTimings,
  });
  const spawned: unknown[] = [];
  supervisor.onEvent((e) => e.type === 'spawned' && spawned.push(e));
  const starting = supervisor.start();
  await supervisor.stop();
  await starting;
  t.deepEqual(spawned, []);
  t.is(hardware.watchdog.state, 'disarmed');
  t.is(supervisor.report.state, 'stopped');
});
