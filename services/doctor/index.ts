// services/doctor: the home-line doctor. See README.md.
//
// Invariants:
// - Answers (report(), alarms()) come from the database, one statement each:
//   a request handler never waits for a run.
// - At most one run at a time; runNow() while one runs joins it.
// - Every lookup and the port probe have a deadline; stop() aborts a run in
//   flight, which then records nothing, before the store closes.
// - A run records all its findings in one transaction (store/doctor.ts).

import { loadConfig, type Config } from '../config/index.ts';
import type { Logger } from '../core/log.ts';
import type { Service, ServiceHealth, ServiceState } from '../core/service.ts';
import { domainKeys } from '../dkim/index.ts';
import { createResolver } from '../dns/index.ts';
import type { CheckOutcome, StoredFinding, Store } from '../store/index.ts';
import { checkDkim, checkDmarc, checkDnsbl, checkMx, checkPort25, checkPublicAddress, checkReverseDns, checkSpf, checkSrv, type CheckContext } from './checks.ts';
import { Lookups } from './lookups.ts';
import { isIP } from 'node:net';

export interface DoctorFinding {
  id: string;
  check: string;
  status: StoredFinding['status'];
  title: string;
  detail: string;
  fix: string;
  failures: number;
}

/** GET /api/admin/doctor. */
export interface DoctorReport {
  /** When the last run finished (ISO 8601), null before the first. */
  checkedAt: string | null;
  running: boolean;
  findings: DoctorFinding[];
}

export interface DoctorTimings {
  /** The wait for one DNS answer. */
  lookupMs: number;
  /** The wait for the port 25 probe's TCP connection. */
  probeMs: number;
}

export const defaultTimings: DoctorTimings = { lookupMs: 5000, probeMs: 10_000 };

type DoctorSettings = Pick<Config, 'hostname' | 'dnsServers' | 'doctorPort25Probe' | 'doctorPublicAddressName' | 'doctorDnsbls'>;

/** Runs every check once and records the outcomes. */
export async function runChecks(store: Store, settings: DoctorSettings, timings: DoctorTimings, signal: AbortSignal): Promise<{ findings: StoredFinding[]; lookups: number } | undefined> {
  const resolver = createResolver(settings.dnsServers, { timeoutMs: Math.min(2000, timings.lookupMs), tries: 2 });
  const lookups = new Lookups(resolver, timings.lookupMs, signal);
  const relayRow = store.relay.get();
  const relay = relayRow ? { host: relayRow.host, port: relayRow.port } : undefined;
  const context: CheckContext = { hostname: settings.hostname, relay, lookups, signal };
  const outcomes: CheckOutcome[] = [];

  const probe = settings.doctorPort25Probe ? checkPort25(context, settings.doctorPort25Probe, timings.probeMs) : undefined;
  const [addressName, addressServer] = settings.doctorPublicAddressName.split('@') as [string, string | undefined];
  const askMyAddress = addressName
    ? () => (addressServer ? new Lookups(createResolver([addressServer], { timeoutMs: Math.min(2000, timings.lookupMs), tries: 2 }), timings.lookupMs, signal) : lookups).a(addressName)
    : undefined;
  const publicAddress = await checkPublicAddress(context, askMyAddress, settings.doctorPublicAddressName);
  outcomes.push(publicAddress.outcome);
  const found = publicAddress.found;
  const [reverse, ...listed] = await Promise.all([checkReverseDns(context, found), ...settings.doctorDnsbls.map((zone) => checkDnsbl(context, found, zone))]);
  if (probe) outcomes.unshift(await probe);
  outcomes.push(reverse!, ...listed);

  let senderAddresses = found.address ? [found.address] : [];
  if (relay) {
    const relayA = isIP(relay.host) === 4 ? { kind: 'found' as const, records: [relay.host] } : await lookups.a(relay.host);
    senderAddresses = relayA.kind === 'found' ? relayA.records : [];
  }
  // Domains one after another (each checks its records in parallel): a box with many domains does not flood the resolver.
  for (const { name: domain } of store.domains.list()) {
    const domainContext = { ...context, domain, keys: domainKeys(store.paths.dkim, domain), senderAddresses };
    outcomes.push(...(await Promise.all([checkMx(domainContext), checkSpf(domainContext), checkDkim(domainContext), checkDmarc(domainContext), checkSrv(domainContext)])));
  }
  resolver.cancel();
  if (signal.aborted || !store.isOpen) return undefined;
  return { findings: store.doctor.record(outcomes, Date.now()), lookups: lookups.count };
}

export function doctorReport(store: Store, running: boolean): DoctorReport {
  const findings = store.doctor.list();
  const last = findings.reduce((latest, f) => Math.max(latest, f.checkedAt), 0);
  return {
    checkedAt: last ? new Date(last).toISOString() : null,
    running,
    findings: findings.map(({ checkedAt: _, ...finding }) => finding),
  };
}

export interface DoctorOptions {
  store: Store;
  /** The settings in effect at each run (read again, so a hostname set in the wizard is used without a restart). */
  settings: () => DoctorSettings & Pick<Config, 'doctorInterval'>;
  logger: Logger;
  /** The first run, this long after the start (the services settle first). */
  startDelayMs?: number;
  timings?: Partial<DoctorTimings>;
}

export class DoctorService implements Service {
  readonly name = 'doctor';
  private state: ServiceState = 'stopped';
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private abort = new AbortController();
  private lastError: string | undefined;

  constructor(private readonly options: DoctorOptions) {}

  /** The settings the services process uses, read again from the store with this run's command-line overrides. */
  static settingsFrom(store: Store, overrides: Record<string, string> | undefined): () => DoctorSettings & Pick<Config, 'doctorInterval'> {
    return () => loadConfig(store, overrides).config;
  }

  async start(): Promise<void> {
    this.state = 'running';
    this.abort = new AbortController();
    this.schedule(this.options.startDelayMs ?? 30_000);
  }

  /** The next run after `delayMs`, unless doctor-interval is off (then only runNow() runs the checks). */
  private schedule(delayMs: number): void {
    clearTimeout(this.timer);
    if (this.state !== 'running' || this.interval() === 0) return;
    this.timer = setTimeout(() => {
      void this.runNow().finally(() => this.schedule(this.interval()));
    }, delayMs);
    this.timer.unref();
  }

  private interval(): number {
    try {
      return this.options.settings().doctorInterval;
    } catch {
      // A bad stored setting: the default interval; the run itself logs why it failed.
      return 6 * 3_600_000;
    }
  }

  /** Starts a run unless one is under way; resolves when that run is over (it never rejects). */
  runNow(): Promise<void> {
    if (this.state !== 'running') return Promise.resolve();
    this.running ??= this.run().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  get isRunning(): boolean {
    return this.running !== undefined;
  }

  private async run(): Promise<void> {
    const started = Date.now();
    try {
      const result = await runChecks(this.options.store, this.options.settings(), { ...defaultTimings, ...this.options.timings }, this.abort.signal);
      if (!result) return;
      this.lastError = undefined;
      const count = (status: string) => result.findings.filter((f) => f.status === status).length;
      this.options.logger.info('doctor checked', { ok: count('ok'), warnings: count('warning'), alarms: count('alarm'), unknown: count('unknown'), lookups: result.lookups, ms: Date.now() - started });
      for (const finding of result.findings) {
        if (finding.status === 'alarm' && finding.failures === 2) this.options.logger.warn('doctor alarm', { check: finding.id, title: finding.title });
      }
    } catch (error) {
      this.lastError = (error as Error).message;
      this.options.logger.error('doctor run failed', { error });
    }
  }

  report(): DoctorReport {
    return doctorReport(this.options.store, this.isRunning);
  }

  /** The titles of the findings in alarm (for /healthz and the status LED). */
  alarms(): string[] {
    if (!this.options.store.isOpen) return [];
    try {
      return this.options.store.doctor.alarms();
    } catch (error) {
      // /healthz must answer even when the database cannot be read; its store check reports that.
      return [`the doctor's findings cannot be read: ${(error as Error).message}`];
    }
  }

  async stop(): Promise<void> {
    if (this.state === 'stopped') return;
    this.state = 'stopping';
    clearTimeout(this.timer);
    this.abort.abort();
    await this.running;
    this.state = 'stopped';
  }

  health(): ServiceHealth {
    return { state: this.state, running: this.isRunning, ...(this.lastError ? { detail: `the last run failed: ${this.lastError}` } : {}) };
  }
}
