// The supervisor's report, <data>/run/supervisor.json: what it contains, built
// from a snapshot (buildReport, pure), and how it reaches the disk (ReportWriter).
// /healthz includes it as `supervisor` and the web UI's system page shows it.
//
// Invariants:
// - The format is the one firmware/README.md shows; the services side and the
//   web UI read it, so a field is added, never renamed or removed.
// - The file is replaced atomically (run-files.ts), and only the newest report
//   is written: a slow disk never builds a backlog.
// - A report is written when its content changed, or when forced (each sensor
//   reading), so `updated` also says the supervisor is alive; `updated` is
//   stamped when the file is written.
// - A failing write is logged once per distinct error, not at every report.

import type { SensorReadings } from '../hw/sensors.ts';
import type { LedPattern } from './led-patterns.ts';
import type { EventLog } from './log.ts';
import type { ProbeVerdict } from './probes.ts';
import { writeJsonAtomic, type StorageStateFile } from './run-files.ts';
import { reportedReasons, type StatusSnapshot, type SupervisorState } from './status.ts';

export interface SupervisorReport {
  state: SupervisorState;
  led: LedPattern;
  /** Why the state is not healthy, one phrase each. */
  reasons: string[];
  pid: number;
  hardware: 'real' | 'simulated';
  startedAt: string;
  services: {
    pid: number | null;
    startedAt: string | null;
    restarts: number;
    lastRestart: { at: string; reason: string } | null;
    lastProbe: { at: string; verdict: ProbeVerdict['verdict']; detail: string } | null;
  };
  setupDone: boolean | null;
  /** description: e.g. "/dev/watchdog (timeout 30 s)"; null without a watchdog. */
  watchdog: { description: string | null; timeoutSeconds: number | null; petting: boolean };
  storage: StorageStateFile;
  failure: { at: string; reason: string } | null;
  /** Set while the services refuse to start: their one-line message, and when the supervisor tries again. */
  startError: { at: string; message: string; retry: string } | null;
  factoryReset: { at: string; ok: boolean; detail: string } | null;
  sensors: {
    data: { mount: string; usedPercent: number; availableBytes: number; sizeBytes: number; readOnly: boolean } | null;
    disks: { mount: string; device: string | null; usedPercent: number; availableBytes: number; readOnly: boolean }[];
    memory: SensorReadings['memory'] | null;
    load: SensorReadings['load'] | null;
    temperatureC: number | null;
    throttling: SensorReadings['throttling'] | null;
    smart: SensorReadings['smart'] | null;
    readAt: string;
  } | null;
  updated: string;
}

/** Everything the report is made of, as the supervisor holds it. */
export interface ReportSnapshot extends StatusSnapshot {
  state: SupervisorState;
  /** undefined before the first LED change. */
  led: LedPattern | undefined;
  pid: number;
  hardware: SupervisorReport['hardware'];
  startedAt: string;
  child: { pid: number | undefined; startedAt: number; running: boolean } | undefined;
  restarts: number;
  setupDone: boolean | undefined;
  watchdog: SupervisorReport['watchdog'];
  startError: { at: string; message: string; retry: string } | null;
  lastReset: SupervisorReport['factoryReset'];
  readings: SensorReadings | undefined;
}

export function buildReport(s: ReportSnapshot, now = new Date()): SupervisorReport {
  const child = s.child;
  return {
    state: s.state,
    led: s.led ?? 'off',
    reasons: reportedReasons(s),
    pid: s.pid,
    hardware: s.hardware,
    startedAt: s.startedAt,
    services: {
      pid: child?.running ? (child.pid ?? null) : null,
      startedAt: child?.running ? new Date(child.startedAt).toISOString() : null,
      restarts: s.restarts,
      lastRestart: s.lastRestart,
      lastProbe: s.lastVerdict ? { at: s.lastVerdict.at, verdict: s.lastVerdict.verdict.verdict, detail: s.lastVerdict.verdict.detail } : null,
    },
    setupDone: s.setupDone ?? null,
    watchdog: s.watchdog,
    storage: s.storage,
    failure: s.phase === 'failed' ? s.failure : null,
    startError: s.phase === 'cannot-start' && s.startError ? { at: s.startError.at, message: s.startError.message, retry: s.startError.retry } : null,
    factoryReset: s.lastReset,
    sensors: s.readings ? sensorsSection(s.readings) : null,
    updated: now.toISOString(),
  };
}

/** The readings as the report shows them: every field present, null where the board has no such sensor. */
function sensorsSection(r: SensorReadings): NonNullable<SupervisorReport['sensors']> {
  return {
    data: r.data ? { mount: r.data.mount, usedPercent: r.data.usedPercent, availableBytes: r.data.availableBytes, sizeBytes: r.data.sizeBytes, readOnly: r.data.readOnly } : null,
    disks: r.disks.map((d) => ({ mount: d.mount, device: d.device ?? null, usedPercent: d.usedPercent, availableBytes: d.availableBytes, readOnly: d.readOnly })),
    memory: r.memory ?? null,
    load: r.load,
    temperatureC: r.temperatureC ?? null,
    throttling: r.throttling ?? null,
    smart: r.smart ?? null,
    readAt: r.readAt,
  };
}

/** Writes reports to one path, one at a time, the newest only. */
export class ReportWriter {
  /** The content (all but `updated`) of the last report queued. */
  private lastWritten = '';
  /** The newest report not yet on disk. */
  private pending: SupervisorReport | undefined;
  private writing: Promise<void> | undefined;
  private reportedWriteError = '';

  constructor(
    private readonly path: string,
    private readonly log: EventLog,
  ) {}

  /** Queues the report when its content differs from the last one, or always when forced. */
  offer(report: SupervisorReport, force: boolean): void {
    const { updated: _updated, ...content } = report;
    const key = JSON.stringify(content);
    if (!force && key === this.lastWritten) return;
    this.lastWritten = key;
    this.pending = report;
    this.writing ??= this.flush();
  }

  /** Resolves when every report queued so far is on disk (or failed to get there). */
  idle(): Promise<void> {
    return this.writing ?? Promise.resolve();
  }

  private async flush(): Promise<void> {
    while (this.pending) {
      const report = { ...this.pending, updated: new Date().toISOString() };
      this.pending = undefined;
      try {
        await writeJsonAtomic(this.path, report);
        this.reportedWriteError = '';
      } catch (error) {
        const message = (error as Error).message;
        if (message !== this.reportedWriteError) this.log.warn('supervisor state could not be written', { path: this.path, error: message });
        this.reportedWriteError = message;
      }
    }
    this.writing = undefined;
  }
}
