// End to end: the supervisor runs the real, bundled `mailnest serve` (run
// `make build` first), probes it, restarts it when it is killed, and its
// report reaches /healthz through <data>/run/supervisor.json. The factory
// reset runs the real `mailnest config reset --all`. A port in use and a bad
// stored setting make the real `serve` refuse to start: no restart, the
// cannot-start pattern, and a new start once the cause is gone.

import test from 'ava';
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { resetCommandLine, serveLaunch } from '../../firmware/launch.ts';
import { ledPatterns } from '../../firmware/led-patterns.ts';
import { Store } from '../../services/store/index.ts';
import { cliOk, repoRoot } from '../helpers/cli.ts';
import { startSupervisor, until, type Harness, type HarnessOptions } from './helpers.ts';

const bundle = join(repoRoot, 'dist', 'mailnest.js');

async function healthz(port: number): Promise<Record<string, any>> {
  const response = await fetch(`http://127.0.0.1:${port}/healthz`, { headers: { connection: 'close' } });
  return (await response.json()) as Record<string, any>;
}

test('the supervisor runs `mailnest serve`, restarts it when killed, and /healthz carries its report', async (t) => {
  if (!existsSync(bundle)) throw new Error('dist/mailnest.js is missing: run `make build` (make test does it) before the tests');
  const node = { node: process.execPath, nodeFlags: ['--enable-source-maps'], bundle };
  const h = await startSupervisor(t, {
    launch: (data, ports) => serveLaunch({ ...node, dataDir: data, portOffset: 0, ports, listen: '127.0.0.1', extra: ['--hostname', 'mx.example.test', '--doctor-interval', 'off'] }),
    resetCommand: (data) => resetCommandLine({ ...node, dataDir: data }),
    timings: { probeIntervalMs: 100, greetingIntervalMs: 300, stopTimeoutMs: 10_000, startTimeoutMs: 60_000 },
  });
  const port = h.launch.ports.http;
  const first = await h.waitFor('healthy', undefined, { timeoutMs: 60_000 });
  // A fresh data folder has no domain and no user yet.
  await h.waitFor('state', (e) => e.led === 'setup-not-done');

  await until(async () => (await healthz(port)).supervisor?.led === 'setup-not-done', '/healthz to carry the supervisor report', 20_000);
  const before = await healthz(port);
  t.is(before.pid, first.pid);
  t.like(before.supervisor, { state: 'healthy', led: 'setup-not-done', services: { restarts: 0 }, storage: { state: 'ok' }, hardware: 'simulated' });

  // A greeting round has passed against the real SMTP service.
  const probes = h.events.length;
  await until(() => h.events.slice(probes).filter((e) => e.type === 'probe' && e.verdict.verdict === 'ok').length >= 5, 'five good probe rounds', 20_000);
  t.false(h.events.some((e) => e.type === 'restart'));

  const from = h.events.length;
  process.kill(first.pid!, 'SIGKILL');
  const restart = await h.waitFor('restart', undefined, { from });
  t.regex(restart.reason, /killed by SIGKILL/);
  await h.waitFor('state', (e) => e.led === 'degraded', { from });
  const second = await h.waitFor('healthy', undefined, { from, timeoutMs: 60_000 });
  await until(async () => {
    const report = (await healthz(port)).supervisor;
    return report?.services?.pid === second.pid && report.state === 'healthy';
  }, '/healthz to name the new pid', 20_000);
  const after = await healthz(port);
  t.is(after.pid, second.pid);
  t.like(after.supervisor, { services: { restarts: 1 } });
  t.regex(after.supervisor.services.lastRestart.reason, /killed by SIGKILL/);

  // Setting up by CLI (a domain, a user, the admin password: the setup is complete) turns the LED to healthy.
  await cliOk(['domain', 'add', 'example.test'], { data: h.data });
  await cliOk(['user', 'add', 'alice@example.test', '--password-stdin'], { data: h.data, stdin: 'sesame-tulip-42\n' });
  await cliOk(['setup', 'admin-password', '--password-stdin'], { data: h.data, stdin: 'correct horse battery staple\n' });
  await h.waitFor('state', (e) => e.led === 'healthy', { from });

  // The factory reset forgets stored settings and keeps accounts.
  await cliOk(['config', 'set', 'max-recipients', '5'], { data: h.data });
  const resetFrom = h.events.length;
  h.supervisor.factoryReset('test');
  const done = await h.waitFor('factory-reset', (e) => e.phase === 'done', { from: resetFrom, timeoutMs: 60_000 });
  t.true(done.ok, done.detail);
  await h.waitFor('healthy', undefined, { from: resetFrom, timeoutMs: 60_000 });
  t.regex(await cliOk(['config', 'get', 'max-recipients'], { data: h.data }), /^100\b/);
  t.regex(await cliOk(['user', 'list'], { data: h.data }), /alice@example\.test/);
});

const node = { node: process.execPath, nodeFlags: ['--enable-source-maps'], bundle };

/** The real serve under the supervisor, with the refusal timings short. */
function startRealServe(t: Parameters<typeof startSupervisor>[0], prepare: HarnessOptions['prepare']): Promise<Harness> {
  if (!existsSync(bundle)) throw new Error('dist/mailnest.js is missing: run `make build` (make test does it) before the tests');
  return startSupervisor(t, {
    launch: (data, ports) => serveLaunch({ ...node, dataDir: data, portOffset: 0, ports, listen: '127.0.0.1', extra: ['--hostname', 'mx.example.test', '--doctor-interval', 'off'] }),
    resetCommand: (data) => resetCommandLine({ ...node, dataDir: data }),
    timings: { probeIntervalMs: 100, greetingIntervalMs: 300, stopTimeoutMs: 10_000, startTimeoutMs: 60_000, startRefusedCheckMs: 100, startRefusedMinGapMs: 100, maxRestarts: 2, backoffBaseMs: 20 },
    prepare,
  });
}

/** Cannot-start shown, the watchdog petted on through many rounds, one start only, one report. */
async function assertWaiting(t: Parameters<typeof startSupervisor>[0], h: Harness): Promise<void> {
  await h.waitFor('state', (e) => e.state === 'cannot-start' && e.led === 'cannot-start', { timeoutMs: 60_000 });
  t.deepEqual(h.hardware.statusLed.signal, ledPatterns['cannot-start'].status);
  const pets = h.hardware.watchdog.keepAlives;
  await until(() => h.hardware.watchdog.keepAlives >= pets + 40, '40 more keep-alives', 30_000);
  t.is(h.hardware.watchdog.state, 'armed');
  t.is(h.events.filter((e) => e.type === 'spawned').length, 1);
  t.false(h.events.some((e) => e.type === 'restart' || e.type === 'failed'));
  t.is(h.lines.filter((l) => l.startsWith('error ')).length, 1);
}

test('a port in use: the real serve refuses once, the supervisor waits, and starts it when the port is free', async (t) => {
  let blocker: Server | undefined;
  t.teardown(() => new Promise<void>((resolve) => (blocker?.listening ? blocker.close(() => resolve()) : resolve())));
  const h = await startRealServe(t, async (_data, launch) => {
    blocker = createServer((socket) => socket.destroy());
    await new Promise<void>((resolve, reject) => {
      blocker!.once('error', reject);
      blocker!.listen(launch.ports.smtp, '127.0.0.1', resolve);
    });
  });
  const port = h.launch.ports.smtp;
  const refused = await h.waitFor('start-refused', undefined, { timeoutMs: 60_000 });
  t.is(refused.message, `smtp: port ${port} on 127.0.0.1 is already in use (is another Mailnest running?)`);
  t.regex(h.output(), new RegExp(`mailnest: smtp: port ${port} on 127\\.0\\.0\\.1 is already in use`));
  await assertWaiting(t, h);

  const from = h.events.length;
  await new Promise<void>((resolve) => blocker!.close(() => resolve()));
  t.like(await h.waitFor('retry', undefined, { from }), { why: `port ${port} on 127.0.0.1 is free again` });
  await h.waitFor('healthy', undefined, { from, timeoutMs: 60_000 });
  await h.waitFor('state', (e) => e.led === 'setup-not-done', { from });
  t.false(existsSync(join(h.data, 'run', 'start-error.json')));
});

test('a bad stored setting: the real serve refuses once, and `config set` lets it start', async (t) => {
  const h = await startRealServe(t, (data) => {
    // As a value stored by another version would be: `config set` itself refuses it.
    const store = Store.open(data);
    store.settings.set('max-recipients', 0);
    store.close();
  });
  const refused = await h.waitFor('start-refused', undefined, { timeoutMs: 60_000 });
  t.is(refused.message, 'setting max-recipients: 0 is outside 1..10000 (stored in the database); expected a whole number from 1 to 10000');
  await assertWaiting(t, h);

  const from = h.events.length;
  await cliOk(['config', 'set', 'max-recipients', '5'], { data: h.data });
  t.like(await h.waitFor('retry', undefined, { from }), { why: 'the stored settings changed' });
  await h.waitFor('healthy', undefined, { from, timeoutMs: 60_000 });
  t.false(h.events.some((e) => e.type === 'restart'));
});
