import { settingKeys } from '../../services/config/index.ts';
import { UserError } from '../../services/core/errors.ts';
import { consoleLogger } from '../../services/core/log.ts';
import { standardPorts, type PortName } from '../../services/core/ports.ts';
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
    const ports = parsePorts(context.options.port as string[] | undefined);
    const services = await ServicesProcess.start({ dataDir: context.dataDir, overrides, ports, version, createLogger: (level) => consoleLogger(level).child('serve') });
    const logger = services.logger;

    await new Promise<void>((resolve) => {
      let signals = 0;
      const onSignal = (signal: NodeJS.Signals) => {
        signals += 1;
        if (signals > 1) {
          logger.warn('second signal, exiting without waiting', { signal });
          process.exit(1);
        }
        logger.info('signal received', { signal });
        services.stop().then(resolve, (error: unknown) => {
          logger.error('stop failed', { error });
          resolve();
        });
      };
      process.on('SIGTERM', onSignal);
      process.on('SIGINT', onSignal);
    });
    return 0;
  },
};
