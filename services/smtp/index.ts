// services/smtp: SMTP in two roles. `mx` on 25 + offset takes mail from the
// internet and the LAN for local addresses only; `submission` on 587 + offset
// (STARTTLS) and 465 + offset (implicit TLS) takes mail from logged-in users
// for anywhere. See README.md for the RFCs and the invariants.

import { closeSync, openSync, readSync } from 'node:fs';
import { SMTPServer, type SMTPServerAddress, type SMTPServerDataStream, type SMTPServerOptions, type SMTPServerSession } from 'smtp-server';
import type { AuthEvents } from '../core/auth-events.ts';
import { ConnectionLimits, defaultConnectionLimits, refusalLogThrottle, type ConnectionLimitSettings } from '../core/connection-limits.ts';
import { ConnectionLog, isLoopback } from '../core/connection-log.ts';
import type { Logger } from '../core/log.ts';
import { closeAll, listenAll } from '../core/listen.ts';
import type { Service, ServiceHealth, ServiceState } from '../core/service.ts';
import type { StorageState } from '../core/storage-state.ts';
import type { DeliveryResult, LocalDelivery } from '../delivery/local.ts';
import { AddressError, QuotaExceededError, type Account, type ReceivedBody, type Resolution, type Store } from '../store/index.ts';
import { SourceAbortedError, type BodyEdit } from '../store/receive.ts';
import type { MessageStructure } from '../mime/index.ts';
import { installPromptGreeting } from './greeting.ts';
import { installEnhancedCodeOverride, smtpError, type SmtpReplyError } from './replies.ts';
import { traceHeaders } from './trace.ts';
import { authenticationStage, checkSpf, type AuthenticationSettings, type SpfOutcome } from '../filter/authentication.ts';
import { runStages, verdictHeaders, type FilterStage } from '../filter/index.ts';

export interface SmtpOptions {
  /** `mx`: no AUTH, local recipients only. `submission`: AUTH required (after TLS), any recipient, sender checked. */
  role: 'mx' | 'submission';
  /** The service name in logs and /healthz: smtp, submission, submissions. */
  name: string;
  /** Implicit TLS from the first byte (465); otherwise STARTTLS is offered. */
  implicitTls?: boolean;
  /** Where failed logins are reported (submission). */
  authEvents?: AuthEvents;
  /** Delay before a failed login is answered (submission). */
  authFailureDelayMs?: number;
  addresses: readonly string[];
  port: number;
  hostname: string;
  tls: { key: string; cert: string };
  maxMessageBytes: number;
  maxRecipients: number;
  store: Store;
  delivery: LocalDelivery;
  logger: Logger;
  /** How long stop() waits for messages still streaming in before dropping their connections. */
  drainMs?: number;
  /** The supervisor's view of the data disk; mail is refused for now while it is not ok. */
  storage?: () => StorageState;
  /**
   * Whether a plaintext connection from this address may log in (submission):
   * by default only loopback, as IMAP and POP3 count it secure. Elsewhere AUTH
   * is neither offered nor accepted before STARTTLS (RFC 8314 §3, RFC 4954 §4).
   */
  plaintextAuthAllowed?: (remoteAddress: string) => boolean;
  /** Open connections per client address and in all, for this service. */
  connectionLimits?: ConnectionLimitSettings;
  /** Sender authentication of mail from outside (services/filter): SPF at MAIL FROM, DKIM, ARC and DMARC at DATA. Off when absent. */
  authentication?: AuthenticationSettings;
}

const diskFull = new Set(['ENOSPC', 'EDQUOT', 'SQLITE_FULL']);
const diskBroken = new Set(['EROFS', 'EIO', 'SQLITE_READONLY', 'SQLITE_IOERR', 'SQLITE_CANTOPEN', 'SQLITE_BUSY']);

/**
 * RFC 5321 §6.3: a message with this many Received lines (ours included) is in
 * a loop, most often a forward to an outside address that forwards back, and
 * is refused (554 5.4.6) instead of going round for ever. Postfix's
 * hopcount_limit is the same 50.
 */
export const maxHops = 50;

/** The header section read to count hops: a header larger than this counts only its first part. */
const maxHopHeaderBytes = 1024 * 1024;

/** Received lines in a stored message's header section (the trace lines we added are in the file too). */
function countHops(path: string, structure: MessageStructure): number {
  const length = Math.min(Math.max(0, structure.root.body - structure.root.header), maxHopHeaderBytes);
  const buffer = Buffer.alloc(length);
  const fd = openSync(path, 'r');
  try {
    readSync(fd, buffer, 0, length, structure.root.header);
  } finally {
    closeSync(fd);
  }
  return buffer.toString('latin1').match(/(?:^|\n)Received[ \t]*:/gi)?.length ?? 0;
}

/** A received message refused before it is stored (a From the login may not use, a loop); carries the reply. */
class FromRefusedError extends Error {
  constructor(readonly reply: SmtpReplyError) {
    super(reply.message);
  }
}

interface SubmissionUser {
  account: Account;
}

export class SmtpService implements Service {
  readonly name: string;
  private state: ServiceState = 'stopped';
  private servers: SMTPServer[] = [];
  private listening: string[] = [];
  private readonly resolutions = new WeakMap<SMTPServerAddress, Resolution>();
  /** Each open connection: its log lines, messages accepted, and the slot to give back to the connection limits. */
  private readonly connections = new WeakMap<SMTPServerSession, { log: ConnectionLog; messages: number; release: () => void }>();
  private inFlight = new Set<Promise<unknown>>();
  private delivered = 0;
  private rejected = 0;
  private readonly connectionLimits: ConnectionLimits;
  private readonly shouldLogRefusal = refusalLogThrottle();
  /** The SPF result of each session's current MAIL FROM, kept for DATA. */
  private readonly spfResults = new WeakMap<SMTPServerSession, Promise<SpfOutcome>>();
  /** The filter stages run at DATA, in order. */
  private readonly stages: FilterStage[];

  constructor(private readonly options: SmtpOptions) {
    this.name = options.name;
    this.connectionLimits = new ConnectionLimits(options.connectionLimits ?? defaultConnectionLimits);
    installEnhancedCodeOverride();
    installPromptGreeting();
    this.stages = options.authentication ? [authenticationStage(options.authentication)] : [];
  }

  async start(): Promise<void> {
    this.state = 'starting';
    try {
      const listeners = await listenAll(
        () => {
          const smtp = new SMTPServer(this.serverOptions());
          smtp.on('error', (error: Error) => this.options.logger.warn('connection error', { error }));
          this.servers.push(smtp);
          return smtp.server;
        },
        this.options.addresses,
        this.options.port,
        this.options.logger,
        this.name,
      );
      this.servers = this.servers.filter((smtp) => listeners.servers.includes(smtp.server));
      this.listening = listeners.listening;
    } catch (error) {
      this.state = 'failed';
      throw error;
    }
    this.state = 'running';
    for (const addr of this.listening) this.options.logger.info('listening', { addr });
  }

  /** Stops accepting, lets messages being received finish, then closes the remaining sessions with 421. */
  async stop(): Promise<void> {
    if (this.state === 'stopped') return;
    this.state = 'stopping';
    const closed = closeAll(
      this.servers.map((smtp) => smtp.server),
      0,
    );
    const deadline = Date.now() + (this.options.drainMs ?? 30_000);
    while (this.inFlight.size > 0 && Date.now() < deadline) {
      await Promise.race([Promise.allSettled([...this.inFlight]), new Promise((r) => setTimeout(r, 250))]);
    }
    for (const smtp of this.servers) {
      for (const connection of smtp.connections) {
        connection.send(421, `${this.options.hostname} Service shutting down, try again later`);
        connection.close();
      }
    }
    await closed;
    this.state = 'stopped';
  }

  health(): ServiceHealth {
    return { state: this.state, listening: this.listening, delivered: this.delivered, rejected: this.rejected, receiving: this.inFlight.size };
  }

  private serverOptions(): SMTPServerOptions {
    const submission = this.options.role === 'submission';
    return {
      name: this.options.hostname,
      banner: 'Mailnest ESMTP',
      key: this.options.tls.key,
      cert: this.options.tls.cert,
      minVersion: 'TLSv1.2',
      secure: this.options.implicitTls ?? false,
      size: this.options.maxMessageBytes,
      rejectOversized: true,
      maxRecipients: this.options.maxRecipients,
      maxClients: 200,
      socketTimeout: 5 * 60_000,
      closeTimeout: 30_000,
      // Port 25 is for mail arriving from other servers; people log in on 587/465.
      disabledCommands: submission ? [] : ['AUTH'],
      authMethods: ['PLAIN', 'LOGIN'],
      authOptional: !submission,
      // RFC 8314 §3 / RFC 4954 §4: no password before TLS. smtp-server would offer AUTH and then refuse it
      // with 538; instead a plaintext session has no AUTH at all until STARTTLS (onConnect, onSecure), and
      // a loopback one (plaintextAuthAllowed) may log in as it is.
      allowInsecureAuth: true,
      hideENHANCEDSTATUSCODES: false,
      hidePIPELINING: false,
      hide8BITMIME: false,
      hideSMTPUTF8: false,
      hideDSN: true,
      hideREQUIRETLS: true,
      // Reverse DNS would query the network resolver for every client; the policy stage will do it through ours.
      disableReverseLookup: true,
      logger: false,
      onConnect: (session, callback) => {
        const admission = this.connectionLimits.admit(session.remoteAddress);
        if (!admission.admitted) {
          if (this.shouldLogRefusal(admission.key)) this.options.logger.info('connection refused', { cid: session.id, client: session.remoteAddress, reason: admission.reason, limit: admission.limit });
          const why = admission.reason === 'per-address' ? 'Too many connections from your address' : 'Too many connections to this server';
          // RFC 5321 §3.8: 421 closes the channel; the client tries again later. In place of
          // the greeting it goes out without the enhanced code (RFC 2034 §3).
          return callback(smtpError(421, '4.7.0', `${this.options.hostname} ${why}, try again later`));
        }
        this.connections.set(session, { log: new ConnectionLog(this.options.logger, session.id, session.remoteAddress), messages: 0, release: admission.release });
        if (submission && !this.options.implicitTls && !(this.options.plaintextAuthAllowed ?? isLoopback)(session.remoteAddress)) session.disabledCommands = ['AUTH'];
        callback();
      },
      onSecure: (_socket, session, callback) => {
        if (submission) session.disabledCommands = [];
        callback();
      },
      onClose: (session) => {
        const connection = this.connections.get(session);
        if (!connection) return;
        connection.release();
        // The probe only reads the greeting and says QUIT; EHLO or TLS is a client.
        if (session.openingCommand || (session.secure && !this.options.implicitTls)) connection.log.active();
        connection.log.end({ user: this.userOf(session)?.address, messages: connection.messages });
      },
      onAuth: (auth, session, callback) => {
        this.connections.get(session)?.log.active();
        this.authenticate(auth.username ?? '', auth.password ?? '', session).then(
          (user) => callback(null, { user }),
          (error: Error) => callback(error),
        );
      },
      onMailFrom: (address, session, callback) => {
        this.connections.get(session)?.log.active();
        const refused = this.checkSender(address, session);
        if (refused || this.options.role !== 'mx' || !this.options.authentication) return callback(refused);
        // RFC 7208 §2.4: SPF is checked at MAIL FROM; the result waits for DATA (the check has its own deadline).
        const spf = checkSpf(this.options.authentication.resolver, { address: session.remoteAddress, helo: session.hostNameAppearsAs || '', sender: address.address, hostname: this.options.hostname });
        void spf.catch(() => {});
        this.spfResults.set(session, spf);
        spf.then(() => callback(), () => callback());
      },
      onRcptTo: (address, session, callback) => callback(this.checkRecipient(address, session)),
      onData: (stream, session, callback) => {
        const work = this.receive(stream, session).then(
          (reply) => {
            const connection = this.connections.get(session);
            if (connection) connection.messages += 1;
            callback(null, reply);
          },
          (error: Error) => callback(error),
        );
        this.inFlight.add(work);
        void work.finally(() => this.inFlight.delete(work));
      },
    };
  }

  /** RFC 4954: AUTH PLAIN and LOGIN against the store; a failure is delayed and reported. */
  private async authenticate(username: string, password: string, session: SMTPServerSession): Promise<SubmissionUser> {
    const account = await this.options.store.accounts.authenticate(username, password);
    if (account) {
      this.options.logger.info('login', { cid: session.id, user: account.address });
      return { account };
    }
    this.options.authEvents?.failed({ service: this.name, username, remoteAddress: session.remoteAddress, reason: 'bad credentials' });
    this.options.logger.info('login failed', { cid: session.id, user: username });
    await new Promise((resolve) => setTimeout(resolve, this.options.authFailureDelayMs ?? 2000));
    throw smtpError(535, '5.7.8', 'Authentication credentials invalid');
  }

  private userOf(session: SMTPServerSession): Account | undefined {
    return (session.user as SubmissionUser | undefined)?.account;
  }

  private checkSender(address: SMTPServerAddress, session: SMTPServerSession): Error | null {
    if (this.state !== 'running') return smtpError(421, '4.3.2', 'Service shutting down, try again later');
    const storage = this.options.storage?.();
    if (storage?.state === 'nearly-full') return smtpError(452, '4.3.1', 'Insufficient system storage, try again later');
    if (storage?.state === 'read-only') return smtpError(451, '4.3.0', 'Local error in processing (storage unavailable), try again later');
    const user = this.userOf(session);
    // RFC 4954 §6: mail on the submission ports needs a login (which itself needs TLS off loopback).
    if (this.options.role === 'submission' && !user) return smtpError(530, '5.7.0', session.disabledCommands?.includes('AUTH') ? 'Authentication required: use STARTTLS, then AUTH' : 'Authentication required');
    if (this.options.role === 'submission' && user && !this.options.store.recipients.maySendAs(user, address.address)) {
      this.options.logger.info('sender refused', { cid: session.id, user: user.address, from: address.address || '<>' });
      return smtpError(553, '5.7.1', `Sender address rejected: ${address.address || '<>'} is not yours to send as`);
    }
    this.options.logger.debug('mail from', { cid: session.id, from: address.address || '<>' });
    return null;
  }

  /** RFC 5321 §3.3 and §4.2: decide each recipient at RCPT time. Never relay for an unauthenticated client. */
  private checkRecipient(address: SMTPServerAddress, session: SMTPServerSession): Error | null {
    const log = (reason: string) => {
      this.rejected += 1;
      this.options.logger.info('recipient refused', { cid: session.id, to: address.address, reason });
    };
    let resolution: Resolution;
    try {
      resolution = this.options.store.recipients.resolve(address.address);
    } catch (error) {
      if (!(error instanceof AddressError)) throw error;
      log('bad address');
      return smtpError(553, '5.1.3', `Bad recipient address syntax: ${error.message}`);
    }
    if (resolution.kind === 'remote') {
      // Only a logged-in user on the submission ports may send to outside addresses.
      if (this.options.role === 'submission' && this.userOf(session)) {
        this.resolutions.set(address, resolution);
        return null;
      }
      log('relay');
      return smtpError(554, '5.7.1', `Relay access denied: ${resolution.address} is not a local address`);
    }
    if (resolution.kind === 'unknown' || (resolution.accounts.length === 0 && resolution.external.length === 0 && resolution.disabled.length === 0)) {
      log('unknown');
      return smtpError(550, '5.1.1', `No such user here: ${resolution.address}`);
    }
    if (resolution.accounts.length === 0 && resolution.external.length === 0) {
      log('disabled');
      return smtpError(550, '5.2.1', `Mailbox disabled: ${resolution.address}`);
    }
    const declared = Number(session.envelope.mailFrom && session.envelope.mailFrom.args ? session.envelope.mailFrom.args.SIZE ?? 0 : 0) || 0;
    const full = resolution.accounts.find((account) => !this.options.store.mail.fits(account.id, Math.max(declared, 1)));
    if (full) {
      log('over quota');
      return smtpError(452, '4.2.2', `Mailbox full: ${resolution.address}, try again later`);
    }
    this.resolutions.set(address, resolution);
    return null;
  }

  private async receive(stream: SMTPServerDataStream, session: SMTPServerSession): Promise<string> {
    const envelope = session.envelope;
    const sender = envelope.mailFrom ? envelope.mailFrom.address : '';
    const recipients = envelope.rcptTo.map((r) => r.address);
    const prefix = traceHeaders({
      sender,
      heloName: session.hostNameAppearsAs || 'unknown',
      clientAddress: session.remoteAddress,
      hostname: this.options.hostname,
      // RFC 6531 §3.7.3: with SMTPUTF8, ESMTP becomes UTF8SMTP.
      protocol: envelope.smtpUtf8 ? session.transmissionType.replace(/^E?SMTP/, 'UTF8SMTP') : session.transmissionType,
      id: session.id,
      recipients,
      tls: session.tlsOptions ? { protocol: session.tlsOptions.version ?? 'TLS', cipher: session.tlsOptions.name } : undefined,
    });
    const log = this.options.logger.with({ cid: session.id });
    const user = this.userOf(session);
    let result: DeliveryResult;
    try {
      result = await this.options.delivery.receive(
        stream as AsyncIterable<Buffer>,
        // Submitted mail is stored with the line ends it will be sent with, so the From check and DKIM see what goes out.
        { prefix, maxBytes: this.options.maxMessageBytes + prefix.length, normalizeLineEnds: this.options.role === 'submission' },
        { ...this.plan(session), sender, origin: user ? 'submission' : 'forward' },
        async (body) => {
          this.checkHops(body, log);
          if (user) this.checkFrom(user, body, log);
          return this.filter(body, session, prefix, log);
        },
      );
    } catch (error) {
      if (error instanceof SourceAbortedError) {
        log.info('message abandoned', { reason: 'connection closed during DATA', from: sender || '<>' });
        throw smtpError(451, '4.3.0', 'The message was not received in full');
      }
      if (error instanceof FromRefusedError) throw error.reply;
      if (error instanceof QuotaExceededError) {
        this.rejected += 1;
        log.info('message refused', { reason: 'over quota', account: error.account });
        throw smtpError(452, '4.2.2', `Mailbox full: ${error.account}, try again later`);
      }
      throw this.storageError(error, log);
    }
    if (!result.ok) {
      this.rejected += 1;
      log.info('message refused', { reason: 'too large', bytes: result.bytes });
      throw smtpError(552, '5.3.4', `Message too big: the limit is ${this.options.maxMessageBytes} bytes`);
    }
    const { report } = result;
    this.delivered += 1;
    log.info('delivered', {
      from: sender || '<>',
      to: recipients.join(','),
      size: result.body.file.size,
      mailboxes: report.delivered.map((d) => `${d.accountId}/${d.mailbox}/${d.uid}`).join(','),
      ...(report.queued.length ? { queued: report.queued.join(',') } : {}),
    });
    if (report.queued.length) {
      const local = report.delivered.length ? `delivered to ${report.delivered.length} mailbox${report.delivered.length === 1 ? '' : 'es'}, ` : '';
      return `2.0.0 Ok: ${local}queued for ${report.queued.join(', ')} (id ${session.id})`;
    }
    return `2.0.0 Ok: delivered (id ${session.id})`;
  }

  /** Who gets the message: the accounts and outside addresses its accepted recipients resolved to at RCPT time. */
  private plan(session: SMTPServerSession): { accounts: Account[]; external: string[]; forwarded: string[] } {
    const accounts: Account[] = [];
    const external: string[] = [];
    const forwarded: string[] = [];
    for (const rcpt of session.envelope.rcptTo) {
      const resolution = this.resolutions.get(rcpt);
      if (!resolution) continue;
      if (resolution.kind === 'local') {
        accounts.push(...resolution.accounts);
        external.push(...resolution.external);
        forwarded.push(...resolution.forwarded);
      } else if (resolution.kind === 'remote') {
        // RFC 5321 §2.4: the local part is the remote server's to interpret; only the domain is normalised.
        const domain = resolution.address.slice(resolution.address.lastIndexOf('@') + 1);
        external.push(`${rcpt.address.slice(0, rcpt.address.lastIndexOf('@'))}@${domain}`);
      }
    }
    return { accounts, external, forwarded };
  }

  /**
   * The filter stages at DATA: a refusal is thrown as the reply; otherwise the
   * edit puts our header lines (Authentication-Results first) at the top of
   * the stored message and leaves out forged ones (RFC 8601 §5).
   */
  private async filter(body: ReceivedBody, session: SMTPServerSession, prefix: Buffer, log: Logger): Promise<BodyEdit | undefined> {
    if (this.stages.length === 0 || this.userOf(session)) return undefined;
    const verdict = await runStages(this.stages, {
      clientAddress: session.remoteAddress.replace(/^::ffff:(?=\d+\.)/, ''),
      helo: session.hostNameAppearsAs || '',
      sender: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
      recipients: session.envelope.rcptTo.map((r) => r.address),
      user: undefined,
      hostname: this.options.hostname,
      path: this.options.store.mail.files.absolute(body.file.file),
      messageStart: prefix.length,
      structure: body.structure as MessageStructure,
      spf: await this.spfResults.get(session)?.catch(() => undefined),
    }, (error) => log.error('a filter stage failed; the message goes on without it', { error }));
    if (verdict.refusal) {
      this.rejected += 1;
      log.info('message refused', { reason: 'filter', rules: verdict.rules.join(','), reply: verdict.refusal.text });
      throw new FromRefusedError(smtpError(verdict.refusal.code, verdict.refusal.enhanced, verdict.refusal.text));
    }
    // A failed stage still leaves ours on top of anything that claims our name (RFC 8601 §2.2: `none`, no result).
    if (verdict.authResults.length === 0) verdict.authResults.push('none');
    log.debug('filter', { rules: verdict.rules.join(','), removed: verdict.removeRanges.length });
    const insert = verdictHeaders(verdict, this.options.hostname);
    if (insert.length === 0 && verdict.removeRanges.length === 0) return undefined;
    // Below Return-Path (which stays first, RFC 5321 §4.4), above our Received line and the message as received.
    return { insertAt: prefix.indexOf('\r\n') + 2, insert, drop: verdict.removeRanges };
  }

  /** RFC 5321 §6.3: too many hops is a loop; refused for good, so the sender hears of it once. */
  private checkHops(body: ReceivedBody, log: Logger): void {
    const hops = countHops(this.options.store.mail.files.absolute(body.file.file), body.structure as MessageStructure);
    if (hops <= maxHops) return;
    this.rejected += 1;
    log.info('message refused', { reason: 'too many hops', hops });
    throw new FromRefusedError(smtpError(554, '5.4.6', `Too many hops (${hops} Received lines): the message is in a mail loop`));
  }

  /** Submission: every From address must be the logged-in user's to send as (RFC 6409 §6.1). */
  private checkFrom(user: Account, body: ReceivedBody, log: Logger): void {
    const refused = this.foreignFrom(user, body.structure as MessageStructure);
    if (!refused) return;
    this.rejected += 1;
    log.info('message refused', { reason: 'From is not the sender', from: refused, user: user.address });
    throw new FromRefusedError(smtpError(553, '5.7.1', `From address rejected: ${refused} is not yours to send as`));
  }

  /** The first From address a logged-in user may not send as, if any (the header must match the login too). */
  private foreignFrom(user: Account, structure: MessageStructure): string | undefined {
    const from = structure.root.envelope?.from ?? [];
    const mailboxes = from.filter(([, , mailbox, host]) => mailbox !== null && host !== null).map(([, , mailbox, host]) => `${mailbox}@${host}`);
    if (mailboxes.length === 0) return '(no From header)';
    return mailboxes.find((address) => !this.options.store.recipients.maySendAs(user, address));
  }

  /** Disk full or read-only: a temporary failure, so the sender keeps the message and retries. */
  private storageError(error: unknown, log: Logger): Error {
    const code = (error as NodeJS.ErrnoException).code ?? '';
    log.error('could not store message', { error, code });
    if (diskFull.has(code)) return smtpError(452, '4.3.1', 'Insufficient system storage, try again later');
    if (diskBroken.has(code)) return smtpError(451, '4.3.0', 'Local error in processing (storage unavailable), try again later');
    return smtpError(451, '4.3.0', 'Local error in processing, try again later');
  }
}
