// The hardware watchdog: once opened, the board resets unless it hears a
// keep-alive within its timeout.
//
// - LinuxWatchdog writes to /dev/watchdog (or /dev/watchdogN). Any byte is a
//   keep-alive; the byte 'V' followed by close is the "magic close" that disarms
//   it (drivers with WDIOF_MAGICCLOSE, such as i6300esb and bcm2835-wdt). The
//   timeout is read from <sysfs>/class/watchdog/watchdogN/timeout where the
//   driver exposes it.
// - SimulatedWatchdog keeps the same rules with a timer, and calls onExpire
//   where a real board would reset.
//
// Invariants:
// - Letting the board reset is done by not calling keepAlive(), never by
//   closing: disarm() is only for a clean stop. If this process dies, the
//   kernel closes the device without the magic byte and the board resets.
// - Keep-alive bytes are never 'V', so a keep-alive never arms the magic close.
// - The device is opened close-on-exec (as Node opens every file), so a child
//   process never holds it.

import { constants } from 'node:fs';
import { open, readFile, type FileHandle } from 'node:fs/promises';
import { basename, join } from 'node:path';

export interface Watchdog {
  /** e.g. '/dev/watchdog (timeout 30 s)', 'simulated (timeout 30 s)'. */
  readonly description: string;
  /** How long the board waits for a keep-alive, when known. */
  readonly timeoutMs: number | undefined;
  /** Arms the watchdog: from here on it must hear keepAlive() within timeoutMs. */
  open(): Promise<void>;
  keepAlive(): Promise<void>;
  /** Magic close, for a clean stop: the board does not reset. */
  disarm(): Promise<void>;
}

/** The watchdog0 in /sys/class/watchdog that a device path names (/dev/watchdog is watchdog0). */
export function sysfsNameFor(devicePath: string): string {
  const match = /^watchdog(\d+)$/.exec(basename(devicePath));
  return `watchdog${match ? match[1] : '0'}`;
}

/** Reads the timeout in seconds the driver exposes, or undefined. */
export async function readWatchdogTimeout(devicePath: string, sysfsRoot = '/sys'): Promise<number | undefined> {
  try {
    const seconds = Number((await readFile(join(sysfsRoot, 'class', 'watchdog', sysfsNameFor(devicePath), 'timeout'), 'utf8')).trim());
    return Number.isFinite(seconds) && seconds > 0 ? seconds : undefined;
  } catch {
    return undefined;
  }
}

export class LinuxWatchdog implements Watchdog {
  private handle: FileHandle | undefined;
  private timeoutSeconds: number | undefined;

  constructor(
    readonly devicePath = '/dev/watchdog',
    private readonly sysfsRoot = '/sys',
  ) {}

  get timeoutMs(): number | undefined {
    return this.timeoutSeconds === undefined ? undefined : this.timeoutSeconds * 1000;
  }

  get description(): string {
    return `${this.devicePath} (timeout ${this.timeoutSeconds === undefined ? 'unknown' : `${this.timeoutSeconds} s`})`;
  }

  async open(): Promise<void> {
    if (this.handle) return;
    this.timeoutSeconds = await readWatchdogTimeout(this.devicePath, this.sysfsRoot);
    // Opening starts the countdown. Never O_CREAT: a missing device must not become
    // a regular file in /dev. O_APPEND: a regular file stands in for the device in tests.
    this.handle = await open(this.devicePath, constants.O_WRONLY | constants.O_APPEND);
  }

  async keepAlive(): Promise<void> {
    if (!this.handle) throw new Error(`${this.devicePath} is not open`);
    await this.handle.write('.');
  }

  async disarm(): Promise<void> {
    const handle = this.handle;
    if (!handle) return;
    this.handle = undefined;
    try {
      await handle.write('V');
    } finally {
      await handle.close();
    }
  }
}

export interface SimulatedWatchdogOptions {
  timeoutMs?: number;
  /** Called once when a real board would reset now. */
  onExpire?: () => void;
}

export class SimulatedWatchdog implements Watchdog {
  readonly timeoutMs: number;
  /** Keep-alives heard since open(). */
  keepAlives = 0;
  state: 'closed' | 'armed' | 'disarmed' | 'expired' = 'closed';
  private timer: NodeJS.Timeout | undefined;
  private readonly onExpire: () => void;

  constructor(options: SimulatedWatchdogOptions = {}) {
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.onExpire = options.onExpire ?? (() => {});
  }

  get description(): string {
    return `simulated (timeout ${this.timeoutMs / 1000} s)`;
  }

  async open(): Promise<void> {
    if (this.state === 'armed') return;
    this.state = 'armed';
    this.restartCountdown();
  }

  async keepAlive(): Promise<void> {
    if (this.state !== 'armed') throw new Error(`the simulated watchdog is ${this.state}`);
    this.keepAlives++;
    this.restartCountdown();
  }

  async disarm(): Promise<void> {
    if (this.state !== 'armed') return;
    this.clear();
    this.state = 'disarmed';
  }

  private restartCountdown(): void {
    this.clear();
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.state = 'expired';
      this.onExpire();
    }, this.timeoutMs);
    // A development supervisor keeps itself alive; the countdown must not keep a test alive.
    this.timer.unref();
  }

  private clear(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }
}
