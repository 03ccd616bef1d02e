// Every duration the supervisor waits on, in one place: the settings
// (SupervisorTimings, with their defaults) and the few limits derived from them.
//
// Invariants:
// - The defaults are the ones firmware/README.md states (probes every 5 s with a
//   3 s deadline, greetings every 60 s, 120 s to become healthy, three failures,
//   SIGTERM then SIGKILL after 30 s, backoff 1 s doubling to 60 s, five restarts
//   in 15 min, stable after 2 min, ...); change them together.
// - Tests shorten any of them (options.timings); nothing else may assume a value.
// - A new deadline or limit belongs here, beside the one it resembles.

import type { PressTimings } from '../hw/button.ts';

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

/** How long failed probes wait for an exit to be reported before restarting on their own account. */
export const exitGraceMs = 500;

/** How often the watchdog is petted: petIntervalMs, or a quarter of the device's timeout (100 ms to 10 s), or 5 s when the timeout is unknown. */
export function petInterval(timings: SupervisorTimings, watchdogTimeoutMs: number | undefined): number {
  if (timings.petIntervalMs !== undefined) return timings.petIntervalMs;
  return watchdogTimeoutMs === undefined ? 5_000 : Math.max(100, Math.min(10_000, Math.floor(watchdogTimeoutMs / 4)));
}

/** The health loop must have turned within this long, or the supervisor counts as hung and stops petting the watchdog. */
export function loopStallLimitMs(timings: SupervisorTimings): number {
  return Math.max(3 * timings.probeIntervalMs, timings.probeTimeoutMs * 4 + timings.probeIntervalMs);
}
