// What the LEDs show for each supervisor state. The table is the one in
// firmware/README.md and the project README; change them together.
//
// Every pattern is told apart on the status LED alone (most boards have one
// LED to spare): steady, even blinks of three speeds, groups of pulses, dark.
// The one exception is reset-pending (dark, like off), which shows only while a
// person holds the button. The alert LED (red PWR on a Pi), where there is one,
// adds emphasis for trouble.

import type { LedSignal } from '../hw/leds.ts';

export type LedPattern = 'off' | 'booting' | 'healthy' | 'setup-not-done' | 'degraded' | 'cannot-start' | 'failed' | 'reset-pending' | 'factory-reset';

export interface PatternSpec {
  status: LedSignal;
  alert: LedSignal;
  /** For the README and the web UI. */
  meaning: string;
}

const dark: LedSignal = { mode: 'off' };

export const ledPatterns: Record<LedPattern, PatternSpec> = {
  off: { status: dark, alert: dark, meaning: 'the supervisor is not running' },
  booting: { status: { mode: 'blink', onMs: 250, offMs: 250 }, alert: dark, meaning: 'starting (or stopping): the mail services are not answering yet' },
  healthy: { status: { mode: 'on' }, alert: dark, meaning: 'all is well' },
  'setup-not-done': {
    status: { mode: 'pulses', count: 2, onMs: 150, offMs: 150, pauseMs: 1200 },
    alert: dark,
    meaning: 'running, but no domain and user yet: open the setup wizard',
  },
  degraded: {
    status: { mode: 'blink', onMs: 1800, offMs: 200 },
    alert: { mode: 'blink', onMs: 1000, offMs: 1000 },
    meaning: 'working, with a problem: disk above 90 %, too hot, weak power, a failing disk, or the services restarting',
  },
  'cannot-start': {
    status: { mode: 'blink', onMs: 1000, offMs: 1000 },
    alert: { mode: 'on' },
    meaning: 'the services refuse to start because of something to fix (a setting, a port in use, ...): see the log; the board is not reset',
  },
  failed: {
    status: { mode: 'blink', onMs: 100, offMs: 100 },
    alert: { mode: 'on' },
    meaning: 'the services could not be recovered; the watchdog resets the board',
  },
  'reset-pending': { status: dark, alert: { mode: 'on' }, meaning: 'the reset button is held: keep holding for a factory reset, let go to cancel' },
  'factory-reset': {
    status: { mode: 'pulses', count: 3, onMs: 100, offMs: 100, pauseMs: 700 },
    alert: { mode: 'pulses', count: 3, onMs: 100, offMs: 100, pauseMs: 700 },
    meaning: 'factory reset: stored settings are being forgotten (mail and accounts are kept)',
  },
};
