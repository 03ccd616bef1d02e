// Sensors: how full and how healthy the disks are, memory, load, the SoC's
// temperature and a Raspberry Pi's power and throttling flags, in one reading.
//
// - LinuxSensors reads the file system holding the data folder with statfs and
//   <proc>/self/mounts (so a remount read-only is seen at once), the other disks,
//   memory and CPU load through systeminformation (loaded with import() when
//   first needed; without it, /proc and statfs answer), the temperature from
//   <sysfs>/class/thermal, `vcgencmd get_throttled` and `smartctl -H` when
//   those tools exist.
// - SimulatedSensors answers from conditions set by code (tests) or, in
//   development, from a JSON file a person can edit to play "disk full".
//
// Invariants:
// - read() never throws for a missing tool or file: what cannot be read is
//   undefined, and a tool that is not installed is not asked again.
// - Percentages are of the space a user can have, as df counts them: used /
//   (used + available), so blocks reserved for root count as unavailable.
// - smartctl runs at most once per smartIntervalMs and never wakes a sleeping
//   disk (-n standby).
// - The sysfs and proc roots are parameters, so tests run against a fake tree.

import { execFile } from 'node:child_process';
import { readdir, readFile, realpath, statfs } from 'node:fs/promises';
import { loadavg, freemem, totalmem } from 'node:os';
import { join } from 'node:path';

export interface DiskReading {
  /** Where it is mounted, e.g. /data. */
  mount: string;
  /** e.g. /dev/sda1, when known. */
  device?: string;
  fsType?: string;
  sizeBytes: number;
  usedBytes: number;
  availableBytes: number;
  /** used / (used + available), 0..100, one decimal. */
  usedPercent: number;
  readOnly: boolean;
}

/** The flags of `vcgencmd get_throttled` (Raspberry Pi firmware). */
export interface ThrottleReading {
  /** As printed, e.g. 0x50005. */
  raw: string;
  underVoltage: boolean;
  frequencyCapped: boolean;
  throttled: boolean;
  softTemperatureLimit: boolean;
  underVoltageOccurred: boolean;
  frequencyCappedOccurred: boolean;
  throttledOccurred: boolean;
  softTemperatureLimitOccurred: boolean;
}

export interface SmartReading {
  device: string;
  /** The overall health self-assessment; undefined when smartctl could not tell. */
  passed: boolean | undefined;
  detail: string;
}

export interface SensorReadings {
  /** The file system holding the data folder. */
  data: (DiskReading & { path: string }) | undefined;
  /** Every writable or readable disk file system (not tmpfs, not squashfs images). */
  disks: DiskReading[];
  memory: { totalBytes: number; availableBytes: number } | undefined;
  load: { avg1: number; avg5: number; avg15: number; cpuPercent?: number };
  /** SoC temperature in °C, when a thermal zone exposes one. */
  temperatureC: number | undefined;
  /** Undefined without vcgencmd (any board but a Raspberry Pi). */
  throttling: ThrottleReading | undefined;
  /** Undefined without smartctl or without a disk it can ask. */
  smart: SmartReading[] | undefined;
  readAt: string;
}

export interface Sensors {
  read(): Promise<SensorReadings>;
}

// ---------------------------------------------------------------- parsing

export function parseThrottled(output: string): ThrottleReading | undefined {
  const match = /throttled=(0x[0-9a-f]+)/i.exec(output);
  if (!match) return undefined;
  const bits = parseInt(match[1]!, 16);
  const bit = (n: number) => (bits & (1 << n)) !== 0;
  return {
    raw: match[1]!,
    underVoltage: bit(0),
    frequencyCapped: bit(1),
    throttled: bit(2),
    softTemperatureLimit: bit(3),
    underVoltageOccurred: bit(16),
    frequencyCappedOccurred: bit(17),
    throttledOccurred: bit(18),
    softTemperatureLimitOccurred: bit(19),
  };
}

export interface MountEntry {
  device: string;
  mount: string;
  fsType: string;
  options: string[];
}

/** Parses /proc/self/mounts; octal escapes (\040 for a space) are undone. */
export function parseMounts(text: string): MountEntry[] {
  const unescape = (s: string) => s.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
  const entries: MountEntry[] = [];
  for (const line of text.split('\n')) {
    const [device, mount, fsType, options] = line.trim().split(/\s+/);
    if (!device || !mount || !fsType || !options) continue;
    entries.push({ device: unescape(device), mount: unescape(mount), fsType, options: options.split(',') });
  }
  return entries;
}

/** The mount holding path: the longest mount point that is path or a parent of it; the last one mounted wins a tie. */
export function mountOf(path: string, mounts: MountEntry[]): MountEntry | undefined {
  let best: MountEntry | undefined;
  for (const entry of mounts) {
    const prefix = entry.mount === '/' ? '/' : entry.mount + '/';
    if (path !== entry.mount && !path.startsWith(prefix)) continue;
    if (!best || entry.mount.length >= best.mount.length) best = entry;
  }
  return best;
}

/** The whole disk a partition belongs to, for smartctl: /dev/sda1 → /dev/sda, /dev/nvme0n1p2 → /dev/nvme0n1. SD cards have no SMART. */
export function diskOfPartition(device: string): string | undefined {
  if (/^\/dev\/mmcblk/.test(device)) return undefined;
  const nvme = /^(\/dev\/nvme\d+n\d+)(p\d+)?$/.exec(device);
  if (nvme) return nvme[1];
  const scsi = /^(\/dev\/[sh]d[a-z]+)\d*$/.exec(device);
  return scsi?.[1];
}

/** Parses `smartctl -H -j` output (JSON); exit status bits are smartctl's. */
export function parseSmart(device: string, stdout: string, exitCode: number): SmartReading {
  try {
    const json = JSON.parse(stdout) as { smart_status?: { passed?: boolean }; smartctl?: { messages?: { string?: string }[] } };
    const passed = typeof json.smart_status?.passed === 'boolean' ? json.smart_status.passed : undefined;
    const messages = (json.smartctl?.messages ?? []).map((m) => m.string).filter(Boolean).join('; ');
    return { device, passed, detail: passed === undefined ? messages || `smartctl exit status ${exitCode}` : passed ? 'PASSED' : `FAILED${messages ? `: ${messages}` : ''}` };
  } catch {
    return { device, passed: undefined, detail: `smartctl gave no JSON (exit status ${exitCode})` };
  }
}

const imageFileSystems = new Set(['squashfs', 'erofs', 'iso9660', 'cramfs']);

function round1(n: number): number {
  return Math.round(n * 10) / 10;
}

function round2(n: number): number {
  return Math.round(n * 100) / 100;
}

export function diskFromStatfs(mount: string, stats: { bsize: number; blocks: number; bfree: number; bavail: number }, extra: Partial<DiskReading> = {}): DiskReading {
  const size = stats.blocks * stats.bsize;
  const used = (stats.blocks - stats.bfree) * stats.bsize;
  const available = stats.bavail * stats.bsize;
  return {
    mount,
    sizeBytes: size,
    usedBytes: used,
    availableBytes: available,
    usedPercent: used + available > 0 ? round1((used / (used + available)) * 100) : 0,
    readOnly: false,
    ...extra,
  };
}

// ---------------------------------------------------------------- tools

export interface ToolResult {
  code: number;
  stdout: string;
}

/** Runs a tool; undefined when it is not installed. */
export type RunTool = (command: string, args: string[], timeoutMs: number) => Promise<ToolResult | undefined>;

export const runTool: RunTool = (command, args, timeoutMs) =>
  new Promise((resolve) => {
    execFile(command, args, { timeout: timeoutMs, maxBuffer: 1024 * 1024, encoding: 'utf8' }, (error, stdout) => {
      if (!error) return resolve({ code: 0, stdout });
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'EACCES') return resolve(undefined);
      resolve({ code: typeof code === 'number' ? code : 1, stdout: stdout ?? '' });
    });
  });

/** The part of systeminformation used here (version 5). */
export interface SystemInformation {
  fsSize(): Promise<{ fs: string; type: string; size: number; used: number; available: number; mount: string; rw?: boolean | null }[]>;
  mem(): Promise<{ total: number; available: number }>;
  currentLoad(): Promise<{ currentLoad: number }>;
}

export async function loadSystemInformation(): Promise<SystemInformation | undefined> {
  // A specifier in a variable: left to run time by esbuild, no types needed by tsc.
  const name = 'systeminformation';
  try {
    const loaded = (await import(name)) as Partial<SystemInformation> & { default?: SystemInformation };
    const si = (loaded.fsSize ? loaded : loaded.default) as SystemInformation | undefined;
    return si && typeof si.fsSize === 'function' ? si : undefined;
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------- Linux

export interface LinuxSensorsOptions {
  dataDir: string;
  sysfsRoot?: string;
  procRoot?: string;
  runTool?: RunTool;
  /** Returns undefined when the package is not installed. */
  systemInformation?: () => Promise<SystemInformation | undefined>;
  smartIntervalMs?: number;
  toolTimeoutMs?: number;
}

export class LinuxSensors implements Sensors {
  private readonly sysfsRoot: string;
  private readonly procRoot: string;
  private readonly run: RunTool;
  private readonly smartIntervalMs: number;
  private readonly toolTimeoutMs: number;
  private si: Promise<SystemInformation | undefined> | undefined;
  private readonly missingTools = new Set<string>();
  private smartCache: { at: number; device: string; readings: SmartReading[] | undefined } | undefined;

  constructor(private readonly options: LinuxSensorsOptions) {
    this.sysfsRoot = options.sysfsRoot ?? '/sys';
    this.procRoot = options.procRoot ?? '/proc';
    this.run = options.runTool ?? runTool;
    this.smartIntervalMs = options.smartIntervalMs ?? 3_600_000;
    this.toolTimeoutMs = options.toolTimeoutMs ?? 10_000;
  }

  /** Whether systeminformation was found (after the first read). */
  async hasSystemInformation(): Promise<boolean> {
    return (await this.systemInformation()) !== undefined;
  }

  async read(): Promise<SensorReadings> {
    const mounts = parseMounts(await readFile(join(this.procRoot, 'self', 'mounts'), 'utf8').catch(() => ''));
    const si = await this.systemInformation();
    const data = await this.readDataDisk(mounts);
    const [disks, memory, cpuPercent, temperatureC, throttling, smart] = await Promise.all([
      this.readDisks(mounts, si),
      this.readMemory(si),
      si ? si.currentLoad().then((l) => round1(l.currentLoad), () => undefined) : Promise.resolve(undefined),
      this.readTemperature(),
      this.readThrottling(),
      this.readSmart(data?.device),
    ]);
    const [avg1, avg5, avg15] = loadavg() as [number, number, number];
    return {
      data,
      disks,
      memory,
      load: { avg1: round2(avg1), avg5: round2(avg5), avg15: round2(avg15), ...(cpuPercent === undefined ? {} : { cpuPercent }) },
      temperatureC,
      throttling,
      smart,
      readAt: new Date().toISOString(),
    };
  }

  private systemInformation(): Promise<SystemInformation | undefined> {
    this.si ??= (this.options.systemInformation ?? loadSystemInformation)();
    return this.si;
  }

  private async readDataDisk(mounts: MountEntry[]): Promise<SensorReadings['data']> {
    let path: string;
    try {
      path = await realpath(this.options.dataDir);
    } catch {
      return undefined;
    }
    const entry = mountOf(path, mounts);
    try {
      const stats = await statfs(path);
      return {
        path,
        ...diskFromStatfs(entry?.mount ?? path, stats, {
          device: entry?.device,
          fsType: entry?.fsType,
          readOnly: entry?.options.includes('ro') ?? false,
        }),
      };
    } catch {
      return undefined;
    }
  }

  private async readDisks(mounts: MountEntry[], si: SystemInformation | undefined): Promise<DiskReading[]> {
    const isDisk = (device: string, type: string) => device.startsWith('/dev/') && !device.startsWith('/dev/loop') && !imageFileSystems.has(type);
    if (si) {
      try {
        const list = await si.fsSize();
        return list
          .filter((d) => isDisk(d.fs, d.type))
          .map((d) => ({
            mount: d.mount,
            device: d.fs,
            fsType: d.type,
            sizeBytes: d.size,
            usedBytes: d.used,
            availableBytes: d.available,
            usedPercent: d.used + d.available > 0 ? round1((d.used / (d.used + d.available)) * 100) : 0,
            readOnly: d.rw === false || (mounts.find((m) => m.mount === d.mount)?.options.includes('ro') ?? false),
          }));
      } catch {
        // fall through to statfs
      }
    }
    const disks: DiskReading[] = [];
    const seen = new Set<string>();
    for (const entry of mounts) {
      if (!isDisk(entry.device, entry.fsType) || seen.has(entry.device)) continue;
      seen.add(entry.device);
      try {
        disks.push(diskFromStatfs(entry.mount, await statfs(entry.mount), { device: entry.device, fsType: entry.fsType, readOnly: entry.options.includes('ro') }));
      } catch {
        // unmounted meanwhile, or not ours to read
      }
    }
    return disks;
  }

  private async readMemory(si: SystemInformation | undefined): Promise<SensorReadings['memory']> {
    if (si) {
      try {
        const mem = await si.mem();
        return { totalBytes: mem.total, availableBytes: mem.available };
      } catch {
        // fall through
      }
    }
    const text = await readFile(join(this.procRoot, 'meminfo'), 'utf8').catch(() => '');
    const kib = (key: string) => {
      const match = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(text);
      return match ? Number(match[1]) * 1024 : undefined;
    };
    const total = kib('MemTotal');
    const available = kib('MemAvailable');
    if (total !== undefined && available !== undefined) return { totalBytes: total, availableBytes: available };
    return { totalBytes: totalmem(), availableBytes: freemem() };
  }

  /** The SoC's zone: the one whose type names the CPU or SoC (cpu-thermal on a Pi), else the first. */
  private async readTemperature(): Promise<number | undefined> {
    const root = join(this.sysfsRoot, 'class', 'thermal');
    const zones = (await readdir(root).catch(() => [] as string[])).filter((z) => z.startsWith('thermal_zone')).sort();
    let fallback: number | undefined;
    for (const zone of zones) {
      const milli = Number((await readFile(join(root, zone, 'temp'), 'utf8').catch(() => '')).trim());
      if (!Number.isFinite(milli) || milli === 0) continue;
      const type = (await readFile(join(root, zone, 'type'), 'utf8').catch(() => '')).trim();
      const celsius = round1(milli / 1000);
      if (/cpu|soc/i.test(type)) return celsius;
      fallback ??= celsius;
    }
    return fallback;
  }

  private async readThrottling(): Promise<ThrottleReading | undefined> {
    const result = await this.tool('vcgencmd', ['get_throttled']);
    return result && result.code === 0 ? parseThrottled(result.stdout) : undefined;
  }

  private async readSmart(partition: string | undefined): Promise<SmartReading[] | undefined> {
    const device = partition ? diskOfPartition(partition) : undefined;
    if (!device) return undefined;
    const now = Date.now();
    if (this.smartCache && this.smartCache.device === device && now - this.smartCache.at < this.smartIntervalMs) return this.smartCache.readings;
    const result = await this.tool('smartctl', ['-H', '-j', '-n', 'standby', device]);
    let readings: SmartReading[] | undefined;
    if (result) {
      const reading = parseSmart(device, result.stdout, result.code);
      // A disk in standby answers nothing new: keep what was known.
      readings = reading.passed === undefined && this.smartCache?.readings ? this.smartCache.readings : [reading];
    }
    this.smartCache = { at: now, device, readings };
    return readings;
  }

  private async tool(command: string, args: string[]): Promise<ToolResult | undefined> {
    if (this.missingTools.has(command)) return undefined;
    const result = await this.run(command, args, this.toolTimeoutMs);
    if (!result) this.missingTools.add(command);
    return result;
  }
}

// ---------------------------------------------------------------- simulated

export interface SimulatedConditions {
  dataSizeBytes: number;
  dataUsedPercent: number;
  dataReadOnly: boolean;
  temperatureC: number | undefined;
  underVoltage: boolean;
  throttled: boolean;
  /** undefined: no smartctl. */
  smartPassed: boolean | undefined;
}

export const healthyConditions: SimulatedConditions = {
  dataSizeBytes: 32 * 1024 ** 3,
  dataUsedPercent: 20,
  dataReadOnly: false,
  temperatureC: 48,
  underVoltage: false,
  throttled: false,
  smartPassed: undefined,
};

export class SimulatedSensors implements Sensors {
  conditions: SimulatedConditions;

  /**
   * @param overrideFile In development, a JSON file of SimulatedConditions
   *   fields read at every reading, e.g. {"dataUsedPercent": 97}; missing means none.
   */
  constructor(
    conditions: Partial<SimulatedConditions> = {},
    private readonly overrideFile?: string,
  ) {
    this.conditions = { ...healthyConditions, ...conditions };
  }

  set(conditions: Partial<SimulatedConditions>): void {
    this.conditions = { ...this.conditions, ...conditions };
  }

  async read(): Promise<SensorReadings> {
    let c = this.conditions;
    if (this.overrideFile) {
      try {
        c = { ...c, ...(JSON.parse(await readFile(this.overrideFile, 'utf8')) as Partial<SimulatedConditions>) };
      } catch {
        // no file, or half-written: the set conditions apply
      }
    }
    const used = Math.round((c.dataSizeBytes * c.dataUsedPercent) / 100);
    const data: DiskReading & { path: string } = {
      path: '/data',
      mount: '/data',
      device: '/dev/sim0p1',
      fsType: 'ext4',
      sizeBytes: c.dataSizeBytes,
      usedBytes: used,
      availableBytes: c.dataSizeBytes - used,
      usedPercent: c.dataUsedPercent,
      readOnly: c.dataReadOnly,
    };
    const { path: _path, ...dataDisk } = data;
    const flags = (c.underVoltage ? 0x1 | 0x10000 : 0) | (c.throttled ? 0x4 | 0x40000 : 0);
    return {
      data,
      disks: [dataDisk],
      memory: { totalBytes: 1024 ** 3, availableBytes: 600 * 1024 ** 2 },
      load: { avg1: 0.2, avg5: 0.1, avg15: 0.1 },
      temperatureC: c.temperatureC,
      throttling: parseThrottled(`throttled=0x${flags.toString(16)}`),
      smart: c.smartPassed === undefined ? undefined : [{ device: '/dev/sim0', passed: c.smartPassed, detail: c.smartPassed ? 'PASSED' : 'FAILED' }],
      readAt: new Date().toISOString(),
    };
  }
}
