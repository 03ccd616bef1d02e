// A growing delay after failures, per key (a client address, a login name,
// "every code attempt"): after `freeFailures` failures in a row the next
// attempt must wait baseMs, then twice as long after each further failure, up
// to maxMs. A key with no failure for forgetMs is forgotten.
//
// Invariants: at most maxKeys keys are held; when full, the key that failed
// least recently is dropped first (a Map keeps insertion order, and each
// failure re-inserts its key), so an attacker with many addresses costs
// memory of maxKeys entries, never more.

export interface ThrottleOptions {
  maxKeys?: number;
  freeFailures?: number;
  baseMs?: number;
  maxMs?: number;
  forgetMs?: number;
}

interface Entry {
  failures: number;
  lastFailureAt: number;
  allowedAt: number;
}

export class FailureThrottle {
  private readonly entries = new Map<string, Entry>();
  private readonly maxKeys: number;
  private readonly freeFailures: number;
  private readonly baseMs: number;
  private readonly maxMs: number;
  private readonly forgetMs: number;

  constructor(options: ThrottleOptions = {}) {
    this.maxKeys = options.maxKeys ?? 10_000;
    this.freeFailures = options.freeFailures ?? 1;
    this.baseMs = options.baseMs ?? 1000;
    this.maxMs = options.maxMs ?? 5 * 60_000;
    this.forgetMs = options.forgetMs ?? 15 * 60_000;
  }

  get size(): number {
    return this.entries.size;
  }

  /** How long the key must still wait before its next attempt (0: it may try now). */
  waitMs(key: string, now = Date.now()): number {
    const entry = this.entries.get(key);
    if (!entry) return 0;
    if (now - entry.lastFailureAt > this.forgetMs) {
      this.entries.delete(key);
      return 0;
    }
    return Math.max(0, entry.allowedAt - now);
  }

  /** The longest wait of several keys. */
  waitMsAny(keys: readonly string[], now = Date.now()): number {
    return Math.max(0, ...keys.map((key) => this.waitMs(key, now)));
  }

  failed(key: string, now = Date.now()): void {
    const previous = this.entries.get(key);
    const failures = previous && now - previous.lastFailureAt <= this.forgetMs ? previous.failures + 1 : 1;
    const delay = failures <= this.freeFailures ? 0 : Math.min(this.maxMs, this.baseMs * 2 ** Math.min(30, failures - this.freeFailures - 1));
    this.entries.delete(key);
    this.entries.set(key, { failures, lastFailureAt: now, allowedAt: now + delay });
    while (this.entries.size > this.maxKeys) this.entries.delete(this.entries.keys().next().value as string);
  }

  succeeded(key: string): void {
    this.entries.delete(key);
  }
}
