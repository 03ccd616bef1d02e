// The restart policy and the meaning of sensor readings: pure functions.

import test from 'ava';
import { defaultThresholds, hardwareWarnings, storageCondition } from '../../firmware/conditions.ts';
import { ledPatterns, type LedPattern } from '../../firmware/led-patterns.ts';
import { backoffDelay, RestartPolicy } from '../../firmware/restart-policy.ts';
import type { DiskReading, SensorReadings } from '../../hw/sensors.ts';

test('backoff doubles from the base up to the maximum', (t) => {
  t.deepEqual(
    [0, 1, 2, 3, 4, 5, 6, 7].map((n) => backoffDelay(n, 1000, 60_000)),
    [1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000],
  );
  t.is(backoffDelay(1000, 1000, 60_000), 60_000);
});

test('recovery fails after maxRestarts within the window; stable() and time start the count again', (t) => {
  const policy = new RestartPolicy({ backoffBaseMs: 100, backoffMaxMs: 1000, maxRestarts: 3, windowMs: 10_000 });
  t.deepEqual(policy.next(0), { giveUp: false, attempt: 0, delayMs: 100 });
  t.deepEqual(policy.next(1000), { giveUp: false, attempt: 1, delayMs: 200 });
  t.deepEqual(policy.next(2000), { giveUp: false, attempt: 2, delayMs: 400 });
  t.deepEqual(policy.next(3000), { giveUp: true, recent: 3 });
  // The first restart leaves the window at 10 s.
  t.deepEqual(policy.next(10_500), { giveUp: false, attempt: 2, delayMs: 400 });
  policy.stable();
  t.is(policy.recentRestarts, 0);
  t.deepEqual(policy.next(11_000), { giveUp: false, attempt: 0, delayMs: 100 });
});

const GiB = 1024 ** 3;

function disk(usedPercent: number, extra: Partial<DiskReading> = {}): DiskReading & { path: string } {
  const size = 32 * GiB;
  const used = Math.round((size * usedPercent) / 100);
  return { path: '/data', mount: '/data', device: '/dev/sda1', sizeBytes: size, usedBytes: used, availableBytes: size - used, usedPercent, readOnly: false, ...extra };
}

function readings(extra: Partial<SensorReadings> = {}): SensorReadings {
  const data = disk(20);
  return {
    data,
    disks: [data],
    memory: { totalBytes: GiB, availableBytes: GiB / 2 },
    load: { avg1: 0, avg5: 0, avg15: 0 },
    temperatureC: 50,
    throttling: undefined,
    smart: undefined,
    readAt: new Date().toISOString(),
    ...extra,
  };
}

test('storage condition: nearly full above 95 % or under 64 MiB available; read-only from the mount', (t) => {
  t.is(storageCondition(disk(95)).state, 'ok');
  t.like(storageCondition(disk(95.1)), { state: 'nearly-full', detail: 'the data disk /data (/dev/sda1) is 95.1 % full (1.6 GiB available)' });
  t.is(storageCondition({ ...disk(50), availableBytes: 63 * 1024 * 1024 }).state, 'nearly-full');
  t.like(storageCondition(disk(10, { readOnly: true })), { state: 'read-only', detail: 'the data disk /data (/dev/sda1) is mounted read-only' });
  t.is(storageCondition(undefined).state, 'ok');
  t.is(storageCondition(disk(80), { ...defaultThresholds, nearlyFullPercent: 75 }).state, 'nearly-full');
});

test('warnings: full disks, heat, power, throttling, SMART, memory; a read-only boot partition is not one', (t) => {
  t.deepEqual(hardwareWarnings(readings()), []);
  t.deepEqual(hardwareWarnings(readings({ data: disk(91), disks: [disk(91)] })), ['disk /data (/dev/sda1) is 91 % full']);
  const boot: DiskReading = { mount: '/boot', device: '/dev/mmcblk0p1', sizeBytes: 100, usedBytes: 99, availableBytes: 1, usedPercent: 99, readOnly: true };
  const root: DiskReading = { mount: '/', device: '/dev/mmcblk0p2', sizeBytes: 100, usedBytes: 93, availableBytes: 7, usedPercent: 93, readOnly: false };
  t.deepEqual(hardwareWarnings(readings({ disks: [boot, root] })), ['disk / (/dev/mmcblk0p2) is 93 % full']);
  t.deepEqual(hardwareWarnings(readings({ data: disk(20, { readOnly: true }), disks: [] })), ['disk /data (/dev/sda1) is read-only']);
  t.deepEqual(hardwareWarnings(readings({ temperatureC: 75 })), ['the SoC is at 75 °C']);
  t.deepEqual(
    hardwareWarnings(
      readings({
        throttling: {
          raw: '0x50005',
          underVoltage: true,
          frequencyCapped: false,
          throttled: true,
          softTemperatureLimit: false,
          underVoltageOccurred: true,
          frequencyCappedOccurred: false,
          throttledOccurred: true,
          softTemperatureLimitOccurred: false,
        },
      }),
    ),
    ['under-voltage: the power supply is too weak', 'the CPU is throttled (vcgencmd get_throttled 0x50005)'],
  );
  t.deepEqual(hardwareWarnings(readings({ smart: [{ device: '/dev/sda', passed: false, detail: 'FAILED' }] })), ['SMART health check of /dev/sda failed: FAILED']);
  t.deepEqual(hardwareWarnings(readings({ memory: { totalBytes: GiB, availableBytes: GiB / 100 } })), ['memory is low (10.2 MiB available)']);
});

test('each LED pattern differs from the others on the status LED alone (but reset-pending, shown while the button is held)', (t) => {
  const shown = (Object.keys(ledPatterns) as LedPattern[]).filter((p) => p !== 'reset-pending');
  const signals = shown.map((p) => JSON.stringify(ledPatterns[p].status));
  t.is(new Set(signals).size, shown.length);
  t.deepEqual(ledPatterns.healthy.status, { mode: 'on' });
  t.deepEqual(ledPatterns.off.status, { mode: 'off' });
  t.deepEqual(ledPatterns.failed.alert, { mode: 'on' });
});
