// `mailnest firmware`: the supervisor in the foreground. On the appliance init
// starts it (as root, with /dev/watchdog: real hardware); in development
// `make run` does (simulated hardware, LED changes in the log, SIGUSR1 holds
// the simulated reset button for 10 s, and <data>/run/simulated-sensors.json
// can play a full or read-only disk). SIGHUP tries the services again at once
// when they refused to start (a setting, a port in use) or recovery failed;
// started from a terminal, SIGHUP is a hangup and stops it, as SIGTERM does.
//
// It takes the same --data, --port-offset, --port NAME=PORT and setting flags
// as `serve` and passes them on to the `serve` it spawns; the ports it probes
// are learnt from those same flags (firmware/launch.ts). This file is where
// the firmware meets the rest of the CLI: it may use services' config parsing
// to check flags early, while firmware/ itself imports nothing from services/.

import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openRealHardware, simulatedHardware, type Hardware } from '../../hw/hardware.ts';
import { isPortName, resetCommandLine, serveLaunch, standardPorts, type CommandLine, type PortName, type ServicesLaunch } from '../../firmware/launch.ts';
import { stopLeftoverServices } from '../../firmware/services-child.ts';
import { Supervisor } from '../../firmware/supervisor.ts';
import { parseSetting, settingKeys } from '../../services/config/index.ts';
import { UserError } from '../../services/core/errors.ts';
import { consoleLogger, type LogLevel } from '../../services/core/log.ts';
import { UsageError, type Command, type CommandContext } from '../command.ts';

/** Setting flags passed through to serve as they are (port-offset is the firmware's own). */
const passthroughKeys = settingKeys().filter((key) => key !== 'port-offset');

export interface FirmwarePlan {
  hardware: 'real' | 'simulated';
  launch: ServicesLaunch;
  resetCommand: CommandLine;
  dataDir: string;
  logLevel: LogLevel;
  real: { watchdogDevice: string | null; statusLed?: string; alertLed?: string; buttonGpio?: string };
}

export interface FirmwareEnvironment {
  /** The node binary; process.execPath. */
  node: string;
  /** dist/mailnest.js */
  bundle: string;
  watchdogExists: (device: string) => boolean;
  isRoot: boolean;
}

/** Where the bundle is: this file when it runs bundled (dist/mailnest.js), else dist/ beside the sources. */
export function findBundle(): string {
  const here = fileURLToPath(import.meta.url);
  return here.endsWith('.js') ? here : resolve(dirname(here), '..', '..', 'dist', 'mailnest.js');
}

function parsePorts(values: string[] | undefined): Partial<Record<PortName, number>> {
  const ports: Partial<Record<PortName, number>> = {};
  for (const value of values ?? []) {
    const match = /^([a-z0-9]+)=(\d+)$/.exec(value);
    if (!match || !isPortName(match[1]!) || Number(match[2]) > 65535) {
      throw new UserError(`--port ${value}: expected NAME=PORT with NAME one of ${Object.keys(standardPorts).join(', ')}`);
    }
    ports[match[1] as PortName] = Number(match[2]);
  }
  if (ports.http === 0) throw new UserError('--port http=0: the supervisor must know the web port to ask /healthz; give a number');
  return ports;
}

/** Turns the command line into what the supervisor needs; throws UserError for a bad flag. */
export function planFirmware(context: Pick<CommandContext, 'dataDir' | 'options'>, environment: FirmwareEnvironment): FirmwarePlan {
  const { options } = context;
  const text = (name: string) => (typeof options[name] === 'string' ? (options[name] as string) : undefined);
  const offsetText = text('port-offset') ?? '0';
  parseSetting('port-offset', offsetText);
  const portOffset = Number(offsetText.trim());

  const extra: string[] = [];
  let listen: string | undefined;
  for (const key of passthroughKeys) {
    const value = text(key);
    if (value === undefined) continue;
    parseSetting(key, value);
    if (key === 'listen') listen = value;
    else extra.push(`--${key}`, value);
  }

  const hardwareText = text('hardware');
  if (hardwareText !== undefined && hardwareText !== 'real' && hardwareText !== 'simulated') throw new UsageError(`--hardware ${hardwareText}: expected real or simulated`);
  const watchdogDevice = text('watchdog') ?? '/dev/watchdog';
  const hardware = (hardwareText as 'real' | 'simulated' | undefined) ?? (environment.isRoot && environment.watchdogExists(watchdogDevice) ? 'real' : 'simulated');

  if (!existsSync(environment.bundle)) throw new UserError(`${environment.bundle} is missing: run \`make build\` first`);
  const dataDir = resolve(context.dataDir);
  const node = { node: environment.node, nodeFlags: ['--enable-source-maps'], bundle: environment.bundle, dataDir };
  return {
    hardware,
    launch: serveLaunch({ ...node, portOffset, ports: parsePorts(options.port as string[] | undefined), listen, extra }),
    resetCommand: resetCommandLine(node),
    dataDir,
    logLevel: (text('log-level') as LogLevel | undefined) ?? 'info',
    real: { watchdogDevice: text('watchdog') === 'none' ? null : watchdogDevice, statusLed: text('status-led'), alertLed: text('alert-led'), buttonGpio: text('button-gpio') },
  };
}

const settingOptions = Object.fromEntries(passthroughKeys.map((key) => [key, { type: 'string' as const }]));

export const firmwareCommand: Command = {
  usage:
    'firmware [--data DIR] [--port-offset N] [--hardware real|simulated] [--watchdog DEVICE|none] [--status-led NAME|gpio:LINE|none] [--alert-led NAME|gpio:LINE|none] [--button-gpio LINE] [--port NAME=PORT]... [--SETTING VALUE]...',
  summary: 'run the supervisor: start the services, watch their health and the board, drive the LEDs and the watchdog',
  options: {
    ...settingOptions,
    'port-offset': { type: 'string' },
    port: { type: 'string', multiple: true },
    hardware: { type: 'string' },
    watchdog: { type: 'string' },
    'status-led': { type: 'string' },
    'alert-led': { type: 'string' },
    'button-gpio': { type: 'string' },
  },
  positionals: [0, 0],
  async run(context: CommandContext) {
    const plan = planFirmware(context, {
      node: process.execPath,
      bundle: findBundle(),
      watchdogExists: existsSync,
      isRoot: process.getuid?.() === 0,
    });
    const logger = consoleLogger(plan.logLevel).child('firmware');
    let hardware: Hardware;
    if (plan.hardware === 'real') {
      try {
        hardware = await openRealHardware({
          dataDir: plan.dataDir,
          watchdogDevice: plan.real.watchdogDevice,
          statusLed: plan.real.statusLed,
          alertLed: plan.real.alertLed,
          buttonGpio: plan.real.buttonGpio,
          onButtonError: (error) => logger.warn('reset button error', { error: error.message }),
        });
      } catch (error) {
        throw new UserError((error as Error).message);
      }
    } else {
      hardware = simulatedHardware({
        onWatchdogExpire: () => logger.error('the simulated watchdog expired: a real board would reset now'),
        sensorOverrideFile: join(plan.dataDir, 'run', 'simulated-sensors.json'),
      });
    }
    const supervisor = new Supervisor({ dataDir: plan.dataDir, launch: plan.launch, resetCommand: plan.resetCommand, hardware, log: logger });

    let signals = 0;
    let stopped: () => void = () => {};
    const done = new Promise<void>((resolve) => (stopped = resolve));
    const onSignal = (signal: NodeJS.Signals) => {
      signals += 1;
      if (signals > 1) {
        // Without the magic close, a real watchdog resets the board: say so.
        process.stderr.write(`mailnest: second ${signal}, exiting without waiting${plan.hardware === 'real' ? ' (the watchdog may reset the board)' : ''}\n`);
        process.exit(1);
      }
      logger.info('signal received', { signal });
      supervisor.stop().then(stopped, (error: unknown) => {
        logger.error('stop failed', { error });
        stopped();
      });
    };
    const onHoldButton = () => {
      if (hardware.mode !== 'simulated') return;
      const button = (hardware as ReturnType<typeof simulatedHardware>).button;
      logger.info('SIGUSR1: holding the simulated reset button for 10.5 s');
      button.press();
      setTimeout(() => button.release(), 10_500).unref();
    };
    // SIGHUP under init (no terminal): "I fixed it", the services are tried again at once if they refused to
    // start or could not be recovered. Started from a terminal (make run), it is the terminal going away: stop,
    // rather than stay behind holding the ports.
    const fromTerminal = process.stdin.isTTY === true;
    const onHangUp = () => {
      if (fromTerminal) return onSignal('SIGHUP');
      if (!supervisor.retryNow('SIGHUP')) logger.info('SIGHUP: nothing to try again (the services are not refusing to start, and recovery has not failed)');
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
    process.on('SIGUSR1', onHoldButton);
    process.on('SIGHUP', onHangUp);
    try {
      await stopLeftoverServices(plan.dataDir, logger, 30_000);
      try {
        await supervisor.start();
      } catch (error) {
        await supervisor.stop().catch(() => {});
        throw error;
      }
      await done;
    } finally {
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
      process.off('SIGUSR1', onHoldButton);
      process.off('SIGHUP', onHangUp);
    }
    return 0;
  },
};
