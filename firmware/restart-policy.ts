// When to restart the services and when to give up.
//
// Each restart waits longer than the one before: base × 2^n, at most max,
// where n counts the restarts since the services were last stable. Recovery
// has failed when maxRestarts restarts fell within windowMs and the services
// did not become stable in between; the supervisor then stops petting the
// watchdog so that the board resets.
//
// "Stable" is healthy for stableMs without a break (the supervisor calls
// stable()): a process that crashes a minute after each start still counts
// its restarts, so a crash loop cannot keep the watchdog fed for ever.

export interface RestartPolicyOptions {
  backoffBaseMs: number;
  backoffMaxMs: number;
  maxRestarts: number;
  windowMs: number;
}

export function backoffDelay(attempt: number, baseMs: number, maxMs: number): number {
  return Math.min(maxMs, baseMs * 2 ** Math.min(attempt, 30));
}

export type RestartDecision = { giveUp: false; attempt: number; delayMs: number } | { giveUp: true; recent: number };

export class RestartPolicy {
  /** When each restart since the last stable run happened. */
  private recent: number[] = [];

  constructor(private readonly options: RestartPolicyOptions) {}

  next(now = Date.now()): RestartDecision {
    this.recent = this.recent.filter((at) => now - at < this.options.windowMs);
    if (this.recent.length >= this.options.maxRestarts) return { giveUp: true, recent: this.recent.length };
    const attempt = this.recent.length;
    this.recent.push(now);
    return { giveUp: false, attempt, delayMs: backoffDelay(attempt, this.options.backoffBaseMs, this.options.backoffMaxMs) };
  }

  /** The services have been healthy long enough: the count starts again. */
  stable(): void {
    this.recent = [];
  }

  get recentRestarts(): number {
    return this.recent.length;
  }
}
