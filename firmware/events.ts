// What the supervisor tells its listeners (the CLI, the tests) as it happens:
// one SupervisorEvent per step, delivered at once, in order.
//
// Invariants:
// - Events are for watching only: the log line of each step is written by the
//   supervisor itself, whether anyone listens or not.
// - A listener that throws is logged and skipped; it never stops the supervisor
//   or the listeners after it.

import type { SensorReadings } from '../hw/sensors.ts';
import type { LedPattern } from './led-patterns.ts';
import type { EventLog } from './log.ts';
import type { ProbeVerdict } from './probes.ts';
import type { StorageStateFile } from './run-files.ts';
import type { SupervisorState } from './status.ts';

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

export class EventHub {
  private readonly listeners = new Set<(event: SupervisorEvent) => void>();

  constructor(private readonly log: EventLog) {}

  /** Returns the way to stop listening. */
  on(listener: (event: SupervisorEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  emit(event: SupervisorEvent): void {
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch (error) {
        this.log.error('event listener failed', { event: event.type, error: (error as Error).message });
      }
    }
  }
}
