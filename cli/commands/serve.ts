import { settingKeys } from '../../services/config/index.ts';
import { isUserError, startRefusedExitStatus, UserError } from '../../services/core/errors.ts';
import { consoleLogger } from '../../services/core/log.ts';
import { standardPorts, type PortName } from '../../services/core/ports.ts';
import { clearStartError, recordStartError } from '../../services/core/run-files.ts';
import { ServicesProcess } from '../../services/services-process.ts';
import type { Command, CommandContext } from '../command.ts';
import { version } from '../version.ts';

const settingOptions = Object.fromEntries(settingKeys().map((key) => [key, { type: 'string' as const }]));

function parsePorts(values: string[] | undefined): Partial<Record<PortName, number>> {
  const ports: Partial<Record<PortName, number>> = {};
  for (const value of values ?? []) {
    const match = /^([a-z0-9]+)=(\d+)$/.exec(value);
    if (!match || !(match[1]! in standardPorts) || Number(match[2]) > 65535) {
      throw new UserError(`--port ${value}: expected NAME=PORT with NAME one of ${Object.keys(standardPorts).join(', ')} (PORT 0 picks a free port)`);
    }
    ports[match[1] as PortName] = Number(match[2]);
  }
  return ports;
}

export const serveCommand: Command = {
  usage: `serve [--data DIR] [--port-offset N] [--listen ADDRS] [--hostname NAME] [--port NAME=PORT]... [--SETTING VALUE]...`,
  summary: 'run every mail service in the foreground (flags override stored settings for this run)',
  options: { ...settingOptions, port: { type: 'string', multiple: true } },
  positionals: [0, 0],
  async run(context: CommandContext) {
    const overrides: Record<string, string> = {};
    for (const key of settingKeys()) {
      const value = context.options[key];
      if (typeof value === 'string') overrides[key] = value;
    }
    // A start-up error meant for a person (a setting, a port, the data folder's
    // lock, a newer database) is one a restart cannot mend: say it, leave it in
    // run/start-error.json, and exit with its own status so the supervisor waits
    // for a change instead of restarting (firmware/README.md).
    const refuse = (error: unknown): number => {
      if (!isUserError(error)) throw error;
      recordStartError(context.dataDir, error);
      context.io.stderr(`mailnest: ${error.message}\n`);
      return startRefusedExitStatus;
    };
    // What an earlier refusal left is not this start's.
    clearStartError(context.dataDir);
    let ports: Partial<Record<PortName, number>>;
    try {
      ports = parsePorts(context.options.port as string[] | undefined);
    } catch (error) {
      return refuse(error);
    }
    // Signals are handled from the first moment: one that arrives while the
    // services are starting stops them as soon as the start is over.
    let stopRequested: NodeJS.Signals | undefined;
    let reloadRequested = false;
    let services: ServicesProcess | undefined;
    let signals = 0;
    let exitStatus = 0;
    let stopped: () => void = () => {};
    const done = new Promise<void>((resolve) => (stopped = resolve));
    const stop = (signal: NodeJS.Signals) => {
      services!.logger.info('signal received', { signal });
      services!.stop().then(stopped, (error: unknown) => {
        services!.logger.error('stop failed', { error });
        stopped();
      });
    };
    const onSignal = (signal: NodeJS.Signals) => {
      signals += 1;
      if (signals > 1) {
        process.stderr.write(`mailnest: second ${signal}, exiting without waiting\n`);
        process.exit(1);
      }
      if (services) stop(signal);
      else stopRequested = signal;
    };
    // SIGHUP without a terminal (under the firmware, init or a service manager):
    // reload the stored settings in this process. From a terminal it is the
    // terminal going away: stop, as SIGTERM does, rather than stay behind
    // holding the ports (the firmware command does the same).
    const fromTerminal = process.stdin.isTTY === true;
    const onHangUp = () => {
      if (fromTerminal) return onSignal('SIGHUP');
      if (!services) {
        reloadRequested = true;
        return;
      }
      services.logger.info('signal received', { signal: 'SIGHUP', action: 'reload' });
      services.reload('SIGHUP').catch(() => {
        // logged by the reload; a failed start ends the process through onReloadFailure
      });
    };
    // A reload that cannot start the services again has stopped them all: the
    // same refusal as a failed start (exit 78, run/start-error.json), so the
    // supervisor waits for a change; anything else is a bug, exit 1 (restarted).
    const onReloadFailure = (error: unknown) => {
      if (isUserError(error)) {
        recordStartError(context.dataDir, error);
        context.io.stderr(`mailnest: ${error.message}\n`);
        exitStatus = startRefusedExitStatus;
      } else {
        context.io.stderr(`mailnest: the reload failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
        exitStatus = 1;
      }
      stopped();
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
    process.on('SIGHUP', onHangUp);
    try {
      services = await ServicesProcess.start({ dataDir: context.dataDir, overrides, ports, version, onReloadFailure, createLogger: (level) => consoleLogger(level).child('serve') });
    } catch (error) {
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
      process.off('SIGHUP', onHangUp);
      return refuse(error);
    }
    if (stopRequested) stop(stopRequested);
    else if (reloadRequested) onHangUp();
    await done;
    process.off('SIGHUP', onHangUp);
    return exitStatus;
  },
};
