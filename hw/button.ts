// The reset button: a GPIO input (through onoff) or a simulated one, and the
// PressDetector that turns its raw edges into presses, a "still holding"
// notice and a long press.
//
// Invariants:
// - An edge counts only after the level has stayed put for debounceMs; contact
//   bounce never makes two presses.
// - A long press fires once per press, while the button is still held, as soon
//   as it has been held for longPressMs; releasing it afterwards changes nothing.
// - A button that is already down when watching starts is ignored until it has
//   been released once: a stuck or unwired input never causes a long press.
// - close() clears every timer; nothing fires after it.

import { openGpio, type GpioLine } from './gpio.ts';

export interface ButtonInput {
  readonly name: string;
  /** The logical level now: true while pressed. */
  read(): boolean;
  /** Called with each raw change of level (bounces included). */
  watch(listener: (pressed: boolean) => void): void;
  close(): Promise<void>;
}

/** A button on a GPIO input. Wired between the pin and ground with a pull-up, it is active low (the default). */
export class GpioButton implements ButtonInput {
  private constructor(
    readonly name: string,
    private readonly line: GpioLine,
    private readonly onError: (error: Error) => void,
  ) {}

  static async open(gpio: number, options: { activeLow?: boolean; debounceMs?: number; onError?: (error: Error) => void } = {}): Promise<GpioButton> {
    const line = await openGpio(gpio, 'in', { edge: 'both', activeLow: options.activeLow ?? true, debounceMs: options.debounceMs ?? 0 });
    return new GpioButton(`gpio:${gpio}`, line, options.onError ?? (() => {}));
  }

  read(): boolean {
    return this.line.read();
  }

  watch(listener: (pressed: boolean) => void): void {
    this.line.watch(listener, this.onError);
  }

  async close(): Promise<void> {
    this.line.close();
  }
}

/** A button pressed by code: tests, and `mailnest firmware` in development (on SIGUSR1). */
export class SimulatedButton implements ButtonInput {
  private level = false;
  private readonly listeners: ((pressed: boolean) => void)[] = [];

  constructor(readonly name = 'simulated') {}

  read(): boolean {
    return this.level;
  }

  watch(listener: (pressed: boolean) => void): void {
    this.listeners.push(listener);
  }

  press(): void {
    this.set(true);
  }

  release(): void {
    this.set(false);
  }

  /** Sets the raw level, bounces included. */
  set(pressed: boolean): void {
    this.level = pressed;
    for (const listener of this.listeners) listener(pressed);
  }

  async close(): Promise<void> {
    this.listeners.length = 0;
  }
}

export interface PressHandlers {
  onPress?(): void;
  /** The button has been held for holdFeedbackMs: time to show that holding does something. */
  onHold?(): void;
  onLongPress?(): void;
  onRelease?(heldMs: number, long: boolean): void;
}

export interface PressTimings {
  debounceMs: number;
  holdFeedbackMs: number;
  longPressMs: number;
}

export const defaultPressTimings: PressTimings = { debounceMs: 50, holdFeedbackMs: 1000, longPressMs: 10_000 };

export class PressDetector {
  private readonly timings: PressTimings;
  /** The debounced level. */
  private stable: boolean;
  private raw: boolean;
  /** False while a button that was down at start has not been released yet. */
  private armed: boolean;
  private pressedAt: number | undefined;
  private longFired = false;
  private debounceTimer: NodeJS.Timeout | undefined;
  private holdTimer: NodeJS.Timeout | undefined;
  private longTimer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly input: ButtonInput,
    private readonly handlers: PressHandlers,
    timings: Partial<PressTimings> = {},
  ) {
    this.timings = { ...defaultPressTimings, ...timings };
    this.stable = this.raw = input.read();
    this.armed = !this.stable;
    input.watch((pressed) => this.onRaw(pressed));
  }

  /** True while a counted press is going on. */
  get pressed(): boolean {
    return this.pressedAt !== undefined;
  }

  /** Stops listening and clears every timer. The input stays open: it belongs to whoever opened it. */
  close(): void {
    this.closed = true;
    for (const timer of [this.debounceTimer, this.holdTimer, this.longTimer]) if (timer) clearTimeout(timer);
  }

  private onRaw(pressed: boolean): void {
    if (this.closed) return;
    this.raw = pressed;
    if (this.debounceTimer) clearTimeout(this.debounceTimer);
    this.debounceTimer = undefined;
    if (this.timings.debounceMs <= 0) return this.settle();
    this.debounceTimer = setTimeout(() => {
      this.debounceTimer = undefined;
      this.settle();
    }, this.timings.debounceMs);
  }

  private settle(): void {
    if (this.closed || this.raw === this.stable) return;
    this.stable = this.raw;
    if (this.stable) {
      if (!this.armed) return;
      this.pressedAt = Date.now();
      this.longFired = false;
      this.holdTimer = setTimeout(() => this.handlers.onHold?.(), this.timings.holdFeedbackMs);
      this.longTimer = setTimeout(() => {
        this.longFired = true;
        this.handlers.onLongPress?.();
      }, this.timings.longPressMs);
      this.handlers.onPress?.();
      return;
    }
    this.armed = true;
    if (this.pressedAt === undefined) return;
    for (const timer of [this.holdTimer, this.longTimer]) if (timer) clearTimeout(timer);
    const held = Date.now() - this.pressedAt;
    this.pressedAt = undefined;
    this.handlers.onRelease?.(held, this.longFired);
  }
}
