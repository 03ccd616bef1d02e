// The firmware supervisor: started by init, it owns the board (watchdog, LEDs,
// reset button, sensors) and keeps the services process running.
//
// This file is the orchestration: the lifecycle of the services child (spawn,
// stop, restart with backoff, the refusal to start, the failed state, the
// factory reset), the probe rounds and their verdicts, and the schedule of the
// loops. The jobs it hands out:
// - timings.ts: every duration it waits on, and the limits derived from them;
// - launch.ts, services-child.ts: the command lines and the child process;
// - probes.ts: /healthz, the greetings, and a round's verdict;
// - restart-policy.ts: backoff and when recovery has failed;
// - start-refusal.ts: what is watched while the services refuse to start;
// - sensor-watch.ts: the sensors, the warnings and storage-state.json;
// - watchdog-keeper.ts: arming, petting and disarming the watchdog;
// - status.ts: the state, the reasons and the LED pattern, from a snapshot;
// - report.ts: supervisor.json, built from a snapshot and written newest-only;
// - events.ts: what listeners (the CLI, tests) are told.
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
// - Every change of what status.ts computes from goes through refresh(), which
//   shows the LED and writes the report; every LED change, restart (with its
//   reason), watchdog change and storage change is logged as one line.
// - Talks to the services only across the process boundary: spawn, signals,
//   HTTP, TCP and the files in <data>/run.

import { mkdir } from 'node:fs/promises';
import { PressDetector } from '../hw/button.ts';
import type { Hardware } from '../hw/hardware.ts';
import { describeSignal } from '../hw/leds.ts';
import { defaultThresholds, type Thresholds } from './conditions.ts';
import { EventHub, type SupervisorEvent } from './events.ts';
import { startRefusedExitStatus, type CommandLine, type ServicesLaunch } from './launch.ts';
import { ledPatterns, type LedPattern } from './led-patterns.ts';
import type { EventLog } from './log.ts';
import { probeServices, type ProbeVerdict } from './probes.ts';
import { buildReport, ReportWriter, type ReportSnapshot, type SupervisorReport } from './report.ts';
import { RestartPolicy } from './restart-policy.ts';
import { readStartError, removeStartError, runDir, supervisorStatePath, writeButtonPress } from './run-files.ts';
import { SensorWatch } from './sensor-watch.ts';
import { describeExit, runOnce, ServicesChild, type OutputTarget } from './services-child.ts';
import { describeRefusal, RefusalWatch } from './start-refusal.ts';
import { ledFor, stateOf, type Phase, type StatusSnapshot, type SupervisorState } from './status.ts';
import { defaultTimings, exitGraceMs, loopStallLimitMs, type SupervisorTimings } from './timings.ts';
import { WatchdogKeeper } from './watchdog-keeper.ts';

// The public API of firmware/ as it was before the split into these files.
export { defaultTimings, type SupervisorTimings } from './timings.ts';
export type { SupervisorEvent } from './events.ts';
export type { SupervisorReport } from './report.ts';
export type { SupervisorState } from './status.ts';

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

export class Supervisor {
  private readonly timings: SupervisorTimings;
  private readonly thresholds: Thresholds;
  private readonly policy: RestartPolicy;
  private readonly log: EventLog;
  private readonly events: EventHub;
  private readonly startedAt = new Date().toISOString();
  private readonly sensors: SensorWatch;
  private readonly watchdog: WatchdogKeeper;
  private readonly reportWriter: ReportWriter;
  private readonly refusal: RefusalWatch;

  // The services child and its probes.
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
  private setupDone: boolean | undefined;

  // The refusal to start (this.refusal watches for a change).
  private startError: { at: string; message: string; retry: string } | null = null;
  /** The last start error logged at error level: the same one again is not reported again. */
  private reportedStartError = '';
  private refusalRetry: NodeJS.Timeout | undefined;

  /** When the health loop last completed a round (or had nothing to do). */
  private loopTurnedAt = Date.now();
  private probing = false;

  // The reset button and the factory reset.
  private button: PressDetector | undefined;
  private buttonHeld = false;
  private lastReset: SupervisorReport['factoryReset'] = null;

  // What was last shown (refresh).
  private led: LedPattern | undefined;
  private state: SupervisorState = 'booting';

  // The schedule.
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
    this.events = new EventHub(this.log);
    this.sensors = new SensorWatch({ dataDir: options.dataDir, sensors: options.hardware.sensors, thresholds: this.thresholds, log: this.log, events: this.events, startedAt: this.startedAt });
    this.watchdog = new WatchdogKeeper({ device: options.hardware.watchdog, timings: this.timings, log: this.log, events: this.events, changed: () => this.refresh() });
    this.reportWriter = new ReportWriter(supervisorStatePath(options.dataDir), this.log);
    this.refusal = new RefusalWatch(options.dataDir, this.timings.startRefusedMinGapMs);
  }

  /** Listens to what happens (tests, the CLI); returns the way to stop listening. */
  onEvent(listener: (event: SupervisorEvent) => void): () => void {
    return this.events.on(listener);
  }

  get report(): SupervisorReport {
    return buildReport(this.snapshot());
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
    await this.watchdog.arm();
    if (hardware.button) {
      this.button = new PressDetector(
        hardware.button,
        {
          onPress: () => {
            this.emit({ type: 'button', action: 'press' });
            // A short press is how the owner claims a fresh box in the setup wizard.
            writeButtonPress(this.options.dataDir).catch((error: unknown) => this.log.warn('cannot record the button press for the setup wizard', { error: (error as Error).message }));
          },
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
    await this.sensors.ensureStorageStateWritten();
    // A stop that came while the disks were measured: nothing more to start.
    if (this.stopRequested) return;
    this.spawnChild();
    // Ticks come at least once a second; a healthy child is asked every probeIntervalMs,
    // a starting one at every tick, so that "healthy" shows as soon as it is true.
    this.every(Math.min(1000, this.timings.probeIntervalMs), () => void this.probeRound());
    this.every(this.timings.sensorIntervalMs, () => void this.readSensors());
    this.every(this.timings.startRefusedCheckMs, () => void this.checkRefusal());
    if (this.watchdog.armed) this.every(this.watchdog.interval, () => this.petRound());
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
      await this.watchdog.disarm();
      this.phase = 'stopped';
      this.refresh();
      await this.reportWriter.idle();
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
      this.refusal.end();
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
    const resetIn = this.watchdog.armed?.timeoutMs;
    this.log.error('recovery failed: no longer petting the watchdog', {
      reason,
      ...(this.watchdog.armed ? { boardResetsInS: resetIn === undefined ? 'unknown' : Math.round(resetIn / 1000) } : { watchdog: 'none', retryInS: Math.round(this.timings.failedRetryMs / 1000) }),
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
    const { message, retry, listen } = describeRefusal(await readStartError(this.options.dataDir), child.pid, this.timings.startRefusedRetryMs);
    const retryInS = Math.round(this.timings.startRefusedRetryMs / 1000);
    this.phase = 'cannot-start';
    this.startError = { at: new Date().toISOString(), message, retry };
    await this.refusal.begin(listen);
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
    if (this.phase !== 'cannot-start') return;
    try {
      const why = await this.refusal.look();
      if (why && this.phase === 'cannot-start') this.retryRefused(why);
    } catch (error) {
      this.log.warn('could not look for a change while the services cannot start', { error: (error as Error).message });
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
      this.refusal.end();
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
        storageExplainsStoreFailure: this.sensors.storage.state !== 'ok',
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
    if (this.stopRequested) return;
    if (await this.sensors.read()) this.refresh(true);
  }

  private petRound(): void {
    if (this.phase === 'stopped') return;
    // The loop must have turned within a few rounds: a hung supervisor does not pet.
    const loopAlive = Date.now() - this.loopTurnedAt <= loopStallLimitMs(this.timings);
    this.watchdog.pet(this.phase !== 'failed' && loopAlive, loopAlive ? 'recovery failed' : 'the health loop is stuck');
  }

  // ------------------------------------------------------------ state, LEDs, report

  /** What status.ts computes the state and the reasons from. */
  private status(): StatusSnapshot {
    return {
      phase: this.phase,
      warnings: this.sensors.warnings,
      storage: this.sensors.storage,
      lastVerdict: this.lastVerdict,
      probeFailures: this.probeFailures,
      lastRestart: this.lastRestart,
      failure: this.failure,
      startError: this.startError,
    };
  }

  /** What report.ts builds supervisor.json from. */
  private snapshot(): ReportSnapshot {
    const child = this.child;
    return {
      ...this.status(),
      state: this.state,
      led: this.led,
      pid: process.pid,
      hardware: this.options.hardware.mode,
      startedAt: this.startedAt,
      child: child && { pid: child.pid, startedAt: child.startedAt, running: child.running },
      restarts: this.restarts,
      setupDone: this.setupDone,
      watchdog: this.watchdog.section,
      startError: this.startError,
      lastReset: this.lastReset,
      readings: this.sensors.readings,
    };
  }

  /** Recomputes state and LED pattern; shows and logs what changed; writes supervisor.json when it changed (or when forced). */
  private refresh(forceWrite = false): void {
    const state = stateOf(this.status());
    const led = ledFor(state, { buttonHeld: this.buttonHeld, setupDone: this.setupDone });
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
    this.reportWriter.offer(buildReport(this.snapshot()), forceWrite);
  }

  // ------------------------------------------------------------ plumbing

  private emit(event: SupervisorEvent): void {
    this.events.emit(event);
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
