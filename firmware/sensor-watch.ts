// The board's sensors as the supervisor sees them: each reading, the warnings
// it raises or clears (conditions.ts), and the storage condition the services
// must respect, written to <data>/run/storage-state.json for them.
//
// Invariants:
// - One reading at a time: a reading still under way when the next is due is
//   not doubled.
// - storage-state.json is written at start (before the services are spawned,
//   ensureStorageStateWritten) and whenever the state changes; `since` is when
//   the state began, so a reading that changes nothing keeps it.
// - Each warning raised or cleared, and each storage change, is one log line.
// - A read-only disk cannot hold the file: the write fails and is logged, and
//   the services meet EROFS themselves and answer temporary failures.
// - Every sensor reading goes through read(), and every storage-state write
//   through writeStorageState(): the only calls to the hardware and the disk here.

import type { Sensors, SensorReadings } from '../hw/sensors.ts';
import { hardwareWarnings, storageCondition, type Thresholds } from './conditions.ts';
import type { EventHub } from './events.ts';
import type { EventLog } from './log.ts';
import { storageStatePath, writeJsonAtomic, type StorageStateFile } from './run-files.ts';

export interface SensorWatchOptions {
  dataDir: string;
  sensors: Sensors;
  thresholds: Thresholds;
  log: EventLog;
  events: EventHub;
  /** When the supervisor started: the `since` of the storage state until the first reading. */
  startedAt: string;
}

export class SensorWatch {
  /** The last reading, undefined until the first one succeeds. */
  readings: SensorReadings | undefined;
  /** Why the board is degraded, from the last reading. */
  warnings: string[] = [];
  storage: StorageStateFile;
  private storageWritten = false;
  private reading = false;

  constructor(private readonly options: SensorWatchOptions) {
    this.storage = { state: 'ok', detail: 'not measured yet', since: options.startedAt };
  }

  /** Reads the sensors once; true when a reading was taken (the report then wants writing), false when it failed or one was under way. */
  async read(): Promise<boolean> {
    if (this.reading) return false;
    this.reading = true;
    const { log, events } = this.options;
    try {
      let readings: SensorReadings;
      try {
        readings = await this.options.sensors.read();
      } catch (error) {
        log.warn('sensors could not be read', { error: (error as Error).message });
        return false;
      }
      this.readings = readings;
      events.emit({ type: 'sensors', readings });
      const warnings = hardwareWarnings(readings, this.options.thresholds);
      for (const w of warnings) if (!this.warnings.includes(w)) log.warn('warning', { detail: w });
      for (const w of this.warnings) if (!warnings.includes(w)) log.info('warning cleared', { detail: w });
      this.warnings = warnings;
      const condition = storageCondition(readings.data, this.options.thresholds);
      if (condition.state !== this.storage.state) {
        const since = new Date().toISOString();
        (condition.state === 'ok' ? log.info : log.warn).call(log, 'storage state', { state: condition.state, detail: condition.detail, was: this.storage.state });
        this.storage = { ...condition, since };
        await this.writeStorageState();
        events.emit({ type: 'storage', storage: this.storage });
      } else if (!this.storageWritten) {
        this.storage = { ...condition, since: this.storage.since };
      }
      return true;
    } finally {
      this.reading = false;
    }
  }

  /** At start: the services must find a storage state, even "ok", even when no reading changed it. */
  async ensureStorageStateWritten(): Promise<void> {
    if (!this.storageWritten) await this.writeStorageState();
  }

  private async writeStorageState(): Promise<void> {
    const path = storageStatePath(this.options.dataDir);
    try {
      await writeJsonAtomic(path, this.storage);
      this.storageWritten = true;
    } catch (error) {
      this.options.log.error('storage state could not be written', { path, error: (error as Error).message });
    }
  }
}
