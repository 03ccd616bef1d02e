// What the supervisor's state, its reasons and the LED pattern are, computed
// from a snapshot of what it knows. Pure functions: the supervisor takes a
// snapshot whenever something changed (refresh) and shows what these return.
//
// Invariants:
// - The state follows from the phase alone, except in "running", where any
//   reason at all makes it "degraded" instead of "healthy".
// - Every reason is one phrase a person can act on; the report shows them only
//   in the phases where they explain something (reportedReasons).
// - A held reset button shows "reset-pending" over every state but the factory
//   reset itself and a stop; "setup-not-done" replaces "healthy" only.
// - The state and LED tables are the ones in firmware/README.md; change them together.

import type { LedPattern } from './led-patterns.ts';
import type { ProbeVerdict } from './probes.ts';
import type { StorageStateFile } from './run-files.ts';

/** Where the supervisor is in the lifecycle of the services; the state shown is computed from it. */
export type Phase = 'idle' | 'booting' | 'running' | 'recovering' | 'cannot-start' | 'failed' | 'resetting' | 'stopping' | 'stopped';

export type SupervisorState = 'booting' | 'healthy' | 'degraded' | 'recovering' | 'cannot-start' | 'failed' | 'factory-reset' | 'stopping' | 'stopped';

export interface StatusSnapshot {
  phase: Phase;
  /** The hardware warnings of the last sensor reading (conditions.ts). */
  warnings: readonly string[];
  storage: StorageStateFile;
  lastVerdict: { at: string; verdict: ProbeVerdict } | undefined;
  /** Failed probe rounds in a row. */
  probeFailures: number;
  lastRestart: { at: string; reason: string } | null;
  failure: { at: string; reason: string } | null;
  startError: { message: string } | null;
}

export function stateOf(s: StatusSnapshot): SupervisorState {
  switch (s.phase) {
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
      return reasonsOf(s).length ? 'degraded' : 'healthy';
  }
}

/** Why the state is not healthy, one phrase each. */
export function reasonsOf(s: StatusSnapshot): string[] {
  const reasons = [...s.warnings];
  if (s.storage.state !== 'ok') reasons.push(`storage ${s.storage.state}: ${s.storage.detail}`);
  const verdict = s.lastVerdict?.verdict;
  if (verdict && s.phase === 'running' && verdict.verdict === 'degraded') reasons.push(verdict.detail);
  if (s.probeFailures > 0 && verdict) reasons.push(`probe failing: ${verdict.detail}`);
  if (s.phase === 'recovering' && s.lastRestart) reasons.push(`services restarting: ${s.lastRestart.reason}`);
  if (s.phase === 'failed' && s.failure) reasons.push(s.failure.reason);
  if (s.phase === 'cannot-start' && s.startError) reasons.push(s.startError.message);
  return reasons;
}

/** The reasons the report shows: none while booting, resetting or stopping, where they would explain nothing. */
export function reportedReasons(s: StatusSnapshot): string[] {
  return s.phase === 'running' || s.phase === 'recovering' || s.phase === 'failed' || s.phase === 'cannot-start' ? reasonsOf(s) : [];
}

export function ledFor(state: SupervisorState, board: { buttonHeld: boolean; setupDone: boolean | undefined }): LedPattern {
  if (board.buttonHeld && state !== 'factory-reset' && state !== 'stopping' && state !== 'stopped') return 'reset-pending';
  switch (state) {
    case 'booting':
    case 'stopping':
      return 'booting';
    case 'healthy':
      return board.setupDone === false ? 'setup-not-done' : 'healthy';
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
