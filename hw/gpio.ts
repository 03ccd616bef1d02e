// GPIO lines through onoff (the kernel's sysfs GPIO interface), and the naming
// of a line as a person writes it.
//
// Invariants:
// - onoff is loaded with import() only when a real line is opened: simulated
//   hardware, development and tests never need the package (or its native epoll).
// - Values are logical: with activeLow, true means the line is low (a button
//   that pulls the pin to ground reads true while pressed).
// - A line is a sysfs GPIO number. Since Linux 6.6 a Raspberry Pi's header pins
//   are no longer 0..53 (the chip's base moved to 512), so a line can also be
//   named CHIP:OFFSET and is then resolved from <sysfs>/class/gpio/gpiochipN/{base,label,ngpio}.

import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

export interface GpioLine {
  readonly gpio: number;
  read(): boolean;
  write(value: boolean): void;
  /** Calls listener with the new value on each edge; errors go to onError. */
  watch(listener: (value: boolean) => void, onError: (error: Error) => void): void;
  close(): void;
}

// The part of onoff's API used here (onoff 6).
interface OnoffGpio {
  readSync(): number;
  writeSync(value: 0 | 1): void;
  watch(callback: (error: Error | null | undefined, value: number) => void): void;
  unwatchAll(): void;
  unexport(): void;
}

interface OnoffModule {
  Gpio: new (
    gpio: number,
    direction: 'in' | 'out',
    edge?: 'none' | 'rising' | 'falling' | 'both',
    options?: { debounceTimeout?: number; activeLow?: boolean },
  ) => OnoffGpio;
}

let onoff: Promise<OnoffModule> | undefined;

/** Loads onoff on first use; the error says what to install when it is missing. */
export function loadOnoff(): Promise<OnoffModule> {
  onoff ??= (async () => {
    // A specifier in a variable: esbuild leaves it for run time, and TypeScript
    // does not need the package's types to compile this file.
    const name = 'onoff';
    try {
      const loaded = (await import(name)) as Partial<OnoffModule> & { default?: Partial<OnoffModule> };
      const Gpio = loaded.Gpio ?? loaded.default?.Gpio;
      if (!Gpio) throw new Error('the onoff package has no Gpio export');
      return { Gpio };
    } catch (error) {
      onoff = undefined;
      if ((error as NodeJS.ErrnoException).code === 'ERR_MODULE_NOT_FOUND') {
        throw new Error('GPIO needs the onoff package, which is not installed (npm install onoff)');
      }
      throw error;
    }
  })();
  return onoff;
}

export async function openGpio(
  gpio: number,
  direction: 'in' | 'out',
  options: { activeLow?: boolean; edge?: 'none' | 'both'; debounceMs?: number } = {},
): Promise<GpioLine> {
  const { Gpio } = await loadOnoff();
  const line = new Gpio(gpio, direction, options.edge ?? 'none', { activeLow: options.activeLow ?? false, debounceTimeout: options.debounceMs ?? 0 });
  return {
    gpio,
    read: () => line.readSync() === 1,
    write: (value) => line.writeSync(value ? 1 : 0),
    watch(listener, onError) {
      line.watch((error, value) => (error ? onError(error) : listener(value === 1)));
    },
    close() {
      line.unwatchAll();
      line.unexport();
    },
  };
}

/**
 * Resolves a line as a person names it: a sysfs GPIO number ("17"), or a chip
 * and an offset on it ("gpiochip504:3", "pinctrl-bcm2711:17"), the chip named by
 * its sysfs directory or its label.
 */
export async function resolveGpio(spec: string, sysfsRoot = '/sys'): Promise<number> {
  const text = spec.trim();
  if (/^\d+$/.test(text)) return Number(text);
  const match = /^(.+):(\d+)$/.exec(text);
  if (!match) throw new Error(`GPIO "${spec}": expected a number (17) or CHIP:OFFSET (gpiochip504:3, pinctrl-bcm2711:17)`);
  const [, chip, offsetText] = match as unknown as [string, string, string];
  const offset = Number(offsetText);
  const root = join(sysfsRoot, 'class', 'gpio');
  const entries = (await readdir(root).catch(() => [] as string[])).filter((e) => e.startsWith('gpiochip'));
  const seen: string[] = [];
  for (const entry of entries.sort()) {
    const read = (file: string) => readFile(join(root, entry, file), 'utf8').then((s) => s.trim(), () => '');
    const label = await read('label');
    seen.push(label ? `${entry} (${label})` : entry);
    if (entry !== chip && label !== chip) continue;
    const base = Number(await read('base'));
    const count = Number(await read('ngpio'));
    if (!Number.isInteger(base)) throw new Error(`GPIO "${spec}": ${entry} has no readable base`);
    if (Number.isInteger(count) && count > 0 && offset >= count) throw new Error(`GPIO "${spec}": ${entry} has only ${count} lines`);
    return base + offset;
  }
  throw new Error(`GPIO "${spec}": no chip named ${chip} under ${root}${seen.length ? ` (there are: ${seen.join(', ')})` : ''}`);
}
