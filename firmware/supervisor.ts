// The firmware supervisor: started by init, it owns the board (watchdog, LEDs,
// reset button, sensors) and keeps the services process running.
//
// It spawns the services (launch.ts), probes them (probes.ts: /healthz, SMTP
// and IMAP greetings, the database write /healthz reports), restarts them with
// backoff (restart-policy.ts), reads the sensors and tells the services the
// storage condition (run-files.ts), shows its state on the LEDs
// (led-patterns.ts), writes <data>/run/supervisor.json for /healthz and the
// web UI, and turns a 10 s press of the reset button into a factory reset of
// the stored settings.
//
// Invariants:
// - The watchdog is petted only while the health loop completes its rounds
//   and recovery has not failed: healthy, degraded, booting, restarting with
//   backoff, cannot-start, resetting and stopping all pet; "failed" does not,
//   and the board resets. A supervisor that hangs stops petting too.
// - A services process that refuses to start (startRefusedExitStatus: a bad
//   setting, a port in use, ...) is not restarted and counts for nothing in the
//   restart policy: a reboot would meet the same error. Its message is logged
//   once; the next try waits for something that could have changed it
//   (start-refusal.ts), SIGHUP (retryNow) or startRefusedRetryMs.
// - At most one services process exists: a new one is spawned only after the
//   previous one has exited.
// - Restarts, the factory reset and the stop run one at a time, in order
//   (`flow`); a stop or a reset request cuts a backoff wait short.
// - Every LED change, restart (with its reason), watchdog change and storage
//   change is logged as one line.
// - Talks to the services only across the process boundary: spawn, signals,
//   HTTP, TCP and the files in <data>/run.

import { mkdir } from 'node:fs/promises';
import { PressDetector, type PressTimings } from '../hw/button.ts';
import type { Hardware } from '../hw/hardware.ts';
import { describeSignal } from '../hw/leds.ts';
import type { SensorReadings } from '../hw/sensors.ts';
import type { Watchdog } from '../hw/watchdog.ts';
import { defaultThresholds, hardwareWarnings, storageCondition, type Thresholds } from './conditions.ts';
import { startRefusedExitStatus, type CommandLine, type ServicesLaunch } from './launch.ts';
import { ledPatterns, type LedPattern } from './led-patterns.ts';
import type { EventLog } from './log.ts';
import { probeServices, type ProbeVerdict } from './probes.ts';
import { RestartPolicy } from './restart-policy.ts';
import { readStartError, removeStartError, runDir, storageStatePath, supervisorStatePath, writeJsonAtomic, type StorageStateFile } from './run-files.ts';
import { describeExit, runOnce, ServicesChild, type OutputTarget } from './services-child.ts';
import { changeMarks, portIsFree, whatChanged, type ChangeMarks } from './start-refusal.ts';

export interface SupervisorTimings extends PressTimings {
  /** How often /healthz is asked. */
  probeIntervalMs: number;
  probeTimeoutMs: number;
  /** How often greetings are checked (each one is a connection the services log). */
  greetingIntervalMs: number;
  /** How long a new services process may take to become healthy. */
  startTimeoutMs: number;
  /** Failed probes in a row, once healthy, before a restart. */
  unhealthyProbes: number;
  /** SIGTERM to SIGKILL. */
  stopTimeoutMs: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
  /** Restarts within restartWindowMs, without becoming stable, after which recovery has failed. */
  maxRestarts: number;
  restartWindowMs: number;
  /** Healthy this long without a break: the restart count starts again. */
  stableMs: number;
  /** After recovery failed and the board did not reset (no watchdog): try again this much later. */
  failedRetryMs: number;
  /** The services refused to start and nothing was seen to change: try again this much later. */
  startRefusedRetryMs: number;
  /** How often, while the services refuse to start, the settings, serve.pid and a busy port are looked at. */
  startRefusedCheckMs: number;
  /** A change seen sooner than this after a refusal waits until then (something that keeps changing cannot make a loop). */
  startRefusedMinGapMs: number;
  sensorIntervalMs: number;
  /** Default: a quarter of the watchdog's timeout, at most 10 s (5 s when the timeout is unknown). */
  petIntervalMs: number | undefined;
  /** How long the factory-reset LED pattern shows at least. */
  resetConfirmMs: number;
  resetTimeoutMs: number;
}

/** How long failed probes wait for an exit to be reported before restarting on their own account. */
const exitGraceMs = 500;

export const defaultTimings: SupervisorTimings = {
  probeIntervalMs: 5_000,
  probeTimeoutMs: 3_000,
  greetingIntervalMs: 60_000,
  startTimeoutMs: 120_000,
  unhealthyProbes: 3,
  stopTimeoutMs: 30_000,
  backoffBaseMs: 1_000,
  backoffMaxMs: 60_000,
  maxRestarts: 5,
  restartWindowMs: 15 * 60_000,
  stableMs: 2 * 60_000,
  failedRetryMs: 10 * 60_000,
  startRefusedRetryMs: 15 * 60_000,
  startRefusedCheckMs: 2_000,
  startRefusedMinGapMs: 10_000,
  sensorIntervalMs: 30_000,
  petIntervalMs: undefined,
  resetConfirmMs: 5_000,
  resetTimeoutMs: 120_000,
  debounceMs: 50,
  holdFeedbackMs: 1_000,
  longPressMs: 10_000,
};

export type SupervisorState = 'booting' | 'healthy' | 'degraded' | 'recovering' | 'cannot-start' | 'failed' | 'factory-reset' | 'stopping' | 'stopped';

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

export type SupervisorEvent =
  | { type: 'state'; state: SupervisorState; led: LedPattern }
  | { type: 'spawned'; pid: number | undefined }
  | { type: 'exited'; pid: number | undefined; info: string; expected: boolean }
  | { type: 'healthy'; pid: number | undefined }
  | { type: 'probe'; verdict: ProbeVerdict }
  | { type: 'restart'; reason: string; attempt: number; delayMs: number; restarts: number }
  | { type: 'failed'; reason: string }
  | { type: 'start-refused'; message: string; repeated: boolean }
  | { type: 'retry'; why: string }
  | { type: 'storage'; storage: StorageStateFile }
  | { type: 'watchdog'; petting: boolean }
  | { type: 'button'; action: 'press' | 'hold' | 'release' | 'long-press' }
  | { type: 'factory-reset'; phase: 'started' | 'done'; ok?: boolean; detail?: string }
  | { type: 'sensors'; readings: SensorReadings };

export interface SupervisorOptions {
  dataDir: string;
  launch: ServicesLaunch;
  /** The factory reset: `mailnest config reset --all --data DIR`. */
  resetCommand: CommandLine;
  hardware: Hardware;
  log: EventLog;
  timings?: Partial<SupervisorTimings>;
  thresholds?: Partial<Thresholds>;
  /** Where the services' output goes; inherited by default (their lines are already one event each). */
  servicesOutput?: OutputTarget;
  env?: NodeJS.ProcessEnv;
}

type Phase = 'idle' | 'booting' | 'running' | 'recovering' | 'cannot-start' | 'failed' | 'resetting' | 'stopping' | 'stopped';

export class Supervisor {
  private readonly timings: SupervisorTimings;
  private readonly thresholds: Thresholds;
  private readonly policy: RestartPolicy;
  private readonly log: EventLog;
  private readonly listeners = new Set<(event: SupervisorEvent) => void>();
  private readonly startedAt = new Date().toISOString();

  private phase: Phase = 'idle';
  private child: ServicesChild | undefined;
  /** The current child has passed a probe. */
  private childHealthy = false;
  private probeFailures = 0;
  private lastVerdict: { at: string; verdict: ProbeVerdict } | undefined;
  private lastGreetingAt = 0;
  private lastProbeAt = 0;
  private healthySince: number | undefined;
  private restarts = 0;
  private lastRestart: { at: string; reason: string } | null = null;
  private failure: { at: string; reason: string } | null = null;
  private startError: { at: string; message: string; retry: string; listen?: { host: string; port: number; code: string } } | null = null;
  /** The last start error logged at error level: the same one again is not reported again. */
  private reportedStartError = '';
  private refusedAt = 0;
  private refusalMarks: ChangeMarks | undefined;
  private refusalRetry: NodeJS.Timeout | undefined;
  private checkingRefusal = false;
  private lastReset: SupervisorReport['factoryReset'] = null;
  private setupDone: boolean | undefined;

  private readings: SensorReadings | undefined;
  private warnings: string[] = [];
  private storage: StorageStateFile;
  private storageWritten = false;

  private watchdog: Watchdog | undefined;
  private petting = false;
  private petFailed = false;
  /** When the health loop last completed a round (or had nothing to do). */
  private loopTurnedAt = Date.now();
  private probing = false;
  private sensing = false;

  private button: PressDetector | undefined;
  private buttonHeld = false;

  private led: LedPattern | undefined;
  private state: SupervisorState = 'booting';
  private lastWritten = '';
  /** The newest report not yet on disk; the writer takes the newest only, so a slow disk never builds a backlog. */
  private pendingReport: SupervisorReport | undefined;
  private writing: Promise<void> | undefined;
  private reportedWriteError = '';

  private flow: Promise<void> = Promise.resolve();
  private restartQueued = false;
  /** Probes failed enough: waiting a moment to learn whether the process is exiting anyway. */
  private probeRestartPending = false;
  private resetRequested = false;
  private stopRequested = false;
  private starting: Promise<void> | undefined;
  private stopping: Promise<void> | undefined;
  private readonly intervals: NodeJS.Timeout[] = [];
  private failedRetry: NodeJS.Timeout | undefined;
  private readonly wakers = new Set<() => void>();

  constructor(private readonly options: SupervisorOptions) {
    this.timings = { ...defaultTimings, ...options.timings };
    this.thresholds = { ...defaultThresholds, ...options.thresholds };
    this.policy = new RestartPolicy({
      backoffBaseMs: this.timings.backoffBaseMs,
      backoffMaxMs: this.timings.backoffMaxMs,
      maxRestarts: this.timings.maxRestarts,
      windowMs: this.timings.restartWindowMs,
    });
    this.log = options.log;
    this.storage = { state: 'ok', detail: 'not measured yet', since: this.startedAt };
  }

  /** Listens to what happens (tests, the CLI); returns the way to stop listening. */
  onEvent(listener: (event: SupervisorEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  get report(): SupervisorReport {
    return this.buildReport();
  }

  /** Arms the watchdog, shows "booting", measures the disks, starts the services and the loops. */
  start(): Promise<void> {
    if (this.starting) throw new Error('the supervisor was already started');
    this.starting = this.begin();
    return this.starting;
  }

  private async begin(): Promise<void> {
    const { hardware } = this.options;
    await mkdir(runDir(this.options.dataDir), { recursive: true });
    this.log.info('supervisor starting', { pid: process.pid, data: this.options.dataDir, hardware: hardware.mode, probe: `${this.options.launch.host}:${this.options.launch.ports.http}` });
    for (const note of hardware.notes) this.log.info('hardware', { note });

    this.phase = 'booting';
    if (hardware.watchdog) {
      try {
        await hardware.watchdog.open();
        this.watchdog = hardware.watchdog;
        this.petting = true;
        this.log.info('watchdog armed', { watchdog: hardware.watchdog.description, petEveryMs: this.petInterval() });
      } catch (error) {
        this.log.error('the watchdog could not be opened: running without it', { watchdog: hardware.watchdog.description, error: (error as Error).message });
      }
    }
    if (hardware.button) {
      this.button = new PressDetector(
        hardware.button,
        {
          onPress: () => this.emit({ type: 'button', action: 'press' }),
          onHold: () => {
            this.buttonHeld = true;
            this.log.info('reset button held: keep holding for a factory reset, let go to cancel', { button: hardware.button!.name, longPressMs: this.timings.longPressMs });
            this.emit({ type: 'button', action: 'hold' });
            this.refresh();
          },
          onLongPress: () => {
            this.buttonHeld = false;
            this.emit({ type: 'button', action: 'long-press' });
            this.factoryReset('the reset button was held');
          },
          onRelease: (heldMs, long) => {
            const wasHeld = this.buttonHeld;
            this.buttonHeld = false;
            if (wasHeld && !long) this.log.info('reset button released early: no factory reset', { heldMs });
            this.emit({ type: 'button', action: 'release' });
            this.refresh();
          },
        },
        { debounceMs: this.timings.debounceMs, holdFeedbackMs: this.timings.holdFeedbackMs, longPressMs: this.timings.longPressMs },
      );
    }
    this.refresh();
    await this.readSensors();
    if (!this.storageWritten) await this.writeStorageState();
    // A stop that came while the disks were measured: nothing more to start.
    if (this.stopRequested) return;
    this.spawnChild();
    // Ticks come at least once a second; a healthy child is asked every probeIntervalMs,
    // a starting one at every tick, so that "healthy" shows as soon as it is true.
    this.every(Math.min(1000, this.timings.probeIntervalMs), () => void this.probeRound());
    this.every(this.timings.sensorIntervalMs, () => void this.readSensors());
    this.every(this.timings.startRefusedCheckMs, () => void this.checkRefusal());
    if (this.watchdog) this.every(this.petInterval(), () => this.petRound());
  }

  /** Stops the services, then the loops; disarms the watchdog (magic close) and darkens the LEDs. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.stopRequested = true;
      this.wakeAll();
      // A start under way finishes first (it spawns nothing once a stop was asked for).
      await this.starting?.catch(() => {});
      if (this.failedRetry) clearTimeout(this.failedRetry);
      clearTimeout(this.refusalRetry);
      await this.enqueue(async () => {
        this.phase = 'stopping';
        this.refresh();
        await this.stopChild('the supervisor is stopping');
      });
      for (const timer of this.intervals) clearInterval(timer);
      this.button?.close();
      if (this.watchdog) {
        try {
          await this.watchdog.disarm();
          this.log.info('watchdog disarmed (magic close)', { watchdog: this.watchdog.description });
        } catch (error) {
          this.log.error('the watchdog could not be disarmed: the board may reset', { error: (error as Error).message });
        }
        this.petting = false;
      }
      this.phase = 'stopped';
      this.refresh();
      await this.writing;
      await this.options.hardware.close();
      this.log.info('supervisor stopped', { restarts: this.restarts });
    })();
    return this.stopping;
  }

  /** Stops the services, forgets the stored settings, starts the services again. Mail and accounts are kept. */
  factoryReset(why: string): void {
    if (this.resetRequested || this.stopRequested || this.phase === 'idle') return;
    this.resetRequested = true;
    if (this.failedRetry) clearTimeout(this.failedRetry);
    clearTimeout(this.refusalRetry);
    this.wakeAll();
    void this.enqueue(async () => {
      if (this.stopRequested) return;
      this.phase = 'resetting';
      const shownAt = Date.now();
      this.log.warn('factory reset: forgetting stored settings (mail and accounts are kept)', { why });
      this.emit({ type: 'factory-reset', phase: 'started' });
      this.refresh();
      await this.stopChild('factory reset');
      const result = await runOnce(this.options.resetCommand, this.timings.resetTimeoutMs, this.options.env);
      this.lastReset = { at: new Date().toISOString(), ...result };
      if (result.ok) this.log.info('factory reset done', { detail: result.detail });
      else this.log.error('factory reset failed: settings may be unchanged', { detail: result.detail });
      this.emit({ type: 'factory-reset', phase: 'done', ok: result.ok, detail: result.detail });
      await this.sleep(Math.max(0, this.timings.resetConfirmMs - (Date.now() - shownAt)));
      this.resetRequested = false;
      if (this.stopRequested) return;
      this.policy.stable();
      this.failure = null;
      this.startError = null;
      this.phase = 'booting';
      this.spawnChild();
      this.refresh();
    });
  }

  /**
   * Tries the services again now when they refused to start or recovery has
   * failed (SIGHUP: "I fixed it"); returns false, changing nothing, in any other state.
   */
  retryNow(why: string): boolean {
    if (this.phase === 'cannot-start') {
      this.retryRefused(why);
      return true;
    }
    if (this.phase === 'failed') {
      if (this.failedRetry) clearTimeout(this.failedRetry);
      this.failedRetry = undefined;
      this.retryFailed(why);
      return true;
    }
    return false;
  }

  // ------------------------------------------------------------ the services

  private spawnChild(): void {
    const launch = this.options.launch;
    // A start error left by an earlier child must not be taken for this one's (the pid is checked too).
    removeStartError(this.options.dataDir);
    const child = ServicesChild.spawn(launch, { output: this.options.servicesOutput, env: this.options.env });
    this.child = child;
    this.childHealthy = false;
    this.probeFailures = 0;
    this.lastGreetingAt = 0;
    this.healthySince = undefined;
    this.log.info('services started', { pid: child.pid, command: [launch.command, ...launch.args].join(' ') });
    this.emit({ type: 'spawned', pid: child.pid });
    void child.exited.then((info) => {
      this.emit({ type: 'exited', pid: child.pid, info: describeExit(info), expected: child.expectedExit });
      if (child.expectedExit || child !== this.child || this.stopRequested) return;
      this.child = undefined;
      if (info.code === startRefusedExitStatus) {
        void this.enqueue(() => this.refused(child));
        return;
      }
      this.log.warn('services exited', { pid: child.pid, how: describeExit(info) });
      this.restart(`the services process ended (${describeExit(info)})`);
    });
  }

  private async stopChild(why: string): Promise<void> {
    const child = this.child;
    if (!child) return;
    if (child.running) this.log.info('stopping services', { pid: child.pid, why });
    const info = await child.stop(this.timings.stopTimeoutMs);
    if (info.killed) this.log.warn('services did not stop in time: killed', { pid: child.pid, waitedMs: this.timings.stopTimeoutMs });
    if (this.child === child) this.child = undefined;
  }

  private restart(reason: string): void {
    if (this.restartQueued || this.stopRequested || this.resetRequested) return;
    if (this.phase !== 'booting' && this.phase !== 'running' && this.phase !== 'recovering') return;
    this.restartQueued = true;
    void this.enqueue(async () => {
      try {
        if (this.stopRequested || this.resetRequested) return;
        this.healthySince = undefined;
        this.probeFailures = 0;
        const decision = this.policy.next();
        if (decision.giveUp) {
          await this.stopChild('recovery failed');
          this.enterFailed(`${decision.recent} restarts within ${Math.round(this.timings.restartWindowMs / 1000)} s did not help; last: ${reason}`);
          return;
        }
        this.restarts++;
        this.lastRestart = { at: new Date().toISOString(), reason };
        this.phase = 'recovering';
        this.log.warn('restarting services', { reason, restart: this.restarts, attempt: decision.attempt + 1, delayMs: decision.delayMs });
        this.emit({ type: 'restart', reason, attempt: decision.attempt, delayMs: decision.delayMs, restarts: this.restarts });
        this.refresh();
        await this.stopChild(reason);
        await this.sleep(decision.delayMs);
        if (this.stopRequested || this.resetRequested) return;
        this.spawnChild();
        this.refresh();
      } finally {
        this.restartQueued = false;
      }
    });
  }

  // A killed process stops answering before its exit is reported; the probes
  // can see that first. Wait a moment so that the restart names the real
  // cause (the exit) rather than the refused connection it led to.
  private restartAfterFailedProbes(child: ServicesChild, reason: string): void {
    if (this.probeRestartPending) return;
    this.probeRestartPending = true;
    let timer: NodeJS.Timeout | undefined;
    const grace = new Promise<'alive'>((resolve) => {
      timer = setTimeout(() => resolve('alive'), exitGraceMs);
    });
    void Promise.race([child.exited.then(() => 'exited' as const), grace]).then((outcome) => {
      clearTimeout(timer);
      this.probeRestartPending = false;
      // An exit restarts through the exit handler, with its own reason.
      if (outcome === 'exited' || child !== this.child) return;
      this.restart(reason);
    });
  }

  private enterFailed(reason: string): void {
    this.phase = 'failed';
    this.failure = { at: new Date().toISOString(), reason };
    const resetIn = this.watchdog?.timeoutMs;
    this.log.error('recovery failed: no longer petting the watchdog', {
      reason,
      ...(this.watchdog ? { boardResetsInS: resetIn === undefined ? 'unknown' : Math.round(resetIn / 1000) } : { watchdog: 'none', retryInS: Math.round(this.timings.failedRetryMs / 1000) }),
    });
    this.emit({ type: 'failed', reason });
    this.refresh();
    this.petRound();
    // Without a watchdog (development), or if the board somehow did not reset, try again much later.
    this.failedRetry = setTimeout(() => {
      this.failedRetry = undefined;
      this.retryFailed(`${Math.round(this.timings.failedRetryMs / 1000)} s have passed`);
    }, this.timings.failedRetryMs);
    this.failedRetry.unref();
  }

  private retryFailed(why: string): void {
    void this.enqueue(async () => {
      if (this.phase !== 'failed' || this.stopRequested || this.resetRequested) return;
      this.log.info('trying the services again after recovery failed', { why });
      this.emit({ type: 'retry', why });
      this.policy.stable();
      this.phase = 'recovering';
      this.spawnChild();
      this.refresh();
    });
  }

  // ------------------------------------------------------------ a refusal to start

  /** The child exited with startRefusedExitStatus: report it (once), show it, and wait for a change. */
  private async refused(child: ServicesChild): Promise<void> {
    if (this.stopRequested || this.resetRequested || this.child) return;
    const file = await readStartError(this.options.dataDir);
    const record = file && file.pid === child.pid ? file : undefined;
    const message = record?.message ?? `the services refused to start (exit status ${startRefusedExitStatus}) and left no message in run/start-error.json; see their output`;
    const retryInS = Math.round(this.timings.startRefusedRetryMs / 1000);
    const busyPort = record?.listen?.code === 'EADDRINUSE' ? record.listen : undefined;
    const retry = `on SIGHUP, when a setting is changed${busyPort ? `, when port ${busyPort.port} is free again` : ''}, when another Mailnest holding the data folder stops, or in ${retryInS} s`;
    this.phase = 'cannot-start';
    this.refusedAt = Date.now();
    this.startError = { at: new Date().toISOString(), message, retry, ...(record?.listen ? { listen: record.listen } : {}) };
    this.refusalMarks = await changeMarks(this.options.dataDir);
    const repeated = message === this.reportedStartError;
    if (!repeated) {
      this.reportedStartError = message;
      this.log.error('the services cannot start: no restart until something changes', { error: message, retry });
    } else {
      this.log.info('the services still cannot start, for the same reason', { retry });
    }
    this.emit({ type: 'start-refused', message, repeated });
    clearTimeout(this.refusalRetry);
    this.refusalRetry = setTimeout(() => this.retryRefused(`${retryInS} s have passed`), this.timings.startRefusedRetryMs);
    this.refusalRetry.unref();
    this.refresh();
  }

  /** Looks for a change that could let the services start (start-refusal.ts). */
  private async checkRefusal(): Promise<void> {
    if (this.phase !== 'cannot-start' || this.checkingRefusal || !this.refusalMarks) return;
    if (Date.now() - this.refusedAt < this.timings.startRefusedMinGapMs) return;
    this.checkingRefusal = true;
    try {
      let why = whatChanged(this.refusalMarks, await changeMarks(this.options.dataDir));
      const listen = this.startError?.listen;
      if (!why && listen?.code === 'EADDRINUSE' && (await portIsFree(listen.host, listen.port))) why = `port ${listen.port} on ${listen.host} is free again`;
      if (why && this.phase === 'cannot-start') this.retryRefused(why);
    } catch (error) {
      this.log.warn('could not look for a change while the services cannot start', { error: (error as Error).message });
    } finally {
      this.checkingRefusal = false;
    }
  }

  private retryRefused(why: string): void {
    void this.enqueue(async () => {
      if (this.phase !== 'cannot-start' || this.stopRequested || this.resetRequested) return;
      clearTimeout(this.refusalRetry);
      this.refusalRetry = undefined;
      this.log.info('trying the services again', { why });
      this.emit({ type: 'retry', why });
      this.startError = null;
      this.refusalMarks = undefined;
      this.phase = 'booting';
      this.spawnChild();
      this.refresh();
    });
  }

  // ------------------------------------------------------------ the loops

  private async probeRound(): Promise<void> {
    if (this.probing) return; // the last round has not ended: loopTurnedAt stays old
    const child = this.child;
    const probePhase = this.phase === 'booting' || this.phase === 'running' || this.phase === 'recovering';
    const now = Date.now();
    const due = !this.childHealthy || this.probeFailures > 0 || now - this.lastProbeAt >= this.timings.probeIntervalMs - 5;
    if (!probePhase || !child || !child.running || this.restartQueued || this.probeRestartPending || this.resetRequested || !due) {
      this.loopTurnedAt = now;
      return;
    }
    this.probing = true;
    this.lastProbeAt = now;
    try {
      // After a failed round, greet every round: a greeting failure must be able to add up to a restart.
      const greet = this.childHealthy && (this.probeFailures > 0 || now - this.lastGreetingAt >= this.timings.greetingIntervalMs);
      const verdict = await probeServices(this.options.launch, child.pid, {
        timeoutMs: this.timings.probeTimeoutMs,
        greet,
        storageExplainsStoreFailure: this.storage.state !== 'ok',
      });
      if (child !== this.child || !child.running || this.restartQueued || this.resetRequested || this.stopRequested) return;
      if (greet) this.lastGreetingAt = now;
      this.judge(verdict, child);
    } catch (error) {
      this.log.error('probe round failed', { error: (error as Error).message });
    } finally {
      this.probing = false;
      this.loopTurnedAt = Date.now();
    }
  }

  private judge(verdict: ProbeVerdict, child: ServicesChild): void {
    const now = Date.now();
    const previous = this.lastVerdict?.verdict.verdict;
    this.lastVerdict = { at: new Date(now).toISOString(), verdict };
    if (verdict.setupDone !== undefined) this.setupDone = verdict.setupDone;
    this.emit({ type: 'probe', verdict });
    const age = now - child.startedAt;
    if (verdict.verdict === 'ok' || verdict.verdict === 'degraded') {
      if (this.probeFailures > 0) this.log.info('probes pass again', { pid: child.pid });
      this.probeFailures = 0;
      if (!this.childHealthy) {
        this.childHealthy = true;
        this.log.info('services healthy', { pid: child.pid, afterMs: age });
        this.reportedStartError = '';
        this.emit({ type: 'healthy', pid: child.pid });
        // Greet at once: a service can be "running" and still not answer.
        this.lastGreetingAt = 0;
      }
      if (verdict.verdict === 'degraded' && previous !== 'degraded') this.log.warn('services degraded', { detail: verdict.detail });
      if (this.phase === 'booting' || this.phase === 'recovering') this.phase = 'running';
      this.healthySince ??= now;
      if (now - this.healthySince >= this.timings.stableMs && this.policy.recentRestarts > 0) {
        this.log.info('services stable: the restart count starts again', { stableForMs: now - this.healthySince });
        this.policy.stable();
      }
    } else if (!this.childHealthy && verdict.verdict !== 'unhealthy') {
      // unreachable or starting, and never healthy yet: patience, up to startTimeoutMs.
      if (age > this.timings.startTimeoutMs) this.restart(`not healthy ${Math.round(age / 1000)} s after start: ${verdict.detail}`);
    } else {
      this.healthySince = undefined;
      this.probeFailures++;
      this.log.warn('probe failed', { pid: child.pid, detail: verdict.detail, failures: this.probeFailures, limit: this.timings.unhealthyProbes });
      if (this.probeFailures >= this.timings.unhealthyProbes) this.restartAfterFailedProbes(child, verdict.detail);
    }
    this.refresh();
  }

  private async readSensors(): Promise<void> {
    if (this.sensing || this.stopRequested) return;
    this.sensing = true;
    try {
      let readings: SensorReadings;
      try {
        readings = await this.options.hardware.sensors.read();
      } catch (error) {
        this.log.warn('sensors could not be read', { error: (error as Error).message });
        return;
      }
      this.readings = readings;
      this.emit({ type: 'sensors', readings });
      const warnings = hardwareWarnings(readings, this.thresholds);
      for (const w of warnings) if (!this.warnings.includes(w)) this.log.warn('warning', { detail: w });
      for (const w of this.warnings) if (!warnings.includes(w)) this.log.info('warning cleared', { detail: w });
      this.warnings = warnings;
      const condition = storageCondition(readings.data, this.thresholds);
      if (condition.state !== this.storage.state) {
        const since = new Date().toISOString();
        (condition.state === 'ok' ? this.log.info : this.log.warn).call(this.log, 'storage state', { state: condition.state, detail: condition.detail, was: this.storage.state });
        this.storage = { ...condition, since };
        await this.writeStorageState();
        this.emit({ type: 'storage', storage: this.storage });
      } else if (!this.storageWritten) {
        this.storage = { ...condition, since: this.storage.since };
      }
      this.refresh(true);
    } finally {
      this.sensing = false;
    }
  }

  private async writeStorageState(): Promise<void> {
    try {
      await writeJsonAtomic(storageStatePath(this.options.dataDir), this.storage);
      this.storageWritten = true;
    } catch (error) {
      // A read-only disk cannot hold the file: the services then meet EROFS themselves and answer temporary failures.
      this.log.error('storage state could not be written', { path: storageStatePath(this.options.dataDir), error: (error as Error).message });
    }
  }

  private petInterval(): number {
    if (this.timings.petIntervalMs !== undefined) return this.timings.petIntervalMs;
    const timeout = this.watchdog?.timeoutMs ?? this.options.hardware.watchdog?.timeoutMs;
    return timeout === undefined ? 5_000 : Math.max(100, Math.min(10_000, Math.floor(timeout / 4)));
  }

  private petRound(): void {
    if (!this.watchdog || this.phase === 'stopped') return;
    // The loop must have turned within a few rounds: a hung supervisor does not pet.
    const loopAlive = Date.now() - this.loopTurnedAt <= Math.max(3 * this.timings.probeIntervalMs, this.timings.probeTimeoutMs * 4 + this.timings.probeIntervalMs);
    const want = this.phase !== 'failed' && loopAlive;
    if (want !== this.petting) {
      this.petting = want;
      if (want) this.log.info('watchdog petting again', { watchdog: this.watchdog.description });
      else this.log.error('watchdog no longer petted: the board will reset', { watchdog: this.watchdog.description, why: loopAlive ? 'recovery failed' : 'the health loop is stuck' });
      this.emit({ type: 'watchdog', petting: want });
      this.refresh();
    }
    if (!want) return;
    this.watchdog.keepAlive().then(
      () => {
        if (this.petFailed) this.log.info('watchdog keep-alive works again');
        this.petFailed = false;
      },
      (error: unknown) => {
        if (!this.petFailed) this.log.error('watchdog keep-alive failed', { error: (error as Error).message });
        this.petFailed = true;
      },
    );
  }

  // ------------------------------------------------------------ state, LEDs, report

  private computeState(): SupervisorState {
    switch (this.phase) {
      case 'idle':
      case 'booting':
        return 'booting';
      case 'recovering':
        return 'recovering';
      case 'cannot-start':
        return 'cannot-start';
      case 'failed':
        return 'failed';
      case 'resetting':
        return 'factory-reset';
      case 'stopping':
        return 'stopping';
      case 'stopped':
        return 'stopped';
      case 'running':
        return this.reasons().length ? 'degraded' : 'healthy';
    }
  }

  private reasons(): string[] {
    const reasons = [...this.warnings];
    if (this.storage.state !== 'ok') reasons.push(`storage ${this.storage.state}: ${this.storage.detail}`);
    const verdict = this.lastVerdict?.verdict;
    if (verdict && this.phase === 'running' && verdict.verdict === 'degraded') reasons.push(verdict.detail);
    if (this.probeFailures > 0 && verdict) reasons.push(`probe failing: ${verdict.detail}`);
    if (this.phase === 'recovering' && this.lastRestart) reasons.push(`services restarting: ${this.lastRestart.reason}`);
    if (this.phase === 'failed' && this.failure) reasons.push(this.failure.reason);
    if (this.phase === 'cannot-start' && this.startError) reasons.push(this.startError.message);
    return reasons;
  }

  private ledFor(state: SupervisorState): LedPattern {
    if (this.buttonHeld && state !== 'factory-reset' && state !== 'stopping' && state !== 'stopped') return 'reset-pending';
    switch (state) {
      case 'booting':
      case 'stopping':
        return 'booting';
      case 'healthy':
        return this.setupDone === false ? 'setup-not-done' : 'healthy';
      case 'degraded':
      case 'recovering':
        return 'degraded';
      case 'cannot-start':
        return 'cannot-start';
      case 'failed':
        return 'failed';
      case 'factory-reset':
        return 'factory-reset';
      case 'stopped':
        return 'off';
    }
  }

  /** Recomputes state and LED pattern; shows and logs what changed; writes supervisor.json when it changed (or when forced). */
  private refresh(forceWrite = false): void {
    const state = this.computeState();
    const led = this.ledFor(state);
    const changed = state !== this.state || led !== this.led;
    this.state = state;
    if (led !== this.led) {
      const previous = this.led;
      this.led = led;
      const spec = ledPatterns[led];
      this.log.info('led', { pattern: led, was: previous, state, status: describeSignal(spec.status) });
      const { statusLed, alertLed } = this.options.hardware;
      for (const [part, signal] of [
        [statusLed, spec.status],
        [alertLed, spec.alert],
      ] as const) {
        part?.show(signal).catch((error: unknown) => this.log.warn('led could not be set', { led: part.name, error: (error as Error).message }));
      }
    }
    if (changed) this.emit({ type: 'state', state, led });
    this.writeReport(forceWrite);
  }

  private writeReport(force: boolean): void {
    const report = this.buildReport();
    const { updated: _updated, ...content } = report;
    const key = JSON.stringify(content);
    if (!force && key === this.lastWritten) return;
    this.lastWritten = key;
    this.pendingReport = report;
    this.writing ??= this.flushReports();
  }

  private async flushReports(): Promise<void> {
    const path = supervisorStatePath(this.options.dataDir);
    while (this.pendingReport) {
      const report = { ...this.pendingReport, updated: new Date().toISOString() };
      this.pendingReport = undefined;
      try {
        await writeJsonAtomic(path, report);
        this.reportedWriteError = '';
      } catch (error) {
        const message = (error as Error).message;
        if (message !== this.reportedWriteError) this.log.warn('supervisor state could not be written', { path, error: message });
        this.reportedWriteError = message;
      }
    }
    this.writing = undefined;
  }

  private buildReport(): SupervisorReport {
    const r = this.readings;
    const watchdog = this.watchdog;
    return {
      state: this.state,
      led: this.led ?? 'off',
      reasons: this.phase === 'running' || this.phase === 'recovering' || this.phase === 'failed' || this.phase === 'cannot-start' ? this.reasons() : [],
      pid: process.pid,
      hardware: this.options.hardware.mode,
      startedAt: this.startedAt,
      services: {
        pid: this.child?.running ? (this.child.pid ?? null) : null,
        startedAt: this.child?.running ? new Date(this.child.startedAt).toISOString() : null,
        restarts: this.restarts,
        lastRestart: this.lastRestart,
        lastProbe: this.lastVerdict ? { at: this.lastVerdict.at, verdict: this.lastVerdict.verdict.verdict, detail: this.lastVerdict.verdict.detail } : null,
      },
      setupDone: this.setupDone ?? null,
      watchdog: {
        description: watchdog?.description ?? null,
        timeoutSeconds: watchdog?.timeoutMs === undefined ? null : watchdog.timeoutMs / 1000,
        petting: watchdog !== undefined && this.petting,
      },
      storage: this.storage,
      failure: this.phase === 'failed' ? this.failure : null,
      startError: this.phase === 'cannot-start' && this.startError ? { at: this.startError.at, message: this.startError.message, retry: this.startError.retry } : null,
      factoryReset: this.lastReset,
      sensors: r
        ? {
            data: r.data ? { mount: r.data.mount, usedPercent: r.data.usedPercent, availableBytes: r.data.availableBytes, sizeBytes: r.data.sizeBytes, readOnly: r.data.readOnly } : null,
            disks: r.disks.map((d) => ({ mount: d.mount, device: d.device ?? null, usedPercent: d.usedPercent, availableBytes: d.availableBytes, readOnly: d.readOnly })),
            memory: r.memory ?? null,
            load: r.load,
            temperatureC: r.temperatureC ?? null,
            throttling: r.throttling ?? null,
            smart: r.smart ?? null,
            readAt: r.readAt,
          }
        : null,
      updated: new Date().toISOString(),
    };
  }

  // ------------------------------------------------------------ plumbing

  private emit(event: SupervisorEvent): void {
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch (error) {
        this.log.error('event listener failed', { event: event.type, error: (error as Error).message });
      }
    }
  }

  private enqueue(step: () => Promise<void>): Promise<void> {
    const run = this.flow.then(step).catch((error: unknown) => this.log.error('supervisor step failed', { error: (error as Error).stack ?? String(error) }));
    this.flow = run;
    return run;
  }

  private every(ms: number, tick: () => void): void {
    this.intervals.push(setInterval(tick, ms));
  }

  /** Waits ms, or less when a stop or a reset request wakes it. */
  private sleep(ms: number): Promise<void> {
    if (ms <= 0 || this.stopRequested) return Promise.resolve();
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.wakers.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.wakers.add(wake);
    });
  }

  private wakeAll(): void {
    for (const wake of [...this.wakers]) wake();
  }
}
