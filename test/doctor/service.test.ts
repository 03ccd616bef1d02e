// The doctor inside the real services process: it runs after its start
// delay, and on demand; an alarm (two failures in a row) shows in /healthz
// `alarms`, and the firmware's probe of that /healthz gives the degraded
// verdict, which the status LED shows as its degraded pattern.

import test from 'ava';
import { portsFor } from '../../firmware/launch.ts';
import { probeServices } from '../../firmware/probes.ts';
import { ledFor, stateOf, type StatusSnapshot } from '../../firmware/status.ts';
import { startDnsServer } from '../helpers/dns-server.ts';
import { startServices } from '../helpers/services.ts';
import { until } from '../hw/until.ts';
import { closedPort, goodZoneInNewFolder, openPort } from './helpers.ts';
import { Store } from '../../services/store/index.ts';

const timings = { lookupMs: 1500, probeMs: 1500 };

async function healthz(port: number): Promise<{ status: string; alarms: string[]; services: Record<string, { state: string }> }> {
  const response = await fetch(`http://127.0.0.1:${port}/healthz`);
  return (await response.json()) as never;
}

test('runs after its start delay, alarms on the second failure in a row, and the alarm reaches /healthz and the firmware verdict', async (t) => {
  const { data, zone } = goodZoneInNewFolder(t);
  const dns = await startDnsServer(t, zone);
  const blocked = await closedPort();
  const box = await startServices(t, {
    data,
    overrides: { 'dns-servers': dns.server, 'doctor-interval': '6h', 'doctor-port25-probe': `127.0.0.1:${blocked}`, 'doctor-dnsbls': 'bl.example.net' },
    doctor: { startDelayMs: 50, timings },
  });
  const doctor = box.services.doctor!;
  // The scheduled first run: a warning, not yet an alarm.
  await until(() => doctor.report().checkedAt !== null && !doctor.isRunning, 'the first scheduled run');
  t.like(doctor.report().findings.find((f) => f.id === 'port25'), { status: 'warning', failures: 1 });
  let report = await healthz(box.ports.web!);
  t.deepEqual(report.alarms, []);
  t.is(report.services.doctor!.state, 'running');
  const launch = { command: 'x', args: [], host: '127.0.0.1', ports: portsFor(0, { http: box.ports.web! }) };
  const options = { timeoutMs: 2000, greet: false, storageExplainsStoreFailure: false };
  t.like(await probeServices(launch, process.pid, options), { verdict: 'ok' });

  await doctor.runNow();
  const title = `Outbound port ${blocked} is blocked`;
  t.like(doctor.report(), { running: false });
  t.like(doctor.report().findings[0], { id: 'port25', status: 'alarm', failures: 2, title });
  report = await healthz(box.ports.web!);
  t.deepEqual(report.alarms, [title]);
  // The services themselves are fine: /healthz stays ok (and 200) for monitoring; the firmware reads the alarms.
  t.is(report.status, 'ok');
  const verdict = await probeServices(launch, process.pid, options);
  t.like(verdict, { verdict: 'degraded', detail: `doctor alarm: ${title}` });
  const snapshot: StatusSnapshot = { phase: 'running', warnings: [], storage: { state: 'ok' } as StatusSnapshot['storage'], lastVerdict: { at: new Date().toISOString(), verdict }, probeFailures: 0, lastRestart: null, failure: null, startError: null };
  t.is(ledFor(stateOf(snapshot), { buttonHeld: false, setupDone: true }), 'degraded');

  // The line is mended (the probe's far end answers now): the next run clears the alarm, and the LED with it.
  const listener = await openPort(t, blocked);
  await doctor.runNow();
  t.is(listener.accepted(), 1);
  t.deepEqual((await healthz(box.ports.web!)).alarms, []);
  t.like(await probeServices(launch, process.pid, options), { verdict: 'ok' });
});

test('runNow while a run is under way joins it; stop aborts a run in flight and records nothing', async (t) => {
  const { data, zone } = goodZoneInNewFolder(t);
  zone['mx.example.test'] = { silent: true };
  const dns = await startDnsServer(t, zone);
  const box = await startServices(t, { data, overrides: { 'dns-servers': dns.server }, doctor: { timings: { lookupMs: 60_000, probeMs: 1000 } } });
  const doctor = box.services.doctor!;
  const first = doctor.runNow();
  t.is(doctor.runNow(), first);
  t.true(doctor.report().running);
  await until(() => dns.queries.includes('A mx.example.test'), 'the hostname lookup');
  await box.services.stop();
  await first;
  t.false(doctor.isRunning);
  const store = Store.open(data);
  t.teardown(() => store.close());
  t.deepEqual(store.doctor.list(), []);
});
