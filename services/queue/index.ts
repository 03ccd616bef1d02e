// services/queue: sends the mail waiting in the outbound table to other
// servers. See README.md for the RFCs and the invariants.

import { setMaxListeners } from 'node:events';
import { stat } from 'node:fs/promises';
import { Readable } from 'node:stream';
import type { Logger } from '../core/log.ts';
import type { Service, ServiceHealth, ServiceState } from '../core/service.ts';
import type { StorageState } from '../core/storage-state.ts';
import type { MessageSigner } from '../dkim/index.ts';
import type { MailResolver } from '../dns/index.ts';
import type { OutboundRow, Store } from '../store/index.ts';
import type { BodyAnalyzer } from '../store/receive.ts';
import { statusOf } from './dsn.ts';
import { fromDomainOf, returnPathLength, withPrefix } from './message-file.ts';
import { DeliveryReports } from './reports.ts';
import { QueueResults } from './results.ts';
import { route, routeKey, RouteError, type Route } from './routes.ts';
import { defaultReuseLimits, SessionCache, type ReuseLimits } from './session-cache.ts';
import { runSession, type RecipientOutcome, type SessionResult, type SessionTarget } from './smtp-session.ts';

export interface QueueTimings {
  /** The first retry comes this long after a temporary failure; each later one waits twice as long... */
  retryBaseMs: number;
  /** ...up to this. */
  retryMaxMs: number;
  /** After this long the message is given up on and bounced (RFC 5321 §4.5.4.1: 4-5 days). */
  lifetimeMs: number;
  /** After this long undelivered, the sender is told once that it is still being tried. */
  delayWarningMs: number;
  /** How often the table is read even when nothing is due (picks up `mailnest queue retry`), and results that could not be written are tried again. */
  pollMs: number;
  /** Connecting, and waiting for the greeting and the TLS handshake. */
  connectTimeoutMs: number;
  /** RFC 5321 §4.5.3.2: the wait for each reply (MAIL, RCPT, DATA) and for each block of the message to be taken. */
  socketTimeoutMs: number;
  /** RFC 5321 §4.5.3.2.6: the wait for the reply to the final dot. */
  dataTimeoutMs: number;
  /** How long stop() waits for the replies to final dots already sent, so that their results are recorded. */
  stopWaitMs: number;
}

export const defaultQueueTimings: QueueTimings = {
  retryBaseMs: 5 * 60_000,
  retryMaxMs: 60 * 60_000,
  lifetimeMs: 5 * 24 * 3600_000,
  delayWarningMs: 4 * 3600_000,
  pollMs: 15_000,
  // RFC 5321 §4.5.3.2 allows minutes; a home server with a queue can wait for a retry instead.
  connectTimeoutMs: 60_000,
  socketTimeoutMs: 5 * 60_000,
  // RFC 5321 §4.5.3.2.6: the server may be filtering the message; giving up early sends it twice.
  dataTimeoutMs: 10 * 60_000,
  // Within the supervisor's 30 s between SIGTERM and SIGKILL, leaving time for the other services.
  stopWaitMs: 20_000,
};

export interface QueueOptions {
  store: Store;
  resolver: MailResolver;
  signer: MessageSigner;
  createAnalyzer: () => BodyAnalyzer;
  /** Our name: EHLO, Reporting-MTA, the MAILER-DAEMON address. */
  hostname: string;
  logger: Logger;
  /** What the supervisor says about the data disk; while it is read-only no attempt starts. Without it, the disk is the judge. */
  storage?: () => StorageState;
  timings?: Partial<QueueTimings>;
  /** Connections open at once, in all. */
  maxConnections?: number;
  /** Connections open at once to one destination (a domain's MXes, a transport host, the relay). */
  maxPerDestination?: number;
  /** The port MX hosts are reached on: 25, except in tests. */
  mxPort?: number;
  /** Recipients in one transaction (RFC 5321 §4.5.3.1.8: servers must take 100). */
  maxRecipientsPerTransaction?: number;
  /** Connection reuse between messages to one server (session-cache.ts); `maxMessages: 1` turns it off. */
  reuse?: Partial<ReuseLimits>;
}

interface Batch {
  rows: OutboundRow[];
  domain: string;
  key: string;
}

/** What a send came to: outcomes to record, or an attempt cut off by stop() that records nothing. */
type SendResult = { outcomes: RecipientOutcome[]; remote?: string } | { cutOff: true; dotSent: boolean };

/** Rows read from the table at most in one scan. */
const scanLimit = 2000;

/** Every session and DNS wait listens on the queue's signals: as many listeners as connections, legitimately. */
function signalSource(): AbortController {
  const controller = new AbortController();
  setMaxListeners(0, controller.signal);
  return controller;
}

export class QueueService implements Service {
  readonly name = 'queue';
  private state: ServiceState = 'stopped';
  private readonly timings: QueueTimings;
  private readonly inFlight = new Set<number>();
  private readonly perDestination = new Map<string, number>();
  private readonly running = new Set<Batch>();
  private readonly attempts = new Set<Promise<void>>();
  /** Aborted by stop(): cuts off the attempts that have not sent the final dot. */
  private stopping = signalSource();
  /** Aborted when stop() will wait no longer: cuts off the rest. */
  private abandoning = signalSource();
  private stopped: Promise<void> | undefined;
  /** What was recorded of each attempt, kept in memory while the database refuses it. */
  private readonly results: QueueResults;
  private readonly reports: DeliveryReports;
  /** Why no attempt starts now (storage read-only, results not written), logged once when it begins. */
  private paused: string | undefined;
  private timer: NodeJS.Timeout | undefined;
  private scanning = false;
  private rescan = false;
  private counts = { sent: 0, deferred: 0, bounced: 0, warned: 0 };
  /** Connections kept open between messages to the same server (as Postfix's connection cache). */
  readonly sessions: SessionCache;
  /**
   * Batches the last scan found due for a destination at its connection limit:
   * an attempt that ends takes the next one straight away (after checking its
   * rows are still due), so a backlog to one server flows over its open
   * connections without a scan of the whole table per message. Replaced by
   * each scan.
   */
  private readonly backlog = new Map<string, Batch[]>();

  constructor(private readonly options: QueueOptions) {
    this.timings = { ...defaultQueueTimings, ...options.timings };
    this.sessions = new SessionCache({ ...defaultReuseLimits, ...options.reuse }, this.maxConnections);
    this.results = new QueueResults(options.store, this.timings, options.logger, (id) => this.inFlight.has(id));
    this.reports = new DeliveryReports({ store: options.store, createAnalyzer: options.createAnalyzer, hostname: options.hostname, onQueued: () => this.kick() });
  }

  async start(): Promise<void> {
    this.state = 'running';
    this.stopped = undefined;
    this.stopping = signalSource();
    this.abandoning = signalSource();
    this.sessions.reopen();
    const waiting = this.options.store.outbound.count();
    if (waiting > 0) this.options.logger.info('messages waiting to be sent', { recipients: waiting });
    this.kick();
  }

  /** Something was queued or made due, or the storage state changed: look at the table now. */
  kick(): void {
    if (this.state === 'running') this.wake(0);
  }

  /**
   * Attempts that have not sent the final dot are cut off at once (their rows
   * stay as they were, due again at the next start); those waiting for the
   * reply to the dot get up to `stopWaitMs`, so that their result is
   * recorded. When this resolves, no attempt is left and nothing of the queue
   * touches the store again.
   */
  stop(): Promise<void> {
    if (this.state === 'stopped') return Promise.resolve();
    this.stopped ??= (async () => {
      this.state = 'stopping';
      clearTimeout(this.timer);
      this.stopping.abort();
      const patience = setTimeout(() => this.abandoning.abort(), this.timings.stopWaitMs);
      try {
        while (this.attempts.size > 0) await Promise.allSettled([...this.attempts]);
        // Parked connections say QUIT; none is parked from here on.
        await this.sessions.closeAll();
      } finally {
        clearTimeout(patience);
      }
      if (!this.results.writeUnwritten()) {
        this.options.logger.warn('stopped with results that could not be written; those messages may be sent again after the restart', this.results.unwritten);
      }
      this.state = 'stopped';
    })();
    return this.stopped;
  }

  health(): ServiceHealth {
    let queued = 0;
    try {
      queued = this.options.store.isOpen ? this.options.store.outbound.count() : 0;
    } catch {
      // a store that cannot be read is reported by the store's own health
    }
    return { state: this.state, queued, sending: this.inFlight.size, ...this.counts };
  }

  private wake(delayMs: number): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.scan(), Math.max(0, delayMs));
    this.timer.unref();
  }

  /** Starts an attempt for every due batch the connection limits allow, then sleeps until the next one is due. */
  private async scan(): Promise<void> {
    if (this.state !== 'running') return;
    if (this.scanning) {
      this.rescan = true;
      return;
    }
    this.scanning = true;
    let next: number;
    try {
      next = this.startDue();
    } catch (error) {
      this.options.logger.error('queue scan failed', { error });
      next = this.timings.pollMs;
    } finally {
      this.scanning = false;
    }
    if (this.state !== 'running') return;
    if (this.rescan) {
      this.rescan = false;
      return this.wake(0);
    }
    this.wake(next);
  }

  /** One scan; returns how long to sleep. */
  private startDue(): number {
    const reason = this.pauseReason();
    if (reason !== this.paused) {
      if (reason) this.options.logger.warn('no delivery attempts for now', { reason });
      else this.options.logger.info('delivery attempts resume');
      this.paused = reason;
    }
    // Not spinning: an attempt whose result cannot be written would only be made again.
    if (reason) return this.timings.pollMs;
    if (this.totalConnections() >= this.maxConnections) return this.timings.pollMs;
    const now = Date.now();
    const maxPerDestination = this.options.maxPerDestination ?? 2;
    const saturated = [...this.running].filter((b) => (this.perDestination.get(b.key) ?? 0) >= maxPerDestination).map((b) => b.domain);
    const due = this.options.store.outbound
      .due(now, scanLimit, { perDomain: (this.options.maxRecipientsPerTransaction ?? 100) * maxPerDestination, skipDomains: [...new Set(saturated)] })
      .filter((row) => !this.inFlight.has(row.id) && !this.results.isSettled(row.id) && !(this.results.heldUntil(row.id) > now));
    // Domains whose due rows wait for a connection: the end of an attempt wakes the scan for them.
    const waiting = new Set<string>(saturated);
    this.backlog.clear();
    for (const batch of this.batches(due)) {
      if (this.totalConnections() >= this.maxConnections) return this.timings.pollMs;
      if (!this.mayConnect(batch.key)) {
        waiting.add(batch.domain);
        if ((this.perDestination.get(batch.key) ?? 0) > 0) this.backlog.set(batch.key, [...(this.backlog.get(batch.key) ?? []), batch]);
        continue;
      }
      this.begin(batch);
    }
    return this.untilNextDue(waiting);
  }

  /** Why no attempt may start now, if so. */
  private pauseReason(): string | undefined {
    const storage = this.options.storage?.();
    if (storage?.state === 'read-only') return `the supervisor reports the data disk read-only${storage.detail ? ` (${storage.detail})` : ''}: no result could be recorded`;
    if (!this.results.writeUnwritten()) return 'earlier results could not be written to the database (disk full or read-only?); tried again every poll';
    return undefined;
  }

  private untilNextDue(waiting: Set<string>): number {
    const now = Date.now();
    const held = this.results.held();
    const next = this.options.store.outbound.nextDue({ exceptIds: [...this.inFlight, ...held.ids], exceptDomains: [...waiting] });
    const soonest = Math.min(next ?? Infinity, held.soonest);
    if (soonest === Infinity) return this.timings.pollMs;
    return Math.min(this.timings.pollMs, Math.max(soonest - now, this.inFlight.size > 0 ? 250 : 0));
  }

  /**
   * One transaction per message, sender, recipient domain and origin: the
   * signature covers a whole transaction, so a forwarded copy (never signed)
   * does not travel with the sender's own (signed) copies.
   */
  private batches(rows: OutboundRow[]): Batch[] {
    const max = this.options.maxRecipientsPerTransaction ?? 100;
    const byKey = new Map<string, Batch[]>();
    const batches: Batch[] = [];
    // One route lookup per domain and scan, not per row.
    const keys = new Map<string, string>();
    const keyOf = (domain: string) => keys.get(domain) ?? keys.set(domain, routeKey(this.options.store, domain)).get(domain)!;
    for (const row of rows) {
      const domain = row.recipient.slice(row.recipient.lastIndexOf('@') + 1).toLowerCase();
      const group = `${row.bodyId}\u0000${row.sender}\u0000${domain}\u0000${row.origin}`;
      const list = byKey.get(group) ?? [];
      let batch = list[list.length - 1];
      if (!batch || batch.rows.length >= max) {
        batch = { rows: [], domain, key: keyOf(domain) };
        list.push(batch);
        batches.push(batch);
        byKey.set(group, list);
      }
      batch.rows.push(row);
    }
    return batches;
  }

  private get maxConnections(): number {
    return this.options.maxConnections ?? 10;
  }

  private totalConnections(): number {
    return [...this.perDestination.values()].reduce((a, b) => a + b, 0);
  }

  private mayConnect(key: string): boolean {
    if (this.totalConnections() >= this.maxConnections) return false;
    return (this.perDestination.get(key) ?? 0) < (this.options.maxPerDestination ?? 2);
  }

  private begin(batch: Batch): void {
    for (const row of batch.rows) this.inFlight.add(row.id);
    this.running.add(batch);
    this.perDestination.set(batch.key, (this.perDestination.get(batch.key) ?? 0) + 1);
    const attempt = this.attempt(batch)
      .catch((error: unknown) => {
        // A fault of ours, after the outcomes: the rows wait like a deferral all the same, never tried again at once.
        this.options.logger.error('delivery attempt failed', { error, to: batch.rows.map((r) => r.recipient).join(',') });
        this.results.deferred(batch.rows.map((row) => ({ row, error: `local error: ${(error as Error).message}` })), Date.now());
      })
      .finally(() => {
        for (const row of batch.rows) this.inFlight.delete(row.id);
        this.running.delete(batch);
        const left = (this.perDestination.get(batch.key) ?? 1) - 1;
        if (left > 0) this.perDestination.set(batch.key, left);
        else this.perDestination.delete(batch.key);
        this.attempts.delete(attempt);
        if (!this.continueBacklog(batch.key)) this.kick();
      });
    this.attempts.add(attempt);
  }

  /** Starts the next batch of the destination's backlog, if one is still due and nothing holds attempts back; false otherwise. */
  private continueBacklog(key: string): boolean {
    const pending = this.backlog.get(key);
    if (this.state !== 'running' || !pending?.length || this.pauseReason() !== undefined) return false;
    while (pending.length > 0 && this.mayConnect(key)) {
      const next = pending.shift()!;
      const now = Date.now();
      // Read again: since the scan, a row may have been deleted (mailnest queue delete), settled or rescheduled.
      const due = this.options.store.outbound.stillDue(next.rows.map((r) => r.id), now);
      const rows = next.rows.filter((row) => due.has(row.id) && !this.inFlight.has(row.id) && !this.results.isSettled(row.id) && !(this.results.heldUntil(row.id) > now));
      if (rows.length === 0) continue;
      this.begin({ ...next, rows });
      return true;
    }
    return false;
  }

  private async attempt(batch: Batch): Promise<void> {
    const first = batch.rows[0]!;
    const log = this.options.logger.with({ qid: first.id, from: first.sender || '<>' });
    let sent: SendResult;
    try {
      const missing = await this.missingBody(first);
      if (missing) {
        log.error('the message file is missing; the message cannot be sent', { file: first.file, to: batch.rows.map((r) => r.recipient).join(',') });
        sent = { outcomes: batch.rows.map((row) => ({ recipient: row.recipient, result: 'temporary', reply: missing })) };
      } else {
        const routeUsed = route(this.options.store, this.options.resolver, batch.domain, this.options.mxPort);
        const targets = await this.unlessStopped(routeUsed.targets());
        sent = targets === undefined ? { cutOff: true, dotSent: false } : await this.send(routeUsed, targets, batch, log);
      }
    } catch (error) {
      if (error instanceof RouteError) {
        const result = error.permanent ? 'permanent' : 'temporary';
        return this.settle(batch, batch.rows.map((row) => ({ recipient: row.recipient, result, reply: error.message })), undefined, log, error.status);
      }
      // The message file cannot be read, or another local failure: a temporary one like any other, so it waits its backoff.
      log.error('delivery attempt failed', { error, to: batch.rows.map((r) => r.recipient).join(',') });
      sent = { outcomes: batch.rows.map((row) => ({ recipient: row.recipient, result: 'temporary', reply: `local error: ${(error as Error).message}` })) };
    }
    if ('cutOff' in sent) {
      // Nothing is recorded: the rows stay as they were, due again at the next start, and not charged for the shutdown.
      if (sent.dotSent) log.warn('stopped while waiting for the reply to the final dot; the peer may have the message, which will be sent again', { to: batch.rows.map((r) => r.recipient).join(',') });
      else log.info('attempt cut off by the shutdown; still queued', { to: batch.rows.map((r) => r.recipient).join(',') });
      return;
    }
    return this.settle(batch, sent.outcomes, sent.remote, log);
  }

  /** Why the row's body cannot be sent (its file is gone), or undefined. */
  private async missingBody(row: OutboundRow): Promise<string | undefined> {
    try {
      await stat(this.options.store.mail.files.absolute(row.file));
      return undefined;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      return `the stored message file messages/${row.file} is missing; restore it from a backup, or remove the message with mailnest queue delete ${row.id}`;
    }
  }

  /** The step's result, or undefined once stop() has begun (the step goes on, unheeded). */
  private async unlessStopped<T>(step: Promise<T>): Promise<T | undefined> {
    const signal = this.stopping.signal;
    if (signal.aborted) {
      // Unheeded, a failing step must not become an unhandled rejection.
      step.catch(() => {});
      return undefined;
    }
    let onAbort = () => {};
    const stopped = new Promise<undefined>((resolve) => {
      onAbort = () => resolve(undefined);
      signal.addEventListener('abort', onAbort, { once: true });
    });
    try {
      return await Promise.race([step, stopped]);
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
  }

  /** Tries each target until one takes the transaction. */
  private async send(routeUsed: Route, targets: SessionTarget[], batch: Batch, log: Logger): Promise<SendResult> {
    const first = batch.rows[0]!;
    const path = this.options.store.mail.files.absolute(first.file);
    let signature: Buffer | null = null;
    // Only what a logged-in user sent, and our own reports: a forward of mail from outside is never vouched for,
    // even when its From names one of our domains (anyone can write that on port 25).
    if (first.origin !== 'forward') {
      try {
        signature = await this.options.signer({ path, size: first.size, fromDomain: fromDomainOf(first.structure) });
      } catch (error) {
        log.warn('could not sign with DKIM; sending unsigned', { error });
      }
    }
    const prefix = signature ?? Buffer.alloc(0);
    // RFC 5321 §4.4: Return-Path is added at final delivery; ours, first in the file, stays home.
    const skip = await returnPathLength(path);
    const failures: string[] = [];
    for (const target of targets) {
      const label = target.name === target.host ? target.host : `${target.name}[${target.host}]`;
      const result: SessionResult = await runSession(
        target,
        {
          clientName: this.options.hostname,
          security: routeUsed.security,
          verify: routeUsed.verify,
          auth: routeUsed.auth,
          connectTimeoutMs: this.timings.connectTimeoutMs,
          socketTimeoutMs: this.timings.socketTimeoutMs,
          dataTimeoutMs: this.timings.dataTimeoutMs,
          stop: this.stopping.signal,
          abandon: this.abandoning.signal,
        },
        {
          sender: first.sender,
          recipients: batch.rows.map((r) => r.recipient),
          size: first.size - skip + prefix.length,
          message: () => Readable.from(withPrefix(prefix, path, skip)),
        },
        { cache: this.sessions, destination: batch.key, limit: this.options.maxPerDestination ?? 2 },
      );
      if (result.connected === 'cut-off') return { cutOff: true, dotSent: result.dotSent };
      if (!result.connected) {
        log.info('could not connect', { via: routeUsed.via, host: label, port: target.port, error: result.error });
        failures.push(`${label}: ${result.error}`);
        continue;
      }
      if (result.tlsFallback) log.warn('TLS handshake failed; sent in plaintext (opportunistic TLS, RFC 7435)', { via: routeUsed.via, host: label, tls: 'failed-fallback-plaintext', error: result.tlsFallback });
      log.debug('session', { via: routeUsed.via, host: label, tls: result.tls, signed: signature !== null, reused: result.reused === true });
      return { outcomes: result.outcomes, remote: target.name };
    }
    const reply = failures.length ? `could not connect: ${failures.slice(-3).join('; ')}` : 'no server to connect to';
    return { outcomes: batch.rows.map((row) => ({ recipient: row.recipient, result: 'temporary', reply })) };
  }

  /** Records each recipient's outcome: sent rows go, failures bounce, the rest wait for the next attempt. */
  private async settle(batch: Batch, outcomes: RecipientOutcome[], remote: string | undefined, log: Logger, routeStatus?: string): Promise<void> {
    const now = Date.now();
    const byRecipient = new Map(outcomes.map((o) => [o.recipient, o]));
    const sent: number[] = [];
    const bounced: { row: OutboundRow; outcome: RecipientOutcome; status: string }[] = [];
    const deferred: { row: OutboundRow; outcome: RecipientOutcome }[] = [];
    for (const row of batch.rows) {
      const outcome = byRecipient.get(row.recipient) ?? { recipient: row.recipient, result: 'temporary' as const, reply: 'no result' };
      if (outcome.result === 'sent') {
        sent.push(row.id);
        log.info('sent', { to: row.recipient, relay: remote, reply: outcome.reply });
      } else if (outcome.result === 'permanent') {
        bounced.push({ row, outcome, status: routeStatus ?? statusOf(outcome.reply, 5) });
        log.info('bounced', { to: row.recipient, relay: remote, reply: outcome.reply });
      } else if (now - row.createdAt >= this.timings.lifetimeMs) {
        bounced.push({ row, outcome: { ...outcome, reply: `${outcome.reply} (given up after ${Math.round(this.timings.lifetimeMs / 3600_000)} hours)` }, status: routeStatus?.startsWith('4') ? routeStatus : statusOf(outcome.reply, 4).replace(/^4\.0\.0$/, '4.4.7') });
        log.info('expired', { to: row.recipient, reply: outcome.reply });
      } else {
        deferred.push({ row, outcome });
        log.info('deferred', { to: row.recipient, relay: remote, reply: outcome.reply, attempts: this.results.attemptsOf(row) + 1 });
      }
    }
    if (sent.length) {
      this.results.settled(sent, log);
      this.counts.sent += sent.length;
    }
    if (bounced.length) {
      const stored = await this.reports.send(
        'failed',
        batch.rows[0]!,
        bounced.map((b) => ({ recipient: b.row.recipient, status: b.status.replace(/^4/, '5'), diagnostic: b.outcome.reply, remoteMta: remote, command: b.outcome.command })),
        log,
      );
      if (stored) {
        this.results.settled(bounced.map((b) => b.row.id), log);
        this.counts.bounced += bounced.length;
      } else {
        // The report could not be stored: keep the rows and try the whole thing again later.
        for (const b of bounced) deferred.push({ row: b.row, outcome: b.outcome });
      }
    }
    if (deferred.length) this.results.deferred(deferred.map(({ row, outcome }) => ({ row, error: outcome.reply })), now);
    this.counts.deferred += deferred.length;
    const late = deferred.filter(({ row }) => !this.results.wasWarned(row) && now - row.createdAt >= this.timings.delayWarningMs);
    if (late.length) {
      const stored = await this.reports.send(
        'delayed',
        late[0]!.row,
        late.map(({ row, outcome }) => ({ recipient: row.recipient, status: statusOf(outcome.reply, 4).replace(/^5/, '4'), diagnostic: outcome.reply, remoteMta: remote, command: outcome.command })),
        log,
        new Date(late[0]!.row.createdAt + this.timings.lifetimeMs),
      );
      if (stored) {
        this.results.warned(late.map(({ row }) => row.id), log);
        this.counts.warned += late.length;
      }
    }
  }
}
