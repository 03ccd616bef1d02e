// Sensors: the parsers, the Linux backend against fake /sys and /proc trees
// with stand-ins for vcgencmd, smartctl and systeminformation, and the
// simulated sensors.

import test from 'ava';
import { realpathSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  diskFromStatfs,
  diskOfPartition,
  LinuxSensors,
  mountOf,
  parseMounts,
  parseSmart,
  parseThrottled,
  SimulatedSensors,
  type RunTool,
  type SystemInformation,
} from '../../hw/sensors.ts';
import { tempDataDir } from '../helpers/data-dir.ts';
import { fakeTree } from './fake-sysfs.ts';

test('get_throttled flags', (t) => {
  t.like(parseThrottled('throttled=0x50005\n'), {
    raw: '0x50005',
    underVoltage: true,
    frequencyCapped: false,
    throttled: true,
    underVoltageOccurred: true,
    throttledOccurred: true,
    frequencyCappedOccurred: false,
  });
  t.like(parseThrottled('throttled=0x0'), { underVoltage: false, throttled: false, underVoltageOccurred: false });
  t.is(parseThrottled('error'), undefined);
});

test('mounts: parsed with their escapes, and the one holding a path found', (t) => {
  const mounts = parseMounts(
    ['/dev/root / ext4 ro,relatime 0 0', '/dev/sda1 /data ext4 rw,noatime 0 0', 'tmpfs /data/run tmpfs rw 0 0', '/dev/sdb1 /media/my\\040disk vfat rw 0 0', ''].join('\n'),
  );
  t.is(mounts.length, 4);
  t.is(mounts[3]!.mount, '/media/my disk');
  t.is(mountOf('/data/mail/x', mounts)?.device, '/dev/sda1');
  t.is(mountOf('/data', mounts)?.device, '/dev/sda1');
  t.is(mountOf('/database', mounts)?.device, '/dev/root');
  t.is(mountOf('/data/run/x', mounts)?.fsType, 'tmpfs');
});

test('the whole disk of a partition, for smartctl', (t) => {
  t.is(diskOfPartition('/dev/sda1'), '/dev/sda');
  t.is(diskOfPartition('/dev/sdb'), '/dev/sdb');
  t.is(diskOfPartition('/dev/nvme0n1p2'), '/dev/nvme0n1');
  t.is(diskOfPartition('/dev/mmcblk0p2'), undefined);
  t.is(diskOfPartition('/dev/root'), undefined);
});

test('smartctl -H -j output', (t) => {
  t.like(parseSmart('/dev/sda', JSON.stringify({ smart_status: { passed: true } }), 0), { passed: true, detail: 'PASSED' });
  t.like(parseSmart('/dev/sda', JSON.stringify({ smart_status: { passed: false }, smartctl: { messages: [{ string: 'reallocated sectors' }] } }), 8), {
    passed: false,
    detail: 'FAILED: reallocated sectors',
  });
  t.like(parseSmart('/dev/sda', JSON.stringify({ smartctl: { messages: [{ string: 'Device is in STANDBY mode' }] } }), 2), { passed: undefined, detail: 'Device is in STANDBY mode' });
  t.like(parseSmart('/dev/sda', 'garbage', 1), { passed: undefined });
});

test('percentages are of the space a user can have, as df counts them', (t) => {
  // 1000 blocks, 100 free of which 50 available to users: 900 used of 950 usable.
  const disk = diskFromStatfs('/data', { bsize: 4096, blocks: 1000, bfree: 100, bavail: 50 });
  t.is(disk.usedBytes, 900 * 4096);
  t.is(disk.availableBytes, 50 * 4096);
  t.is(disk.usedPercent, 94.7);
});

function fakeBoard(t: import('ava').ExecutionContext, options: { dataMountOptions?: string } = {}) {
  const tree = fakeTree(t);
  const data = realpathSync(tempDataDir(t));
  tree.write({
    'proc/self/mounts': [`/dev/vda1 / ext4 rw,relatime 0 0`, `tmpfs /run tmpfs rw 0 0`, `/dev/loop0 /snap/x squashfs ro 0 0`, `/dev/sda1 ${data} ext4 ${options.dataMountOptions ?? 'rw,noatime'} 0 0`].join('\n') + '\n',
    'proc/meminfo': 'MemTotal:        1000000 kB\nMemFree:          100000 kB\nMemAvailable:     400000 kB\n',
    'sys/class/thermal/thermal_zone0/type': 'acpitz\n',
    'sys/class/thermal/thermal_zone0/temp': '40000\n',
    'sys/class/thermal/thermal_zone1/type': 'cpu-thermal\n',
    'sys/class/thermal/thermal_zone1/temp': '51234\n',
  });
  const calls: string[] = [];
  const runTool: RunTool = async (command, args) => {
    calls.push([command, ...args].join(' '));
    if (command === 'vcgencmd') return { code: 0, stdout: 'throttled=0x50005\n' };
    if (command === 'smartctl') return { code: 0, stdout: JSON.stringify({ smart_status: { passed: true } }) };
    return undefined;
  };
  return { tree, data, calls, runTool };
}

test('the Linux sensors read the data disk, the others, memory, temperature, throttling and SMART', async (t) => {
  const { tree, data, calls, runTool } = fakeBoard(t);
  const sensors = new LinuxSensors({ dataDir: data, sysfsRoot: tree.path('sys'), procRoot: tree.path('proc'), runTool, systemInformation: async () => undefined });
  const r = await sensors.read();
  t.like(r.data, { path: data, mount: data, device: '/dev/sda1', fsType: 'ext4', readOnly: false });
  t.true(r.data!.sizeBytes > 0 && r.data!.usedPercent >= 0 && r.data!.usedPercent <= 100);
  // Without systeminformation: every /dev file system but loop devices and images, from statfs.
  t.deepEqual(
    r.disks.map((d) => d.device),
    ['/dev/vda1', '/dev/sda1'],
  );
  t.deepEqual(r.memory, { totalBytes: 1000000 * 1024, availableBytes: 400000 * 1024 });
  t.is(r.temperatureC, 51.2);
  t.like(r.throttling, { underVoltage: true, throttled: true });
  t.deepEqual(r.smart, [{ device: '/dev/sda', passed: true, detail: 'PASSED' }]);
  t.is(typeof r.load.avg1, 'number');
  t.false(Number.isNaN(Date.parse(r.readAt)));

  // smartctl is asked once per interval, never waking a sleeping disk.
  await sensors.read();
  t.deepEqual(
    calls.filter((c) => c.startsWith('smartctl')),
    ['smartctl -H -j -n standby /dev/sda'],
  );
});

test('a data disk remounted read-only is seen', async (t) => {
  const { tree, data, runTool } = fakeBoard(t, { dataMountOptions: 'ro,noatime' });
  const sensors = new LinuxSensors({ dataDir: data, sysfsRoot: tree.path('sys'), procRoot: tree.path('proc'), runTool, systemInformation: async () => undefined });
  t.true((await sensors.read()).data?.readOnly);
});

test('tools that are not installed are not asked again, and their readings stay undefined', async (t) => {
  const { tree, data } = fakeBoard(t);
  const calls: string[] = [];
  const sensors = new LinuxSensors({
    dataDir: data,
    sysfsRoot: tree.path('sys'),
    procRoot: tree.path('proc'),
    runTool: async (command) => {
      calls.push(command);
      return undefined;
    },
    systemInformation: async () => undefined,
    smartIntervalMs: 0,
  });
  const first = await sensors.read();
  await sensors.read();
  t.is(first.throttling, undefined);
  t.is(first.smart, undefined);
  t.deepEqual(calls.sort(), ['smartctl', 'vcgencmd']);
});

test('with systeminformation, disks, memory and CPU load come from it', async (t) => {
  const { tree, data, runTool } = fakeBoard(t);
  const si: SystemInformation = {
    fsSize: async () => [
      { fs: '/dev/sda1', type: 'ext4', size: 1000, used: 950, available: 50, mount: '/data', rw: true },
      { fs: 'tmpfs', type: 'tmpfs', size: 10, used: 1, available: 9, mount: '/run', rw: true },
      { fs: '/dev/mmcblk0p1', type: 'vfat', size: 100, used: 99, available: 1, mount: '/boot', rw: false },
    ],
    mem: async () => ({ total: 2048, available: 1024 }),
    currentLoad: async () => ({ currentLoad: 12.345 }),
  };
  const sensors = new LinuxSensors({ dataDir: data, sysfsRoot: tree.path('sys'), procRoot: tree.path('proc'), runTool, systemInformation: async () => si });
  const r = await sensors.read();
  t.deepEqual(
    r.disks.map((d) => [d.mount, d.usedPercent, d.readOnly]),
    [
      ['/data', 95, false],
      ['/boot', 99, true],
    ],
  );
  t.deepEqual(r.memory, { totalBytes: 2048, availableBytes: 1024 });
  t.is(r.load.cpuPercent, 12.3);
});

test('on a machine without thermal zones or /proc files, readings are undefined rather than errors', async (t) => {
  const tree = fakeTree(t);
  const sensors = new LinuxSensors({ dataDir: tree.path('missing'), sysfsRoot: tree.path('sys'), procRoot: tree.path('proc'), runTool: async () => undefined, systemInformation: async () => undefined });
  const r = await sensors.read();
  t.is(r.data, undefined);
  t.deepEqual(r.disks, []);
  t.is(r.temperatureC, undefined);
  t.truthy(r.memory);
});

test('simulated sensors: conditions set by code, or by a file in development', async (t) => {
  const dir = tempDataDir(t);
  const file = join(dir, 'simulated-sensors.json');
  const sensors = new SimulatedSensors({ dataUsedPercent: 40 }, file);
  t.like((await sensors.read()).data, { usedPercent: 40, readOnly: false });
  sensors.set({ underVoltage: true, smartPassed: false });
  const r = await sensors.read();
  t.like(r.throttling, { underVoltage: true, underVoltageOccurred: true, throttled: false });
  t.like(r.smart?.[0], { passed: false });
  writeFileSync(file, JSON.stringify({ dataUsedPercent: 97, dataReadOnly: true }));
  t.like((await sensors.read()).data, { usedPercent: 97, readOnly: true });
  writeFileSync(file, '{half');
  t.like((await sensors.read()).data, { usedPercent: 40 });
});
