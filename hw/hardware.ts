// The board as the supervisor sees it: a watchdog, a status LED and an alert
// LED, a reset button and sensors, either the real ones of a Linux board or
// simulated ones for tests and development.
//
// Invariants:
// - Anything the board lacks is undefined, with a note saying so (the QEMU
//   `virt` board has a watchdog but no LEDs and no button); a part a person
//   named explicitly and that cannot be opened is an error.
// - The watchdog is handed over unopened: opening arms it, and only the
//   supervisor decides when. close() closes LEDs and the button, never the
//   watchdog (the supervisor disarms it on a clean stop).

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { GpioButton, SimulatedButton, type ButtonInput } from './button.ts';
import { resolveGpio } from './gpio.ts';
import { GpioLed, listSysfsLeds, SimulatedLed, SysfsLed, type Led, type LedSignal } from './leds.ts';
import { LinuxSensors, SimulatedSensors, type SimulatedConditions, type Sensors, type SystemInformation } from './sensors.ts';
import { LinuxWatchdog, SimulatedWatchdog, type Watchdog } from './watchdog.ts';

export interface Hardware {
  readonly mode: 'real' | 'simulated';
  readonly watchdog: Watchdog | undefined;
  /** The LED that shows the supervisor's state (green ACT on a Pi). */
  readonly statusLed: Led | undefined;
  /** A second LED for trouble (red PWR on a Pi), when there is one. */
  readonly alertLed: Led | undefined;
  readonly button: ButtonInput | undefined;
  readonly sensors: Sensors;
  /** What was found and what was not, one phrase each, for the start-up log. */
  readonly notes: string[];
  close(): Promise<void>;
}

export interface RealHardwareOptions {
  dataDir: string;
  sysfsRoot?: string;
  procRoot?: string;
  /** Default /dev/watchdog; null for none. */
  watchdogDevice?: string | null;
  /** An LED class name (ACT) or gpio:LINE; default the first of ACT, led0 that exists; 'none' for none. */
  statusLed?: string;
  /** As statusLed; default the first of PWR, led1 that exists. */
  alertLed?: string;
  /** A GPIO line (17, gpiochip504:3); no button without one. */
  buttonGpio?: string;
  /** Default true: a button between the pin and ground, with a pull-up. */
  buttonActiveLow?: boolean;
  buttonDebounceMs?: number;
  onButtonError?: (error: Error) => void;
  systemInformation?: () => Promise<SystemInformation | undefined>;
}

async function openLed(spec: string, sysfsRoot: string): Promise<Led> {
  if (spec.startsWith('gpio:')) return GpioLed.open(await resolveGpio(spec.slice('gpio:'.length), sysfsRoot));
  return SysfsLed.open(spec, sysfsRoot);
}

async function chooseLed(spec: string | undefined, defaults: string[], role: string, sysfsRoot: string, notes: string[]): Promise<Led | undefined> {
  if (spec === 'none') {
    notes.push(`no ${role} LED (none asked for)`);
    return undefined;
  }
  if (spec !== undefined) {
    try {
      return await openLed(spec, sysfsRoot);
    } catch (error) {
      throw new Error(`${role} LED ${spec}: ${(error as Error).message}`);
    }
  }
  const present = await listSysfsLeds(sysfsRoot);
  const name = defaults.find((d) => present.includes(d));
  if (!name) {
    notes.push(`no ${role} LED (none of ${defaults.join(', ')} in ${join(sysfsRoot, 'class', 'leds')})`);
    return undefined;
  }
  try {
    return await SysfsLed.open(name, sysfsRoot);
  } catch (error) {
    notes.push(`no ${role} LED (${name}: ${(error as Error).message})`);
    return undefined;
  }
}

export async function openRealHardware(options: RealHardwareOptions): Promise<Hardware> {
  const sysfsRoot = options.sysfsRoot ?? '/sys';
  const notes: string[] = [];
  const opened: { close(): Promise<void> }[] = [];
  try {
    const device = options.watchdogDevice === undefined ? '/dev/watchdog' : options.watchdogDevice;
    let watchdog: Watchdog | undefined;
    if (device === null) notes.push('no watchdog (none asked for)');
    else if (!existsSync(device)) notes.push(`no watchdog (${device} does not exist)`);
    else watchdog = new LinuxWatchdog(device, sysfsRoot);

    const statusLed = await chooseLed(options.statusLed, ['ACT', 'led0'], 'status', sysfsRoot, notes);
    if (statusLed) opened.push(statusLed);
    const alertLed = await chooseLed(options.alertLed, ['PWR', 'led1'], 'alert', sysfsRoot, notes);
    if (alertLed) opened.push(alertLed);

    let button: ButtonInput | undefined;
    if (options.buttonGpio === undefined) notes.push('no reset button (no GPIO given)');
    else {
      try {
        button = await GpioButton.open(await resolveGpio(options.buttonGpio, sysfsRoot), {
          activeLow: options.buttonActiveLow ?? true,
          debounceMs: options.buttonDebounceMs ?? 20,
          onError: options.onButtonError,
        });
      } catch (error) {
        throw new Error(`reset button ${options.buttonGpio}: ${(error as Error).message}`);
      }
    }

    const sensors = new LinuxSensors({ dataDir: options.dataDir, sysfsRoot, procRoot: options.procRoot, systemInformation: options.systemInformation });
    if (options.systemInformation === undefined && !(await sensors.hasSystemInformation())) {
      notes.push('systeminformation is not installed: disks and memory are read from /proc and statfs');
    }
    return {
      mode: 'real',
      watchdog,
      statusLed,
      alertLed,
      button,
      sensors,
      notes,
      async close() {
        await Promise.allSettled([statusLed?.close(), alertLed?.close(), button?.close()]);
      },
    };
  } catch (error) {
    await Promise.allSettled(opened.map((part) => part.close()));
    throw error;
  }
}

export interface SimulatedHardware extends Hardware {
  readonly mode: 'simulated';
  readonly watchdog: SimulatedWatchdog;
  readonly statusLed: SimulatedLed;
  readonly alertLed: SimulatedLed;
  readonly button: SimulatedButton;
  readonly sensors: SimulatedSensors;
}

export interface SimulatedHardwareOptions {
  watchdogTimeoutMs?: number;
  onWatchdogExpire?: () => void;
  onLed?: (name: string, signal: LedSignal) => void;
  conditions?: Partial<SimulatedConditions>;
  /** A JSON file of SimulatedConditions fields, re-read at each sensor reading. */
  sensorOverrideFile?: string;
}

export function simulatedHardware(options: SimulatedHardwareOptions = {}): SimulatedHardware {
  return {
    mode: 'simulated',
    watchdog: new SimulatedWatchdog({ timeoutMs: options.watchdogTimeoutMs, onExpire: options.onWatchdogExpire }),
    statusLed: new SimulatedLed('status', options.onLed),
    alertLed: new SimulatedLed('alert', options.onLed),
    button: new SimulatedButton(),
    sensors: new SimulatedSensors(options.conditions, options.sensorOverrideFile),
    notes: ['simulated hardware: watchdog, status and alert LEDs, reset button, sensors'],
    async close() {
      await Promise.allSettled([this.statusLed.close(), this.alertLed.close(), this.button.close()]);
    },
  };
}
