// Plays a blinking LED signal in software, for LEDs whose driver cannot blink on
// its own (GPIO LEDs, LED class devices without the timer trigger, pulse groups).
//
// Invariants:
// - At most one timer is pending; stop() clears it (the caller sets what comes next).
// - Timers are unref'd: a blinking LED never keeps a process alive by itself.
// - A failed write is not retried and does not stop the pattern: the next step
//   writes again (a sysfs write can fail transiently while a driver rebinds).

import type { LedSignal } from './leds.ts';

type Step = [lit: boolean, ms: number];

/** The on/off steps of one period of a signal; empty for steady signals. */
export function stepsOf(signal: LedSignal): Step[] {
  switch (signal.mode) {
    case 'off':
    case 'on':
      return [];
    case 'blink':
      return [
        [true, signal.onMs],
        [false, signal.offMs],
      ];
    case 'pulses': {
      const steps: Step[] = [];
      for (let i = 0; i < signal.count; i++) steps.push([true, signal.onMs], [false, i === signal.count - 1 ? signal.pauseMs : signal.offMs]);
      return steps;
    }
  }
}

export class SoftwareBlinker {
  private timer: NodeJS.Timeout | undefined;
  private generation = 0;

  constructor(private readonly write: (lit: boolean) => void | Promise<void>) {}

  play(signal: LedSignal): void {
    this.stop();
    const steps = stepsOf(signal);
    if (steps.length === 0) return;
    const generation = ++this.generation;
    let index = 0;
    const step = () => {
      if (generation !== this.generation) return;
      const [lit, ms] = steps[index]!;
      index = (index + 1) % steps.length;
      this.apply(lit);
      this.timer = setTimeout(step, Math.max(10, ms));
      this.timer.unref();
    };
    step();
  }

  stop(): void {
    this.generation++;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private apply(lit: boolean): void {
    try {
      const result = this.write(lit);
      if (result) result.catch(() => {});
    } catch {
      // see the invariants: the next step writes again
    }
  }
}
