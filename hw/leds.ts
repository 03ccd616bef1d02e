// LEDs: one interface, three backends.
//
// - SysfsLed drives a Linux LED class device (<sysfs>/class/leds/NAME: trigger,
//   brightness, delay_on/delay_off), e.g. the Raspberry Pi's ACT and PWR LEDs.
//   Steady and evenly blinking signals are handed to the kernel (trigger none or
//   timer), so they keep going even if this process stalls; the rest are played
//   in software. close() puts back the trigger the LED had before (mmc0 on a Pi).
// - GpioLed drives an LED on a GPIO output through onoff; everything but on/off
//   is played in software.
// - SimulatedLed only remembers what it shows, for tests and development.
//
// Invariants:
// - show() replaces what the LED showed; at most one software blinker per LED runs.
// - A sysfs LED's writes reach the kernel in the order they were made.
// - After close(), the LED shows nothing more and holds no timer.
// - The sysfs root is a parameter, so tests run against a fake tree in a temporary folder.

import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SoftwareBlinker } from './blinker.ts';
import { openGpio, type GpioLine } from './gpio.ts';

/** What an LED shows: steady, an even blink, or groups of short pulses with a pause. */
export type LedSignal =
  | { mode: 'off' }
  | { mode: 'on' }
  | { mode: 'blink'; onMs: number; offMs: number }
  | { mode: 'pulses'; count: number; onMs: number; offMs: number; pauseMs: number };

export interface Led {
  /** e.g. 'ACT', 'gpio:17', 'status (simulated)'. */
  readonly name: string;
  readonly signal: LedSignal;
  show(signal: LedSignal): Promise<void>;
  close(): Promise<void>;
}

export function sameSignal(a: LedSignal, b: LedSignal): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** One short phrase for a log line: 'on', 'blink 250/250ms', '2 pulses 150/150ms, pause 1200ms'. */
export function describeSignal(signal: LedSignal): string {
  switch (signal.mode) {
    case 'off':
    case 'on':
      return signal.mode;
    case 'blink':
      return `blink ${signal.onMs}/${signal.offMs}ms`;
    case 'pulses':
      return `${signal.count} pulses ${signal.onMs}/${signal.offMs}ms, pause ${signal.pauseMs}ms`;
  }
}

const off: LedSignal = { mode: 'off' };

/** A Linux LED class device under <sysfsRoot>/class/leds/<name>. */
export class SysfsLed implements Led {
  private current: LedSignal = off;
  private readonly blinker: SoftwareBlinker;
  private closed = false;
  private writes: Promise<void> = Promise.resolve();

  private constructor(
    readonly name: string,
    private readonly dir: string,
    private readonly maxBrightness: number,
    private readonly triggers: ReadonlySet<string>,
    /** The trigger selected before we took the LED over, put back by close(). */
    private readonly originalTrigger: string | undefined,
  ) {
    this.blinker = new SoftwareBlinker((lit) => this.write('brightness', lit ? String(this.maxBrightness) : '0'));
  }

  /** Opens an LED; throws when <sysfsRoot>/class/leds/<name> does not exist. */
  static async open(name: string, sysfsRoot = '/sys'): Promise<SysfsLed> {
    const dir = join(sysfsRoot, 'class', 'leds', name);
    const max = Number((await readFile(join(dir, 'max_brightness'), 'utf8').catch(() => '1')).trim()) || 1;
    // The trigger file lists every trigger and marks the selected one: "none [mmc0] timer heartbeat".
    const triggerText = await readFile(join(dir, 'trigger'), 'utf8');
    const words = triggerText.trim().split(/\s+/).filter(Boolean);
    const selected = words.find((w) => w.startsWith('[') && w.endsWith(']'))?.slice(1, -1);
    const triggers = new Set(words.map((w) => w.replace(/^\[|\]$/g, '')));
    return new SysfsLed(name, dir, max, triggers, selected);
  }

  get signal(): LedSignal {
    return this.current;
  }

  async show(signal: LedSignal): Promise<void> {
    if (this.closed) return;
    this.blinker.stop();
    this.current = signal;
    if (signal.mode === 'off' || signal.mode === 'on') {
      // Selecting trigger "none" first: a kernel trigger would overrule the brightness.
      await this.write('trigger', 'none');
      await this.write('brightness', signal.mode === 'on' ? String(this.maxBrightness) : '0');
    } else if (signal.mode === 'blink' && this.triggers.has('timer')) {
      await this.write('trigger', 'timer');
      await this.write('delay_on', String(signal.onMs));
      await this.write('delay_off', String(signal.offMs));
    } else {
      await this.write('trigger', 'none');
      this.blinker.play(signal);
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.blinker.stop();
    if (this.originalTrigger && this.originalTrigger !== 'none') await this.write('trigger', this.originalTrigger).catch(() => {});
    else await this.write('brightness', '0').catch(() => {});
  }

  /**
   * Writes go out one at a time, in order: a blink step still in flight must not
   * land after the next trigger is chosen (writing brightness 0 removes a trigger).
   */
  private write(file: string, value: string): Promise<void> {
    const next = this.writes.then(() => writeFile(join(this.dir, file), value));
    this.writes = next.catch(() => {});
    return next;
  }
}

/** An LED on a GPIO output (active high unless activeLow), through onoff. */
export class GpioLed implements Led {
  private current: LedSignal = off;
  private readonly blinker: SoftwareBlinker;
  private closed = false;

  private constructor(
    readonly name: string,
    private readonly line: GpioLine,
  ) {
    this.blinker = new SoftwareBlinker((lit) => this.line.write(lit));
  }

  static async open(gpio: number, options: { activeLow?: boolean } = {}): Promise<GpioLed> {
    const line = await openGpio(gpio, 'out', { activeLow: options.activeLow ?? false });
    return new GpioLed(`gpio:${gpio}`, line);
  }

  get signal(): LedSignal {
    return this.current;
  }

  async show(signal: LedSignal): Promise<void> {
    if (this.closed) return;
    this.blinker.stop();
    this.current = signal;
    if (signal.mode === 'off' || signal.mode === 'on') this.line.write(signal.mode === 'on');
    else this.blinker.play(signal);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.blinker.stop();
    try {
      this.line.write(false);
    } finally {
      this.line.close();
    }
  }
}

/** Remembers every signal it is asked to show; nothing blinks. */
export class SimulatedLed implements Led {
  private current: LedSignal = off;
  /** Every signal shown, oldest first. */
  readonly history: LedSignal[] = [];
  closed = false;

  constructor(
    readonly name: string,
    private readonly onShow: (name: string, signal: LedSignal) => void = () => {},
  ) {}

  get signal(): LedSignal {
    return this.current;
  }

  async show(signal: LedSignal): Promise<void> {
    if (this.closed) return;
    this.current = signal;
    this.history.push(signal);
    this.onShow(this.name, signal);
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}

/** The names of the LED class devices present, e.g. ['ACT', 'PWR'] on a Raspberry Pi. */
export async function listSysfsLeds(sysfsRoot = '/sys'): Promise<string[]> {
  try {
    return (await readdir(join(sysfsRoot, 'class', 'leds'))).sort();
  } catch {
    return [];
  }
}
