// The services process: one store, one configuration, every service.
//
// Invariants:
// - Services start in list order and stop in reverse order, so nothing is left
//   using the store after it closes.
// - stop() is idempotent and always closes the database, even after a failed start.

import { loadConfig, type Config } from './config/index.ts';
import type { Logger, LogLevel } from './core/log.ts';
import { portFor, standardPorts, type PortName } from './core/ports.ts';
import type { Service, ServiceHealth } from './core/service.ts';
import { Store } from './store/index.ts';
import { WebService, type HealthReport } from './web/index.ts';

export interface ServicesOptions {
  dataDir: string;
  /** Setting values for this run only, by setting key (`port-offset` → '10000'). */
  overrides?: Record<string, string>;
  /** Exact ports for some services (0 = any free port), overriding standard + offset. */
  ports?: Partial<Record<PortName, number>>;
  /** Makes the process logger once the configured log level is known. */
  createLogger: (level: LogLevel) => Logger;
  version?: string;
}

export class ServicesProcess {
  readonly store: Store;
  readonly config: Config;
  readonly services: Service[] = [];
  private readonly startedAt = Date.now();
  private phase: 'starting' | 'running' | 'stopping' | 'stopped' = 'starting';
  private stopping: Promise<void> | undefined;

  private constructor(
    private readonly options: ServicesOptions,
    store: Store,
    config: Config,
    readonly logger: Logger,
  ) {
    this.store = store;
    this.config = config;
  }

  /** Opens the store, validates the configuration and starts every service. */
  static async start(options: ServicesOptions): Promise<ServicesProcess> {
    const store = Store.open(options.dataDir);
    let config: Config;
    try {
      config = loadConfig(store, options.overrides).config;
    } catch (error) {
      store.close();
      throw error;
    }
    const logger = options.createLogger(config.logLevel);
    const process = new ServicesProcess(options, store, config, logger);
    try {
      await process.startServices();
    } catch (error) {
      await process.stop();
      throw error;
    }
    return process;
  }

  port(name: PortName): number {
    return this.options.ports?.[name] ?? portFor(name, this.config.portOffset);
  }

  private async startServices(): Promise<void> {
    this.logger.info('starting', { data: this.store.paths.root, hostname: this.config.hostname, offset: this.config.portOffset, pid: process.pid });
    const web = new WebService({
      addresses: this.config.listen,
      port: this.port('http'),
      logger: this.logger.child('web'),
      health: () => this.health(),
    });
    this.services.push(web);
    for (const service of this.services) await service.start();
    this.phase = 'running';
    this.logger.info('ready', { services: this.services.map((s) => s.name).join(',') });
  }

  async health(): Promise<HealthReport> {
    const services: Record<string, ServiceHealth> = {};
    for (const service of this.services) services[service.name] = await service.health();
    const store = this.store.isOpen ? this.store.health() : { ok: false, detail: 'closed' };
    const allRunning = Object.values(services).every((s) => s.state === 'running');
    const status = this.phase === 'running' ? (allRunning && store.ok ? 'ok' : 'degraded') : this.phase === 'starting' ? 'starting' : 'stopping';
    return {
      status,
      pid: process.pid,
      version: this.options.version ?? 'dev',
      uptimeSeconds: Math.round((Date.now() - this.startedAt) / 1000),
      hostname: this.config.hostname,
      portOffset: this.config.portOffset,
      store: { state: store.ok ? 'ok' : 'failed', ...(store.detail ? { detail: store.detail } : {}) },
      services,
    };
  }

  /** Stops services in reverse order, waits for their work, closes the database. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.phase = 'stopping';
      this.logger.info('stopping');
      for (const service of [...this.services].reverse()) {
        try {
          await service.stop();
        } catch (error) {
          this.logger.error('service did not stop cleanly', { service: service.name, error });
        }
      }
      this.store.close();
      this.phase = 'stopped';
      this.logger.info('stopped');
    })();
    return this.stopping;
  }
}

export { standardPorts };
