// The watchdog: the Linux backend against a regular file standing in for
// /dev/watchdog and a fake sysfs tree; the simulated one's countdown.

import test from 'ava';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { LinuxWatchdog, readWatchdogTimeout, SimulatedWatchdog, sysfsNameFor } from '../../hw/watchdog.ts';
import { until } from './until.ts';
import { fakeTree } from './fake-sysfs.ts';

test('keep-alives are written, and a clean stop ends with the magic V', async (t) => {
  const tree = fakeTree(t);
  tree.write({ 'class/watchdog/watchdog0/timeout': '30\n' });
  const device = tree.path('watchdog');
  writeFileSync(device, '');
  const watchdog = new LinuxWatchdog(device, tree.root);
  await watchdog.open();
  t.is(watchdog.timeoutMs, 30_000);
  t.regex(watchdog.description, /watchdog \(timeout 30 s\)$/);
  await watchdog.keepAlive();
  await watchdog.keepAlive();
  await watchdog.disarm();
  t.is(readFileSync(device, 'utf8'), '..V');
  // Disarming twice does nothing more.
  await watchdog.disarm();
  t.is(readFileSync(device, 'utf8'), '..V');
  await t.throwsAsync(watchdog.keepAlive(), { message: /is not open/ });
});

test('the timeout comes from the sysfs node of the device, or stays unknown', async (t) => {
  const tree = fakeTree(t);
  tree.write({ 'class/watchdog/watchdog1/timeout': '15\n' });
  t.is(sysfsNameFor('/dev/watchdog'), 'watchdog0');
  t.is(sysfsNameFor('/dev/watchdog1'), 'watchdog1');
  t.is(await readWatchdogTimeout('/dev/watchdog1', tree.root), 15);
  t.is(await readWatchdogTimeout('/dev/watchdog', tree.root), undefined);
});

test('a missing device is an error and is never created', async (t) => {
  const tree = fakeTree(t);
  const device = tree.path('watchdog');
  const watchdog = new LinuxWatchdog(device, tree.root);
  await t.throwsAsync(watchdog.open(), { code: 'ENOENT' });
  t.false(existsSync(device));
  t.is(watchdog.timeoutMs, undefined);
});

test('the simulated watchdog expires without keep-alives', async (t) => {
  let expired = 0;
  const watchdog = new SimulatedWatchdog({ timeoutMs: 50, onExpire: () => expired++ });
  await watchdog.open();
  await until(() => expired === 1, 'expiry');
  t.is(watchdog.state, 'expired');
  await t.throwsAsync(watchdog.keepAlive(), { message: /expired/ });
});

test('keep-alives hold the simulated watchdog off, and disarm() stops it for good', async (t) => {
  let expired = 0;
  const watchdog = new SimulatedWatchdog({ timeoutMs: 300, onExpire: () => expired++ });
  await watchdog.open();
  const timer = setInterval(() => void watchdog.keepAlive(), 20);
  await until(() => watchdog.keepAlives >= 20, 'twenty keep-alives');
  clearInterval(timer);
  t.is(expired, 0);
  await watchdog.disarm();
  t.is(watchdog.state, 'disarmed');
  await new Promise((resolve) => setTimeout(resolve, 350));
  t.is(expired, 0);
});
