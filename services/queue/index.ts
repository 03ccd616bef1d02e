// services/queue: sends the mail waiting in the outbound table to other
// servers. See README.md for the RFCs and the invariants.

import { Readable } from 'node:stream';
import type { Logger } from '../core/log.ts';
import type { Service, ServiceHealth, ServiceState } from '../core/service.ts';
import type { MessageSigner } from '../dkim/index.ts';
import type { MailResolver } from '../dns/index.ts';
import type { OutboundRow, Store } from '../store/index.ts';
import { receiveMessage, type BodyAnalyzer } from '../store/receive.ts';
import { buildDsn, statusOf, type ReportedRecipient } from './dsn.ts';
import { fromDomainOf, readHeaderSection, returnPathLength, withPrefix } from './message-file.ts';
import { route, routeKey, RouteError, type Route } from './routes.ts';
import { runSession, type RecipientOutcome, type SessionResult } from './smtp-session.ts';

export interface QueueTimings {
  /** The first retry comes this long after a temporary failure; each later one waits twice as long... */
  retryBaseMs: number;
  /** ...up to this. */
  retryMaxMs: number;
  /** After this long the message is given up on and bounced (RFC 5321 §4.5.4.1: 4-5 days). */
  lifetimeMs: number;
  /** After this long undelivered, the sender is told once that it is still being tried. */
  delayWarningMs: number;
  /** How often the table is read even when nothing is due (picks up `mailnest queue retry`). */
  pollMs: number;
  connectTimeoutMs: number;
  socketTimeoutMs: number;
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
};

export interface QueueOptions {
  store: Store;
  resolver: MailResolver;
  signer: MessageSigner;
  createAnalyzer: () => BodyAnalyzer;
  /** Our name: EHLO, Reporting-MTA, the MAILER-DAEMON address. */
  hostname: string;
  logger: Logger;
  timings?: Partial<QueueTimings>;
  /** Connections open at once, in all. */
  maxConnections?: number;
  /** Connections open at once to one destination (a domain's MXes, a transport host, the relay). */
  maxPerDestination?: number;
  /** The port MX hosts are reached on: 25, except in tests. */
  mxPort?: number;
  /** Recipients in one transaction (RFC 5321 §4.5.3.1.8: servers must take 100). */
  maxRecipientsPerTransaction?: number;
}

interface Batch {
  rows: OutboundRow[];
  domain: string;
  key: string;
}

export class QueueService implements Service {
  readonly name = 'queue';
  private state: ServiceState = 'stopped';
  private readonly timings: QueueTimings;
  private readonly inFlight = new Set<number>();
  private readonly perDestination = new Map<string, number>();
  private readonly attempts = new Set<Promise<void>>();
  private timer: NodeJS.Timeout | undefined;
  private scanning = false;
  private rescan = false;
  private counts = { sent: 0, deferred: 0, bounced: 0, warned: 0 };

  constructor(private readonly options: QueueOptions) {
    this.timings = { ...defaultQueueTimings, ...options.timings };
  }

  async start(): Promise<void> {
    this.state = 'running';
    const waiting = this.options.store.outbound.count();
    if (waiting > 0) this.options.logger.info('messages waiting to be sent', { recipients: waiting });
    this.kick();
  }

  /** Something was queued or made due: look at the table now. */
  kick(): void {
    if (this.state === 'running') this.wake(0);
  }

  async stop(): Promise<void> {
    if (this.state === 'stopped') return;
    this.state = 'stopping';
    clearTimeout(this.timer);
    // Attempts under way are let finish (bounded by the SMTP timeouts); a row whose attempt is cut off stays queued.
    const deadline = Date.now() + 10_000;
    while (this.attempts.size > 0 && Date.now() < deadline) {
      await Promise.race([Promise.allSettled([...this.attempts]), new Promise((r) => setTimeout(r, 250))]);
    }
    this.state = 'stopped';
  }

  health(): ServiceHealth {
    return { state: this.state, queued: this.options.store.isOpen ? this.options.store.outbound.count() : 0, sending: this.inFlight.size, ...this.counts };
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
    try {
      const now = Date.now();
      const due = this.options.store.outbound.due(now, 2000).filter((row) => !this.inFlight.has(row.id));
      for (const batch of this.batches(due)) {
        if (!this.mayConnect(batch.key)) continue;
        this.begin(batch);
      }
    } catch (error) {
      this.options.logger.error('queue scan failed', { error });
    } finally {
      this.scanning = false;
    }
    if (this.rescan) {
      this.rescan = false;
      return this.wake(0);
    }
    this.wake(this.untilNextDue());
  }

  private untilNextDue(): number {
    const now = Date.now();
    if (this.inFlight.size === 0) {
      const next = this.options.store.outbound.nextDue();
      return next === undefined ? this.timings.pollMs : Math.min(this.timings.pollMs, Math.max(0, next - now));
    }
    // Rows being sent are due too; their end wakes the scan, so only the others count here.
    const upcoming = this.options.store.outbound.due(now + this.timings.pollMs, this.inFlight.size + 50).find((row) => !this.inFlight.has(row.id));
    return upcoming ? Math.max(upcoming.nextAttemptAt - now, 250) : this.timings.pollMs;
  }

  /** One transaction per message, sender and recipient domain. */
  private batches(rows: OutboundRow[]): Batch[] {
    const max = this.options.maxRecipientsPerTransaction ?? 100;
    const byKey = new Map<string, Batch[]>();
    const batches: Batch[] = [];
    for (const row of rows) {
      const domain = row.recipient.slice(row.recipient.lastIndexOf('@') + 1).toLowerCase();
      const group = `${row.bodyId}\u0000${row.sender}\u0000${domain}`;
      const list = byKey.get(group) ?? [];
      let batch = list[list.length - 1];
      if (!batch || batch.rows.length >= max) {
        batch = { rows: [], domain, key: routeKey(this.options.store, domain) };
        list.push(batch);
        batches.push(batch);
        byKey.set(group, list);
      }
      batch.rows.push(row);
    }
    return batches;
  }

  private mayConnect(key: string): boolean {
    const total = [...this.perDestination.values()].reduce((a, b) => a + b, 0);
    if (total >= (this.options.maxConnections ?? 10)) return false;
    return (this.perDestination.get(key) ?? 0) < (this.options.maxPerDestination ?? 2);
  }

  private begin(batch: Batch): void {
    for (const row of batch.rows) this.inFlight.add(row.id);
    this.perDestination.set(batch.key, (this.perDestination.get(batch.key) ?? 0) + 1);
    const attempt = this.attempt(batch)
      .catch((error: unknown) => this.options.logger.error('delivery attempt failed', { error, to: batch.rows.map((r) => r.recipient).join(',') }))
      .finally(() => {
        for (const row of batch.rows) this.inFlight.delete(row.id);
        const left = (this.perDestination.get(batch.key) ?? 1) - 1;
        if (left > 0) this.perDestination.set(batch.key, left);
        else this.perDestination.delete(batch.key);
        this.attempts.delete(attempt);
        this.kick();
      });
    this.attempts.add(attempt);
  }

  private async attempt(batch: Batch): Promise<void> {
    const first = batch.rows[0]!;
    const log = this.options.logger.with({ qid: first.id, from: first.sender || '<>' });
    let sent: { outcomes: RecipientOutcome[]; remote?: string };
    try {
      const routeUsed = route(this.options.store, this.options.resolver, batch.domain, this.options.mxPort);
      sent = await this.send(routeUsed, await routeUsed.targets(), batch, log);
    } catch (error) {
      if (!(error instanceof RouteError)) throw error;
      const result = error.permanent ? 'permanent' : 'temporary';
      return this.settle(batch, batch.rows.map((row) => ({ recipient: row.recipient, result, reply: error.message })), undefined, log, error.status);
    }
    return this.settle(batch, sent.outcomes, sent.remote, log);
  }

  /** Tries each target until one takes the transaction. */
  private async send(routeUsed: Route, targets: { host: string; port: number; name: string }[], batch: Batch, log: Logger): Promise<{ outcomes: RecipientOutcome[]; remote?: string }> {
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
        },
        {
          sender: first.sender,
          recipients: batch.rows.map((r) => r.recipient),
          size: first.size - skip + prefix.length,
          message: () => Readable.from(withPrefix(prefix, path, skip)),
        },
      );
      if (!result.connected) {
        log.info('could not connect', { via: routeUsed.via, host: label, port: target.port, error: result.error });
        failures.push(`${label}: ${result.error}`);
        continue;
      }
      log.debug('session', { via: routeUsed.via, host: label, tls: result.tls, signed: signature !== null });
      return { outcomes: result.outcomes, remote: target.name };
    }
    const reply = failures.length ? `could not connect: ${failures.slice(-3).join('; ')}` : 'no server to connect to';
    return { outcomes: batch.rows.map((row) => ({ recipient: row.recipient, result: 'temporary', reply })) };
  }

  /** Records each recipient's outcome: sent rows go, failures bounce, the rest wait for the next attempt. */
  private async settle(batch: Batch, outcomes: RecipientOutcome[], remote: string | undefined, log: Logger, routeStatus?: string): Promise<void> {
    const store = this.options.store;
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
        log.info('deferred', { to: row.recipient, relay: remote, reply: outcome.reply, attempts: row.attempts + 1 });
      }
    }
    if (sent.length) {
      store.outbound.remove(sent);
      this.counts.sent += sent.length;
    }
    if (bounced.length) {
      const stored = await this.notify(
        'failed',
        batch.rows[0]!,
        bounced.map((b) => ({ recipient: b.row.recipient, status: b.status.replace(/^4/, '5'), diagnostic: b.outcome.reply, remoteMta: remote, command: b.outcome.command })),
        log,
      );
      if (stored) {
        store.outbound.remove(bounced.map((b) => b.row.id));
        this.counts.bounced += bounced.length;
      } else {
        // The report could not be stored: keep the rows and try the whole thing again later.
        for (const b of bounced) deferred.push({ row: b.row, outcome: b.outcome });
      }
    }
    if (deferred.length) {
      store.outbound.defer(
        deferred.map(({ row, outcome }) => ({
          id: row.id,
          error: outcome.reply,
          nextAttemptAt: now + Math.min(this.timings.retryBaseMs * 2 ** Math.min(row.attempts, 20), this.timings.retryMaxMs),
        })),
        now,
      );
    }
    this.counts.deferred += deferred.length;
    const late = deferred.filter(({ row }) => !row.warned && now - row.createdAt >= this.timings.delayWarningMs);
    if (late.length) {
      const stored = await this.notify(
        'delayed',
        late[0]!.row,
        late.map(({ row, outcome }) => ({ recipient: row.recipient, status: statusOf(outcome.reply, 4).replace(/^5/, '4'), diagnostic: outcome.reply, remoteMta: remote, command: outcome.command })),
        log,
        new Date(late[0]!.row.createdAt + this.timings.lifetimeMs),
      );
      if (stored) {
        store.outbound.markWarned(late.map(({ row }) => row.id));
        this.counts.warned += late.length;
      }
    }
  }

  /**
   * Tells the envelope sender: into the INBOX of a local sender, or queued
   * with a null sender to a remote one. Never to the null sender (RFC 5321
   * §4.5.5: a report is not reported on). Returns false when the report
   * should be tried again later.
   */
  private async notify(kind: 'failed' | 'delayed', row: OutboundRow, recipients: ReportedRecipient[], log: Logger, retryUntil?: Date): Promise<boolean> {
    const store = this.options.store;
    if (row.sender === '') {
      log.info('no report: the message had a null sender', { kind, to: recipients.map((r) => r.recipient).join(',') });
      return true;
    }
    let resolution;
    try {
      resolution = store.recipients.resolve(row.sender);
    } catch {
      log.warn('no report: the sender address cannot be used', { sender: row.sender });
      return true;
    }
    const accounts = resolution.kind === 'local' ? resolution.accounts : [];
    if (resolution.kind !== 'remote' && accounts.length === 0) {
      log.warn('no report: the sender is no longer a local user', { sender: row.sender });
      return true;
    }
    try {
      const message = buildDsn({
        kind,
        reportingMta: this.options.hostname,
        sender: row.sender,
        arrivalDate: new Date(row.createdAt),
        lastAttemptDate: new Date(),
        retryUntil,
        subject: row.subject,
        originalHeaders: await readHeaderSection(store.mail.files.absolute(row.file), row.structure),
        recipients,
      });
      // RFC 3464 §2: a report has the null sender; delivered here, it gets the Return-Path of final delivery (RFC 5321 §4.4).
      const local = resolution.kind !== 'remote';
      const result = await receiveMessage(store.mail.files, this.options.createAnalyzer(), Readable.from([message]), local ? { prefix: Buffer.from('Return-Path: <>\r\n') } : {}, {
        commit: (body) =>
          resolution.kind === 'remote'
            ? store.mail.deliver(body, [], Date.now(), [{ sender: '', recipient: row.sender, origin: 'report' }])
            : // Postfix's way: a report to a local sender is delivered even over quota, or it would be retried forever.
              store.mail.deliver(body, accounts.map((account) => ({ account, mailbox: 'INBOX', ignoreQuota: true }))),
      });
      if (!result.ok) throw new Error('the report is too large');
    } catch (error) {
      log.warn('could not store the report; trying again later', { kind, to: row.sender, error });
      return false;
    }
    // Stored: nothing below may make the caller store it a second time.
    log.info(kind === 'failed' ? 'bounce report sent' : 'delay report sent', { to: row.sender, about: recipients.map((r) => r.recipient).join(',') });
    if (resolution.kind === 'remote') this.kick();
    return true;
  }
}
