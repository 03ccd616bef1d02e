// The services process: one store, one configuration, every service.
//
// Invariants:
// - Services start in list order and stop in reverse order, so nothing is left
//   using the store after it closes.
// - stop() is idempotent and always closes the database, even after a failed start.
// - reload() stops every service (reverse order, work in flight finished),
//   reads the settings again, makes the certificate for the host name, and
//   starts them again, with the store and the data folder's lock held
//   throughout. Requests that arrive before a reload read the settings join it;
//   those after wait for it and share one more. A reload whose start fails
//   stops everything, closes the store and calls onReloadFailure (serve exits
//   as after a refused start).

import { configValue, loadConfig, settingKeys, startupAdvice, type Config, type SettingSource } from './config/index.ts';
import type { Logger, LogLevel } from './core/log.ts';
import { portFor, standardPorts, type PortName } from './core/ports.ts';
import type { Service, ServiceHealth } from './core/service.ts';
import { createBodyAnalyzer } from './delivery/analyzer.ts';
import { SearchBackfill } from './store/search-index.ts';
import { LocalDelivery } from './delivery/local.ts';
import { createSigner } from './dkim/index.ts';
import { createAuthResolver, createResolver } from './dns/index.ts';
import { DoctorService, type DoctorOptions } from './doctor/index.ts';
import { QueueService, type QueueOptions } from './queue/index.ts';
import { ImapService } from './imap/index.ts';
import { Pop3Service } from './pop3/index.ts';
import { SmtpService } from './smtp/index.ts';
import { AuthEvents } from './core/auth-events.ts';
import type { ConnectionLimitSettings } from './core/connection-limits.ts';
import { Store } from './store/index.ts';
import { lockDataFolder, type DataLock } from './store/lock.ts';
import { ensureCertificate, type TlsFiles } from './tls/certificate.ts';
import { StorageStateWatcher } from './core/storage-state.ts';
import { removeRunConfig, writeRunConfig } from './core/run-files.ts';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { certificateInfo, newLoginThrottle, WebService, type HealthReport, type WebOptions } from './web/index.ts';
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
  queue?: Pick<QueueOptions, 'timings' | 'maxConnections' | 'maxPerDestination' | 'mxPort' | 'reuse'>;
  /** Connection limits over the configured ones (tests hold loopback clients to the per-address limit). */
  connectionLimits?: Partial<ConnectionLimitSettings>;
  /** The doctor's first-run delay and deadlines (tests shorten them). */
  doctor?: Pick<DoctorOptions, 'startDelayMs' | 'timings'>;
  /** The built web UI; default: dist/web beside the bundle, or <repo>/dist/web when run from source. */
  webAssets?: string;
  /** Web session and setup-claim tuning (tests shorten the waits), extra routes (tests). */
  web?: Pick<WebOptions, 'sessions' | 'setup' | 'routes'>;
  /**
   * A reload could not start the services again: they are all stopped and the
   * store is closed. `serve` records it as a refused start and exits 78.
   */
  onReloadFailure?: (error: unknown) => void;
}

/** One reload under way: the reasons it serves, and whether it read the settings yet. */
interface ReloadRun {
  reasons: string[];
  settingsRead: boolean;
  done: Promise<void>;
}

/** dist/web beside the bundle (dist/mailnest.js), or <repo>/dist/web when run from source (services/). */
export function defaultWebAssets(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const candidates = [join(here, 'web'), join(here, '..', 'dist', 'web')];
  return candidates.find((folder) => existsSync(join(folder, 'index.html'))) ?? candidates[here.endsWith('dist') ? 0 : 1]!;
}

export class ServicesProcess {
  readonly store: Store;
  /** The settings in effect (replaced by a reload). */
  config: Config;
  readonly services: Service[] = [];
  readonly authEvents = new AuthEvents();
  private readonly startedAt = Date.now();
  private phase: 'starting' | 'running' | 'reloading' | 'stopping' | 'stopped' = 'starting';
  private stopping: Promise<void> | undefined;
  private stopRequested = false;
  private origin: Record<string, SettingSource> = {};
  private reloadRun: ReloadRun | undefined;
  /** The reload that follows the one under way (requested after it read the settings). */
  private nextReload: { reasons: string[]; done: Promise<void> } | undefined;
  /** Ports configured as 0 keep what the system picked at the first start, so a reload does not move them. */
  private readonly pickedPorts: Partial<Record<PortName, number>> = {};
  /** Failed web sign-ins are remembered across reloads (a reload must not reset the slow-down). */
  private readonly loginThrottle = newLoginThrottle();
  private lock: DataLock | undefined;
  private storage: StorageStateWatcher | undefined;
  private garbageTimer: NodeJS.Timeout | undefined;
  /** Indexes bodies the search index does not have yet (from before migration 8, or too large to index at delivery). */
  private searchBackfill: SearchBackfill | undefined;
  private tombstoneTimer: NodeJS.Timeout | undefined;
  /** Sends what is queued for other servers; started first, stopped last among the services. */
  queue: QueueService | undefined;
  /** The home-line doctor: its findings for the admin page, its alarms for /healthz. */
  doctor: DoctorService | undefined;
  /** The web front door (sessions, the setup state machine). */
  web: WebService | undefined;

  private constructor(
    private readonly options: ServicesOptions,
    store: Store,
    config: Config,
    public logger: Logger,
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
    process.origin = origin;
    try {
      process.startOnce();
      await process.startServices();
      await process.pickPorts();
      process.writeRunConfig();
    } catch (error) {
      await process.stop();
      throw error;
    }
    return process;
  }

  /** For `config list`: what this run uses beside what is stored (removed at stop). */
  private writeRunConfig(): void {
    writeRunConfig(
      this.store.paths.root,
      {
        settings: Object.fromEntries(settingKeys().map((key) => [key, configValue(this.config, key)])),
        sources: this.origin,
        ports: Object.fromEntries((Object.keys(standardPorts) as PortName[]).map((name) => [name, this.configuredPort(name)])),
      },
      new Date(this.startedAt),
    );
  }

  private async pickPorts(): Promise<void> {
    const listening = await this.listeningPorts();
    for (const name of Object.keys(standardPorts) as PortName[]) if (this.options.ports?.[name] === 0) this.pickedPorts[name] = listening[name];
  }

  /**
   * Stops every service, reads the settings again and starts the services with
   * them (a new certificate when the host name changed). Resolves once they
   * run again; rejects when the settings do not validate (the old services
   * keep running) or the start failed (everything is stopped, onReloadFailure
   * is called). After stop() it does nothing.
   */
  reload(reason: string): Promise<void> {
    if (this.stopRequested || this.phase === 'starting') return Promise.resolve();
    const run = this.reloadRun;
    if (!run) return this.beginReload([reason]);
    if (!run.settingsRead) {
      run.reasons.push(reason);
      return run.done;
    }
    if (this.nextReload) {
      this.nextReload.reasons.push(reason);
      return this.nextReload.done;
    }
    const reasons = [reason];
    const done = run.done
      .catch(() => {})
      .then(() => {
        this.nextReload = undefined;
        return this.stopRequested ? undefined : this.beginReload(reasons);
      });
    this.nextReload = { reasons, done };
    return done;
  }

  private beginReload(reasons: string[]): Promise<void> {
    const run: ReloadRun = { reasons, settingsRead: false, done: Promise.resolve() };
    this.reloadRun = run;
    run.done = this.runReload(run).finally(() => {
      if (this.reloadRun === run) this.reloadRun = undefined;
    });
    return run.done;
  }

  private async runReload(run: ReloadRun): Promise<void> {
    // Yield once, so that requests made in the same tick join this reload.
    await Promise.resolve();
    let loaded: { config: Config; origin: Record<string, SettingSource> };
    let tls: TlsFiles;
    try {
      // Read and validated while the services still run: a stored setting that does not validate changes nothing.
      loaded = loadConfig(this.store, this.options.overrides);
      run.settingsRead = true;
      // Made before the services stop (an RSA key takes a while on a small board): they are down for the stop and the start only.
      tls = ensureCertificate(this.store.paths.tls, loaded.config.hostname, new Date(), mdnsNames(loaded.config));
    } catch (error) {
      run.settingsRead = true;
      this.logger.error('reload refused: the services keep running as they were', { reason: run.reasons.join('; '), error });
      throw error;
    }
    const reason = run.reasons.join('; ');
    this.logger.info('reloading', { reason });
    for (const [key, source] of Object.entries(loaded.origin)) {
      const stored = this.store.settings.get(key);
      if (source === 'flag' && stored !== undefined && JSON.stringify(stored) !== JSON.stringify(configValue(loaded.config, key))) {
        this.logger.warn('a stored setting is overridden by the command line for this run', { setting: key, stored: String(stored), used: String(configValue(loaded.config, key)) });
      }
    }
    this.phase = 'reloading';
    await this.stopServices(true);
    if (this.stopRequested) return;
    try {
      this.config = loaded.config;
      this.origin = loaded.origin;
      this.logger = this.options.createLogger(loaded.config.logLevel);
      this.store.owner.pin(loaded.config.postmaster);
      await this.startServices(tls);
      this.writeRunConfig();
    } catch (error) {
      this.logger.error('reload failed: the services could not start again, so every service is stopped', { reason, error });
      await this.shutDown();
      this.options.onReloadFailure?.(error);
      throw error;
    }
    this.logger.info('reloaded', { reason, hostname: this.config.hostname });
  }

  /** Where a service actually listens (after port 0 was resolved), as host:port strings. */
  async listening(service: string): Promise<string[]> {
    const found = this.services.find((s) => s.name === service);
    return ((await found?.health())?.listening as string[] | undefined) ?? [];
  }

  /** The port a service binds: as configured, or for one configured as 0 the port the first start was given. */
  port(name: PortName): number {
    return this.pickedPorts[name] ?? this.configuredPort(name);
  }

  /** The port as the options or the offset give it (0: the system picks one). */
  private configuredPort(name: PortName): number {
    return this.options.ports?.[name] ?? portFor(name, this.config.portOffset);
  }

  /** What the process needs once, whatever the settings: leftovers swept, the garbage timer, the storage watcher. */
  private startOnce(): void {
    const swept = this.store.mail.sweep();
    if (swept.tmpRemoved || swept.orphansRemoved || swept.bodiesRemoved) this.logger.info('swept leftovers of interrupted writes', swept);
    // Bodies of expunged messages are removed after a grace period (see MailStore.collectGarbage); the start-up sweep takes the rest.
    this.garbageTimer = setInterval(() => {
      this.store.mail.collectGarbage().catch((error: unknown) => this.logger.warn('garbage collection failed', { error }));
    }, 60_000);
    this.garbageTimer.unref();
    // In the background, in short batches; until a body is indexed, searches scan it.
    this.searchBackfill = new SearchBackfill(this.store.db, this.store.mail.files, {}, (error) => this.logger.warn('search index backfill failed', { error }));
    this.searchBackfill.start();
    // Old expunge tombstones go (the newest 20,000 per mailbox stay); QRESYNC from before them still answers correctly.
    // Hourly, and each run only up to what the previous run saw: longer than any open session can stay behind (mail.ts).
    const pruneRun = this.store.mail.tombstonePruner();
    const prune = () => {
      try {
        const pruned = pruneRun();
        if (pruned) this.logger.info('pruned old expunge tombstones', { pruned });
      } catch (error) {
        this.logger.warn('pruning tombstones failed', { error });
      }
    };
    prune();
    this.tombstoneTimer = setInterval(prune, 60 * 60_000);
    this.tombstoneTimer.unref();
    const storage = new StorageStateWatcher(this.store.paths.root, (state) => {
      this.logger.warn('storage state changed', { ...state });
      // The queue holds its attempts while the disk is read-only; it resumes as soon as it is not.
      this.queue?.kick();
    });
    this.storage = storage;
    if (storage.state.state !== 'ok') this.logger.warn('storage is not ok: mail is refused with temporary failures', { ...storage.state });
  }

  /** Builds and starts every service with this.config; `tls` when the caller made the certificate already. */
  private async startServices(made?: TlsFiles): Promise<void> {
    this.logger.info('starting', { data: this.store.paths.root, hostname: this.config.hostname, offset: this.config.portOffset, pid: process.pid });
    for (const advice of startupAdvice(this.store, this.config)) this.logger.warn(advice.message, advice.fields);
    const storage = this.storage!;
    const tls = made ?? ensureCertificate(this.store.paths.tls, this.config.hostname, new Date(), mdnsNames(this.config));
    this.logger.info('tls certificate', { source: tls.source, names: tls.subjectAltNames.join(','), expires: tls.validTo.toISOString(), sha256: certificateInfo(tls).sha256 });
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
    const authResolver = createAuthResolver(this.config.dnsServers);
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
        authentication: { resolver: authResolver, dmarcExempt: () => this.config.filterDmarcExempt },
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
    const doctor = new DoctorService({
      store: this.store,
      settings: DoctorService.settingsFrom(this.store, this.options.overrides),
      logger: this.logger.child('doctor'),
      ...this.options.doctor,
    });
    this.doctor = doctor;
    const web = new WebService({
      addresses: this.config.listen,
      port: this.port('http'),
      httpsPort: this.port('https'),
      logger: this.logger.child('web'),
      health: () => this.health(),
      tls,
      assets: this.options.webAssets ?? defaultWebAssets(),
      store: this.store,
      config: this.config,
      dataDir: this.store.paths.root,
      queue: {
        kick: () => queue.kick(),
        retry: (ids) => {
          const changed = this.store.outbound.retryNow(ids);
          queue.kick();
          return changed;
        },
      },
      authEvents: this.authEvents,
      ports: () => this.listeningPorts(),
      doctor,
      loginThrottle: this.loginThrottle,
      // Called once the answer that asked for it is out: the reload stops this very service.
      reload: (reason) => {
        this.reload(reason).catch(() => {
          // logged by the reload; a failed start has called onReloadFailure
        });
      },
      ...this.options.web,
    });
    this.web = web;
    this.services.push(web);
    // After the listeners: the name is only announced once everything it points at listens.
    this.services.push(new MdnsService({ mode: this.config.mdns, label: this.config.mdnsName, listen: this.config.listen, port: (name) => this.port(name), logger: this.logger.child('mdns') }));
    // Last, so that it stops first: a run in flight is aborted before anything it reads closes.
    this.services.push(doctor);
    for (const service of this.services) await service.start();
    this.phase = 'running';
    this.logger.info('ready', { services: this.services.map((s) => s.name).join(',') });
  }

  async health(): Promise<HealthReport> {
    const services: Record<string, ServiceHealth> = {};
    for (const service of this.services) services[service.name] = await service.health();
    const store = this.store.isOpen ? this.store.health() : { ok: false, detail: 'closed' };
    const allRunning = Object.values(services).every((s) => s.state === 'running');
    const status = this.phase === 'running' ? (allRunning && store.ok ? 'ok' : 'degraded') : this.phase === 'starting' || this.phase === 'reloading' ? 'starting' : 'stopping';
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
      // The firmware shows the setup-not-done LED until the wizard (or the CLI) completed the setup.
      setupDone: this.store.isOpen && this.store.setup.get() === 'complete',
      supervisor: this.supervisorReport(),
      // The doctor's checks that failed twice in a row: the firmware shows them as degraded (firmware/probes.ts).
      alarms: this.doctor?.alarms() ?? [],
      services,
    };
  }

  /** The port each service listens on (its first listener), by port name; the configured port where none listens yet. */
  async listeningPorts(): Promise<Record<PortName, number>> {
    const ports = Object.fromEntries((Object.keys(standardPorts) as PortName[]).map((name) => [name, this.port(name)])) as Record<PortName, number>;
    const byService: Record<string, PortName> = { smtp: 'smtp', submission: 'submission', submissions: 'submissions', imap: 'imap', pop3: 'pop3' };
    for (const service of this.services) {
      const health = await service.health();
      const extra = (health.ports ?? {}) as Record<string, number>;
      for (const [name, port] of Object.entries(extra)) if (name in ports && port) ports[name as PortName] = port;
      const first = health.listening?.[0];
      const name = byService[service.name];
      if (name && first) ports[name] = Number(first.slice(first.lastIndexOf(':') + 1));
    }
    return ports;
  }

  /** What the firmware supervisor last wrote about itself (run/supervisor.json), or null without one. */
  private supervisorReport(): unknown {
    try {
      return JSON.parse(readFileSync(join(this.store.paths.root, 'run', 'supervisor.json'), 'utf8'));
    } catch {
      return null;
    }
  }

  /** Stops services in reverse order, waits for their work, closes the database. A reload under way finishes first. */
  stop(): Promise<void> {
    this.stopRequested = true;
    const reloading = this.reloadRun?.done;
    if (!reloading) return this.shutDown();
    return reloading.catch(() => {}).then(() => this.shutDown());
  }

  /** Stops each service, last started first; a failure to stop is logged, never thrown. A reload forgets them (it builds new ones). */
  private async stopServices(forget: boolean): Promise<void> {
    for (const service of [...this.services].reverse()) {
      try {
        await service.stop();
      } catch (error) {
        this.logger.error('service did not stop cleanly', { service: service.name, error });
      }
    }
    if (forget) this.services.length = 0;
  }

  private shutDown(): Promise<void> {
    this.stopRequested = true;
    this.stopping ??= (async () => {
      this.phase = 'stopping';
      this.logger.info('stopping');
      await this.stopServices(false);
      clearInterval(this.garbageTimer);
      await this.searchBackfill?.stop();
      clearInterval(this.tombstoneTimer);
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

/** The names mDNS may claim (services/mdns takes -2 when another host has the first): the certificate names them too. */
function mdnsNames(config: Config): string[] {
  return [`${config.mdnsName}.local`, `${config.mdnsName}-2.local`];
}

export { standardPorts };
