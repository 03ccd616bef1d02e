// The button claims a fresh box: a short press makes the supervisor write
// <data>/run/button-press; against the real, bundled `mailnest serve`, the
// one browser waiting on the setup page is let in, and once the wizard is
// complete the setup-not-done LED gives way.

import test from 'ava';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { serveLaunch } from '../../firmware/launch.ts';
import { repoRoot } from '../helpers/cli.ts';
import { testPassword } from '../helpers/accounts.ts';
import { boxCertificate, WebClient } from '../helpers/web-client.ts';
import { startSupervisor, until } from './helpers.ts';

const bundle = join(repoRoot, 'dist', 'mailnest.js');

test('a short press writes run/button-press with the time and source button', async (t) => {
  const h = await startSupervisor(t, { timings: { longPressMs: 5_000 } });
  await h.waitFor('state', (e) => e.led === 'healthy');
  const before = Date.now();
  const from = h.events.length;
  h.hardware.button.press();
  await h.waitFor('button', (e) => e.action === 'press', { from });
  const path = join(h.data, 'run', 'button-press');
  await until(() => existsSync(path), 'run/button-press');
  const press = JSON.parse(readFileSync(path, 'utf8')) as { at: string; source: string; pid: number };
  t.is(press.source, 'button');
  t.is(press.pid, process.pid);
  t.true(Date.parse(press.at) >= before - 1000);
  h.hardware.button.release();
  await h.waitFor('button', (e) => e.action === 'release', { from });
});

test('end to end: the button of the simulated board claims the box for the waiting browser of the real serve', async (t) => {
  if (!existsSync(bundle)) throw new Error('dist/mailnest.js is missing: run `make build` (make test does it) before the tests');
  const node = { node: process.execPath, nodeFlags: ['--enable-source-maps'], bundle };
  const h = await startSupervisor(t, {
    launch: (data, ports) => serveLaunch({ ...node, dataDir: data, portOffset: 0, ports, listen: '127.0.0.1', extra: ['--hostname', 'mx.example.test'] }),
    timings: { probeIntervalMs: 100, greetingIntervalMs: 300, stopTimeoutMs: 10_000, startTimeoutMs: 60_000, longPressMs: 30_000 },
  });
  await h.waitFor('healthy', undefined, { timeoutMs: 60_000 });
  await h.waitFor('state', (e) => e.led === 'setup-not-done');
  const browser = new WebClient(h.launch.ports.https, boxCertificate(h.data));
  t.is((await browser.get('/api/setup')).body.state, 'unclaimed');
  t.is((await browser.post('/api/setup/claim', { method: 'button' })).status, 202);

  const pressedFrom = h.events.length;
  h.hardware.button.press();
  await h.waitFor('button', (e) => e.action === 'press', { from: pressedFrom });
  h.hardware.button.release();
  let answer = await browser.get('/api/setup/claim');
  const deadline = Date.now() + 20_000;
  while (answer.status === 202 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    answer = await browser.get('/api/setup/claim');
  }
  t.is(answer.status, 200, answer.text);
  t.true(answer.body.claimed);

  // The wizard's steps, then the LED shows the box as set up.
  t.is((await browser.post('/api/setup/admin-password', { password: 'correct horse battery staple' })).status, 200);
  t.is((await browser.put('/api/setup/identity', { hostname: 'mx.example.test', domain: 'example.test' })).status, 200);
  const { cliOk } = await import('../helpers/cli.ts');
  await cliOk(['user', 'add', 'owner@example.test', '--password-stdin'], { data: h.data, stdin: testPassword });
  t.is((await browser.post('/api/setup/complete')).status, 200);
  const from = h.events.length;
  await h.waitFor('state', (e) => e.led === 'healthy', { from, timeoutMs: 20_000 });
  t.false(existsSync(join(h.data, 'setup-code')));
});
