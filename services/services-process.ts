// The services process: one store, one configuration, every service.
//
// Invariants:
// - Services start in list order and stop in reverse order, so nothing is left
//   using the store after it closes.
// - stop() is idempotent and always closes the database, even after a failed start.

import { configValue, loadConfig, settingKeys, startupAdvice, type Config, type SettingSource } from './config/index.ts';
import type { Logger, LogLevel } from './core/log.ts';
import { portFor, standardPorts, type PortName } from './core/ports.ts';
import type { Service, ServiceHealth } from './core/service.ts';
import { createBodyAnalyzer } from './delivery/analyzer.ts';
import { LocalDelivery } from './delivery/local.ts';
import { createSigner } from './dkim/index.ts';
import { createResolver } from './dns/index.ts';
import { QueueService, type QueueOptions } from './queue/index.ts';
import { ImapService } from './imap/index.ts';
import { Pop3Service } from './pop3/index.ts';
import { SmtpService } from './smtp/index.ts';
import { AuthEvents } from './core/auth-events.ts';
import type { ConnectionLimitSettings } from './core/connection-limits.ts';
import { Store } from './store/index.ts';
import { lockDataFolder, type DataLock } from './store/lock.ts';
import { ensureCertificate } from './tls/certificate.ts';
import { StorageStateWatcher } from './core/storage-state.ts';
import { removeRunConfig, writeRunConfig } from './core/run-files.ts';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { WebService, type HealthReport } from './web/index.ts';
import { MdnsService } from './mdns/index.ts';

export interface ServicesOptions {
  dataDir: string;
  /** Setting values for this run only, by setting key (`port-offset` → '10000'). */
  overrides?: Record<string, string>;
  /** Exact ports for some services (0 = any free port), overriding standard + offset. */
  ports?: Partial<Record<PortName, number>>;
  /** Makes the process logger once the configured log level is known. */
  createLogger: (level: LogLevel) => Logger;
  version?: string;
  /** Outbound queue tuning (tests shorten the retry timings). */
  queue?: Pick<QueueOptions, 'timings' | 'maxConnections' | 'maxPerDestination' | 'mxPort'>;
  /** Connection limits over the configured ones (tests hold loopback clients to the per-address limit). */
  connectionLimits?: Partial<ConnectionLimitSettings>;
}

export class ServicesProcess {
  readonly store: Store;
  readonly config: Config;
  readonly services: Service[] = [];
  readonly authEvents = new AuthEvents();
  private readonly startedAt = Date.now();
  private phase: 'starting' | 'running' | 'stopping' | 'stopped' = 'starting';
  private stopping: Promise<void> | undefined;
  private lock: DataLock | undefined;
  private storage: StorageStateWatcher | undefined;
  private garbageTimer: NodeJS.Timeout | undefined;
  /** Sends what is queued for other servers; started first, stopped last among the services. */
  queue: QueueService | undefined;

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
    // checkBodies: the start is where every file of the data folder is made private (data-folder.ts).
    const store = Store.open(options.dataDir, { checkBodies: true });
    let config: Config;
    let origin: Record<string, SettingSource>;
    let lock: DataLock;
    try {
      ({ config, origin } = loadConfig(store, options.overrides));
      store.owner.pin(config.postmaster);
      lock = lockDataFolder(store.paths.root);
    } catch (error) {
      store.close();
      throw error;
    }
    const logger = options.createLogger(config.logLevel);
    const process = new ServicesProcess(options, store, config, logger);
    process.lock = lock;
    try {
      await process.startServices();
      // For `config list`: what this run uses beside what is stored (removed at stop).
      writeRunConfig(
        store.paths.root,
        {
          settings: Object.fromEntries(settingKeys().map((key) => [key, configValue(config, key)])),
          sources: origin,
          ports: Object.fromEntries((Object.keys(standardPorts) as PortName[]).map((name) => [name, process.port(name)])),
        },
        new Date(process.startedAt),
      );
    } catch (error) {
      await process.stop();
      throw error;
    }
    return process;
  }

  /** Where a service actually listens (after port 0 was resolved), as host:port strings. */
  async listening(service: string): Promise<string[]> {
    const found = this.services.find((s) => s.name === service);
    return ((await found?.health())?.listening as string[] | undefined) ?? [];
  }

  port(name: PortName): number {
    return this.options.ports?.[name] ?? portFor(name, this.config.portOffset);
  }

  private async startServices(): Promise<void> {
    this.logger.info('starting', { data: this.store.paths.root, hostname: this.config.hostname, offset: this.config.portOffset, pid: process.pid });
    for (const advice of startupAdvice(this.store, this.config)) this.logger.warn(advice.message, advice.fields);
    const swept = this.store.mail.sweep();
    if (swept.tmpRemoved || swept.orphansRemoved || swept.bodiesRemoved) this.logger.info('swept leftovers of interrupted writes', swept);
    // Bodies of expunged messages are removed after a grace period (see MailStore.collectGarbage); the start-up sweep takes the rest.
    this.garbageTimer = setInterval(() => {
      this.store.mail.collectGarbage().catch((error: unknown) => this.logger.warn('garbage collection failed', { error }));
    }, 60_000);
    this.garbageTimer.unref();
    const tls = ensureCertificate(this.store.paths.tls, this.config.hostname);
    this.logger.info('tls certificate', { source: tls.source, names: tls.subjectAltNames.join(','), expires: tls.validTo.toISOString() });
    const storage = new StorageStateWatcher(this.store.paths.root, (state) => {
      this.logger.warn('storage state changed', { ...state });
      // The queue holds its attempts while the disk is read-only; it resumes as soon as it is not.
      this.queue?.kick();
    });
    this.storage = storage;
    if (storage.state.state !== 'ok') this.logger.warn('storage is not ok: mail is refused with temporary failures', { ...storage.state });
    const queue = new QueueService({
      store: this.store,
      resolver: createResolver(this.config.dnsServers),
      signer: createSigner(this.store.paths.dkim, (domain) => this.store.domains.isLocal(domain)),
      createAnalyzer: createBodyAnalyzer,
      hostname: this.config.hostname,
      logger: this.logger.child('queue'),
      storage: () => storage.state,
      ...this.options.queue,
    });
    this.queue = queue;
    this.store.mail.events.onListenerError = (error) => this.logger.error('a mail change listener failed', { error });
    const connectionLimits: ConnectionLimitSettings = { perAddress: this.config.maxConnectionsPerAddress, total: this.config.maxConnections, ...this.options.connectionLimits };
    const delivery = new LocalDelivery(this.store, createBodyAnalyzer, this.logger.child('delivery'), () => queue.kick());
    const smtp = (role: 'mx' | 'submission', name: 'smtp' | 'submission' | 'submissions') =>
      new SmtpService({
        role,
        name,
        implicitTls: name === 'submissions',
        addresses: this.config.listen,
        port: this.port(name),
        hostname: this.config.hostname,
        tls,
        maxMessageBytes: this.config.messageSizeLimit,
        maxRecipients: this.config.maxRecipients,
        store: this.store,
        delivery,
        authEvents: this.authEvents,
        logger: this.logger.child(name),
        storage: () => storage.state,
        connectionLimits,
      });
    this.services.push(queue);
    this.services.push(smtp('mx', 'smtp'), smtp('submission', 'submission'), smtp('submission', 'submissions'));
    this.services.push(
      new ImapService({
        addresses: this.config.listen,
        port: this.port('imap'),
        tlsPort: this.port('imaps'),
        hostname: this.config.hostname,
        tls,
        maxMessageBytes: this.config.messageSizeLimit,
        store: this.store,
        createAnalyzer: createBodyAnalyzer,
        authEvents: this.authEvents,
        logger: this.logger.child('imap'),
        connectionLimits,
      }),
    );
    this.services.push(
      new Pop3Service({
        addresses: this.config.listen,
        port: this.port('pop3'),
        tlsPort: this.port('pop3s'),
        hostname: this.config.hostname,
        tls,
        store: this.store,
        authEvents: this.authEvents,
        logger: this.logger.child('pop3'),
        connectionLimits,
      }),
    );
    const web = new WebService({
      addresses: this.config.listen,
      port: this.port('http'),
      logger: this.logger.child('web'),
      health: () => this.health(),
    });
    this.services.push(web);
    // Last: the name is only announced once everything it points at listens.
    this.services.push(new MdnsService({ mode: this.config.mdns, label: this.config.mdnsName, listen: this.config.listen, port: (name) => this.port(name), logger: this.logger.child('mdns') }));
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
      memory: { rssBytes: process.memoryUsage.rss(), heapUsedBytes: process.memoryUsage().heapUsed },
      hostname: this.config.hostname,
      portOffset: this.config.portOffset,
      store: { state: store.ok ? 'ok' : 'failed', ...(store.detail ? { detail: store.detail } : {}) },
      storage: this.storage?.state ?? { state: 'ok' },
      setupDone: this.store.isOpen && this.store.isSetUp(),
      supervisor: this.supervisorReport(),
      services,
    };
  }

  /** What the firmware supervisor last wrote about itself (run/supervisor.json), or null without one. */
  private supervisorReport(): unknown {
    try {
      return JSON.parse(readFileSync(join(this.store.paths.root, 'run', 'supervisor.json'), 'utf8'));
    } catch {
      return null;
    }
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
      clearInterval(this.garbageTimer);
      this.storage?.close();
      removeRunConfig(this.store.paths.root);
      this.store.close();
      this.lock?.release();
      this.phase = 'stopped';
      this.logger.info('stopped');
    })();
    return this.stopping;
  }
}

export { standardPorts };
