// The setup state machine: who may run the first-boot wizard.
//
//   unclaimed ──claim (code or button press)──▶ claimed ──complete──▶ complete
//                                               │    ▲
//                                               └────┘ a new claim replaces the owner's lost session
//
// Claiming needs physical presence: the setup code (shown on the console and
// kept in <data>/setup-code, 0600) or a press of the box's button (the
// firmware writes <data>/run/button-press; `mailnest setup claim` writes the
// same file). A press claims for the one browser that waits for it; when more
// than one waits, nobody wins and every waiting browser is told, since the
// owner cannot know which of them is theirs.
//
// Invariants:
// - The state lives in the database (setup_state, migration 5); this object
//   reads it at every call, so a CLI that completes the setup is seen at once.
// - The setup code is compared in constant time; wrong codes are slowed per
//   client and for everyone together (throttle.ts), so 40 bits of code cannot
//   be walked through.
// - At most maxWaiting browsers wait for a press, each for claimWaitMs.
// - A press counts only for browsers that were waiting before it happened.

import { createHash, randomBytes, randomInt, timingSafeEqual } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync as renameFile, rmSync, watch, writeFileSync, type FSWatcher } from 'node:fs';
import { join } from 'node:path';
import { addressKey } from '../core/connection-limits.ts';
import type { Logger } from '../core/log.ts';
import type { Store } from '../store/index.ts';
import type { SetupState } from '../store/web-front-door.ts';
import { ApiError, type WebSession } from './router.ts';
import type { Sessions } from './sessions.ts';
import { FailureThrottle } from './throttle.ts';

export type { SetupState };

/** No 0/O, 1/I/L: a code read off a screen is typed right. 32 letters: 5 bits each. */
export const setupCodeAlphabet = '23456789ABCDEFGHJKMNPQRSTUVWXYZ';
const codeLength = 8;

export function setupCodePath(dataDir: string): string {
  return join(dataDir, 'setup-code');
}

export function buttonPressPath(dataDir: string): string {
  return join(dataDir, 'run', 'button-press');
}

export interface ButtonPressFile {
  at: string;
  source: string;
  pid?: number;
}

export function newSetupCode(): string {
  let code = '';
  for (let i = 0; i < codeLength; i++) code += setupCodeAlphabet[randomInt(setupCodeAlphabet.length)];
  return `${code.slice(0, 4)}-${code.slice(4)}`;
}

/** What a person typed, in the form the code is kept in: upper case, one dash, look-alikes mapped. */
export function normalizeSetupCode(typed: string): string {
  const letters = typed.toUpperCase().replace(/[\s-]+/g, '').replace(/O/g, '0').replace(/[IL]/g, '1');
  return letters.length === codeLength ? `${letters.slice(0, 4)}-${letters.slice(4)}` : letters;
}

/** The code in <data>/setup-code, or undefined when there is none (or it is not one). */
export function readSetupCode(dataDir: string): string | undefined {
  try {
    const text = readFileSync(setupCodePath(dataDir), 'utf8').trim();
    return /^[2-9A-Z]{4}-[2-9A-Z]{4}$/.test(text) ? text : undefined;
  } catch {
    return undefined;
  }
}

/** Writes <data>/run/button-press (atomically; the services process watches for it). */
export function writeButtonPress(dataDir: string, source: string, at = new Date()): void {
  const run = join(dataDir, 'run');
  if (!existsSync(run)) mkdirSync(run, { mode: 0o700 });
  const path = buttonPressPath(dataDir);
  const temporary = `${path}.${process.pid}.tmp`;
  const file: ButtonPressFile = { at: at.toISOString(), source, pid: process.pid };
  writeFileSync(temporary, JSON.stringify(file) + '\n', { mode: 0o600 });
  renameFile(temporary, path);
}



export interface SetupOptions {
  store: Store;
  dataDir: string;
  sessions: Sessions;
  logger: Logger;
  /** How long a browser waits for a press. */
  claimWaitMs?: number;
  maxWaiting?: number;
}

interface WaitingClaim {
  id: string;
  client: string;
  startedAt: number;
  expiresAt: number;
  outcome: 'waiting' | 'contested' | { session: WebSession; cookie: string };
}

export type PollResult = { kind: 'waiting'; expiresAt: number } | { kind: 'claimed'; session: WebSession; cookie: string } | { kind: 'expired' } | { kind: 'contested' } | { kind: 'unknown' };

export const claimCookie = 'mailnest_claim';

export class SetupMachine {
  private code: string | undefined;
  private watcher: FSWatcher | undefined;
  private readonly waiting = new Map<string, WaitingClaim>();
  private readonly codeThrottle = new FailureThrottle({ freeFailures: 3, baseMs: 1000, maxMs: 60_000, maxKeys: 10_000 });
  private readonly everyCodeThrottle = new FailureThrottle({ freeFailures: 10, baseMs: 1000, maxMs: 60_000, maxKeys: 1 });
  private readonly claimWaitMs: number;
  private readonly maxWaiting: number;
  private lastPressAt = 0;

  constructor(private readonly options: SetupOptions) {
    this.claimWaitMs = options.claimWaitMs ?? 120_000;
    this.maxWaiting = options.maxWaiting ?? 16;
  }

  get state(): SetupState {
    return this.options.store.setup.get();
  }

  /** The code while the setup is not complete (for the console line and tests). */
  get setupCode(): string | undefined {
    return this.state === 'complete' ? undefined : this.code;
  }

  /** Reads or makes the setup code, and starts watching run/ for button presses. */
  start(): void {
    const { dataDir } = this.options;
    if (this.state !== 'complete') {
      this.code = readSetupCode(dataDir) ?? newSetupCode();
      writeFileSync(setupCodePath(dataDir), this.code + '\n', { mode: 0o600 });
    } else rmSync(setupCodePath(dataDir), { force: true });
    // A press left from before this start is stale: nobody was waiting for it.
    rmSync(buttonPressPath(dataDir), { force: true });
    const run = join(dataDir, 'run');
    if (!existsSync(run)) mkdirSync(run, { mode: 0o700 });
    try {
      this.watcher = watch(run, (_event, name) => {
        if (name === 'button-press') this.checkButtonPress();
      });
      this.watcher.on('error', (error) => this.options.logger.warn('cannot watch run/ for button presses; they are seen when a browser polls', { error }));
    } catch (error) {
      this.options.logger.warn('cannot watch run/ for button presses; they are seen when a browser polls', { error });
    }
  }

  stop(): void {
    this.watcher?.close();
    this.watcher = undefined;
  }

  /** Is this session the one that claimed the box, while the wizard runs? */
  isSetupSession(session: WebSession | undefined): boolean {
    return session?.setup === true && session.role === 'admin' && this.state === 'claimed';
  }

  /** May this admin session use admin routes now? Only the setup session while claimed; none while unclaimed. */
  adminAllowed(session: WebSession): boolean {
    const state = this.state;
    if (state === 'complete') return true;
    return state === 'claimed' && session.setup === true;
  }

  isWaiting(claimId: string | undefined): boolean {
    const claim = claimId ? this.waiting.get(claimId) : undefined;
    return claim !== undefined && claim.outcome === 'waiting' && claim.expiresAt > Date.now();
  }

  /** Claims by setup code; throws 403 bad-code or 429 when slowed. */
  claimByCode(typed: string, client: string): { session: WebSession; cookie: string } {
    this.requireClaimable();
    const clientKey = addressKey(client);
    const wait = Math.max(this.codeThrottle.waitMs(clientKey), this.everyCodeThrottle.waitMs('all'));
    if (wait > 0) throw slowDown(wait, 'too many wrong setup codes');
    const expected = this.code;
    const given = normalizeSetupCode(typed);
    // Compared as hashes: equal length whatever was typed, and timingSafeEqual on the digests.
    const digest = (text: string) => createHash('sha256').update(text).digest();
    const match = expected !== undefined && timingSafeEqual(digest(given), digest(expected));
    if (!match) {
      this.codeThrottle.failed(clientKey);
      this.everyCodeThrottle.failed('all');
      this.options.logger.warn('wrong setup code', { client });
      throw new ApiError(403, 'bad-code', 'that is not the setup code; it is shown on the console and kept in setup-code in the data folder (mailnest setup status)', 'code');
    }
    this.codeThrottle.succeeded(clientKey);
    return this.grant('code', client);
  }

  /** A browser starts waiting for a press: its claim id (for the claim cookie) and when it expires. */
  waitForButton(client: string): { id: string; expiresAt: number } {
    this.requireClaimable();
    const now = Date.now();
    for (const [id, claim] of this.waiting) if (claim.expiresAt <= now) this.waiting.delete(id);
    if (this.waiting.size >= this.maxWaiting) throw slowDown(this.claimWaitMs, 'too many browsers are waiting for the button');
    const claim: WaitingClaim = { id: randomBytes(24).toString('base64url'), client, startedAt: now, expiresAt: now + this.claimWaitMs, outcome: 'waiting' };
    this.waiting.set(claim.id, claim);
    this.options.logger.info('browser waits for the button', { client, waiting: this.waiting.size });
    return { id: claim.id, expiresAt: claim.expiresAt };
  }

  /** What a waiting browser learns when it asks again. */
  poll(claimId: string | undefined): PollResult {
    this.checkButtonPress();
    const claim = claimId ? this.waiting.get(claimId) : undefined;
    if (!claim) return { kind: 'unknown' };
    if (typeof claim.outcome === 'object') {
      this.waiting.delete(claim.id);
      return { kind: 'claimed', ...claim.outcome };
    }
    if (claim.outcome === 'contested') {
      this.waiting.delete(claim.id);
      return { kind: 'contested' };
    }
    if (claim.expiresAt <= Date.now()) {
      this.waiting.delete(claim.id);
      return { kind: 'expired' };
    }
    return { kind: 'waiting', expiresAt: claim.expiresAt };
  }

  /** Reads run/button-press, if there is a new one, and acts on it. */
  checkButtonPress(): void {
    const path = buttonPressPath(this.options.dataDir);
    let file: ButtonPressFile;
    try {
      file = JSON.parse(readFileSync(path, 'utf8')) as ButtonPressFile;
    } catch {
      return;
    }
    // Removed only after the press is acted on: `mailnest setup claim` takes the file's going as the sign that its press was seen.
    try {
      const at = Date.parse(String(file?.at));
      if (!Number.isFinite(at) || at <= this.lastPressAt) return;
      this.lastPressAt = at;
      this.press(String(file.source ?? 'button'), at);
    } finally {
      rmSync(path, { force: true });
    }
  }

  /** A press of the button (or `mailnest setup claim`) at time `at`. */
  press(source: string, at = Date.now()): void {
    const log = this.options.logger;
    if (this.state === 'complete') {
      log.info('button pressed: setup is complete, nothing to claim', { source });
      return;
    }
    const now = Date.now();
    const candidates = [...this.waiting.values()].filter((claim) => claim.outcome === 'waiting' && claim.expiresAt > now && claim.startedAt <= at + 1000);
    if (candidates.length === 0) {
      log.info('button pressed: no browser is waiting to claim the box', { source });
      return;
    }
    if (candidates.length > 1) {
      for (const claim of candidates) claim.outcome = 'contested';
      log.warn('button pressed while several browsers wait: none claims the box', { source, waiting: candidates.length, clients: candidates.map((c) => c.client).join(',') });
      return;
    }
    const claim = candidates[0]!;
    claim.outcome = this.grant(`button (${source})`, claim.client);
  }

  /** The answer of GET /api/setup. */
  describe(session: WebSession | undefined, claimId: string | undefined, hostname: string, certificate: { sha256: string; names: string[]; validTo: string }): Record<string, unknown> {
    const state = this.state;
    const body: Record<string, unknown> = { state, hostname, certificate, claim: { button: true, code: true, waiting: this.isWaiting(claimId) } };
    if (this.isSetupSession(session) || (state === 'complete' && session?.role === 'admin')) body.steps = this.steps();
    return body;
  }

  steps(): { adminPassword: boolean; domain: boolean; mailbox: boolean } {
    const { store } = this.options;
    return {
      adminPassword: store.admin.isSet(),
      domain: store.db.prepare('SELECT EXISTS (SELECT 1 FROM domains)').pluck().get() === 1,
      mailbox: store.db.prepare('SELECT EXISTS (SELECT 1 FROM accounts)').pluck().get() === 1,
    };
  }

  /** Ends the wizard: needs the admin password, a domain and a mailbox. */
  complete(by: string): void {
    const steps = this.steps();
    const missing = [!steps.adminPassword && 'the admin password', !steps.domain && 'a mail domain', !steps.mailbox && 'a mailbox'].filter(Boolean);
    if (missing.length) throw new ApiError(409, 'setup-incomplete', `the setup needs ${missing.join(', ')} first`);
    if (!this.options.store.setup.move(['claimed', 'unclaimed'], 'complete')) throw new ApiError(409, 'setup-complete', 'the setup is already complete');
    this.finished(by);
  }

  /** After the state became complete (here or by the CLI): the code is gone for good. */
  finished(by: string): void {
    rmSync(setupCodePath(this.options.dataDir), { force: true });
    this.code = undefined;
    this.waiting.clear();
    this.options.logger.info('setup complete', { by });
  }

  private requireClaimable(): void {
    if (this.state === 'complete') throw new ApiError(409, 'setup-complete', 'this box is already set up; sign in instead');
  }

  private grant(how: string, client: string): { session: WebSession; cookie: string } {
    const { store, sessions, logger } = this.options;
    const replaced = this.state === 'claimed';
    store.setup.move(['unclaimed', 'claimed'], 'claimed');
    sessions.endSetupSessions();
    // Every other browser still waiting is told it lost; they may wait again.
    for (const claim of this.waiting.values()) if (claim.outcome === 'waiting') claim.outcome = 'contested';
    const made = sessions.create('admin', 'admin', { setup: true });
    logger.info(replaced ? 'box claimed again: the earlier setup session is ended' : 'box claimed', { by: how, client });
    return made;
  }
}

function slowDown(waitMs: number, why: string): ApiError {
  const seconds = Math.max(1, Math.ceil(waitMs / 1000));
  return new ApiError(429, 'slow-down', `${why}; wait ${seconds} s and try again`, undefined, { 'retry-after': String(seconds) });
}

export { slowDown };
