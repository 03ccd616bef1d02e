// The watchdog as the supervisor holds it: armed at start, petted while the
// supervisor says so, disarmed with the magic close on a clean stop.
//
// Whether to pet is the supervisor's decision (its phase and whether its health
// loop turns, see petRound in supervisor.ts); this file carries it out and
// reports it.
//
// Invariants:
// - A watchdog that could not be opened is never petted nor disarmed: the
//   supervisor runs as if there were none, and says so once.
// - Each change between petting and not petting is one log line and one event;
//   a keep-alive that fails is logged once, and again when it works again.
// - Every keep-alive goes through pet(): the one call to the device while it runs.

import type { Watchdog } from '../hw/watchdog.ts';
import type { EventHub } from './events.ts';
import type { EventLog } from './log.ts';
import type { SupervisorReport } from './report.ts';
import { petInterval, type SupervisorTimings } from './timings.ts';

export interface WatchdogKeeperOptions {
  /** The board's watchdog, or undefined when there is none. */
  device: Watchdog | undefined;
  timings: SupervisorTimings;
  log: EventLog;
  events: EventHub;
  /** Called when petting starts or stops, after the log line and the event: the state shown must follow. */
  changed: () => void;
}

export class WatchdogKeeper {
  /** The watchdog once opened; undefined without one or when it could not be opened. */
  private watchdog: Watchdog | undefined;
  private petting = false;
  private petFailed = false;

  constructor(private readonly options: WatchdogKeeperOptions) {}

  get armed(): Watchdog | undefined {
    return this.watchdog;
  }

  /** How often pet() is to be called. */
  get interval(): number {
    return petInterval(this.options.timings, this.options.device?.timeoutMs);
  }

  /** Opens (arms) the watchdog: from here on it must be petted within its timeout. */
  async arm(): Promise<void> {
    const { device, log } = this.options;
    if (!device) return;
    try {
      await device.open();
      this.watchdog = device;
      this.petting = true;
      log.info('watchdog armed', { watchdog: device.description, petEveryMs: this.interval });
    } catch (error) {
      log.error('the watchdog could not be opened: running without it', { watchdog: device.description, error: (error as Error).message });
    }
  }

  /** Pets the watchdog when want is true; stops petting (the board resets) when false, for the reason whyNot. */
  pet(want: boolean, whyNot: string): void {
    const watchdog = this.watchdog;
    if (!watchdog) return;
    const { log } = this.options;
    if (want !== this.petting) {
      this.petting = want;
      if (want) log.info('watchdog petting again', { watchdog: watchdog.description });
      else log.error('watchdog no longer petted: the board will reset', { watchdog: watchdog.description, why: whyNot });
      this.options.events.emit({ type: 'watchdog', petting: want });
      this.options.changed();
    }
    if (!want) return;
    watchdog.keepAlive().then(
      () => {
        if (this.petFailed) log.info('watchdog keep-alive works again');
        this.petFailed = false;
      },
      (error: unknown) => {
        if (!this.petFailed) log.error('watchdog keep-alive failed', { error: (error as Error).message });
        this.petFailed = true;
      },
    );
  }

  /** The magic close, for a clean stop: the board does not reset. */
  async disarm(): Promise<void> {
    const watchdog = this.watchdog;
    if (!watchdog) return;
    try {
      await watchdog.disarm();
      this.options.log.info('watchdog disarmed (magic close)', { watchdog: watchdog.description });
    } catch (error) {
      this.options.log.error('the watchdog could not be disarmed: the board may reset', { error: (error as Error).message });
    }
    this.petting = false;
  }

  get section(): SupervisorReport['watchdog'] {
    const watchdog = this.watchdog;
    return {
      description: watchdog?.description ?? null,
      timeoutSeconds: watchdog?.timeoutMs === undefined ? null : watchdog.timeoutMs / 1000,
      petting: watchdog !== undefined && this.petting,
    };
  }
}
