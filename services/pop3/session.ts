// One POP3 connection: the RFC 1939 state machine over a socket. See README.md.

import { createReadStream } from 'node:fs';
import { randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
import { TLSSocket, type SecureContext } from 'node:tls';
import { pipeline } from 'node:stream/promises';
import { Writable } from 'node:stream';
import { ConnectionLog } from '../core/connection-log.ts';
import type { Logger } from '../core/log.ts';
import type { MessageStructure } from '../mime/index.ts';
import type { Account, Mailbox, Store } from '../store/index.ts';
import { DotStuffer } from './maildrop.ts';

export interface Pop3SessionOptions {
  store: Store;
  logger: Logger;
  hostname: string;
  secureContext: SecureContext;
  /** Accounts with a session in TRANSACTION state: a second login gets [IN-USE]. */
  locks: Set<number>;
  authFailureDelayMs: number;
  onAuthFailure(username: string, remoteAddress: string, reason: string): void;
  /** Milliseconds of silence before the session is closed (RFC 1939 §3: at least 10 minutes). */
  idleTimeoutMs: number;
  closed(session: Pop3Session): void;
}

interface DropMessage {
  uid: number;
  size: number;
  file: string;
  bodyId: number;
  deleted: boolean;
  retrieved: boolean;
}

const maxLine = 255;
/** Pipelined input kept before the socket is paused until the commands ran. */
const maxBufferedInput = 16 * 1024;
/** Replies waiting in the socket for a client that does not read, before the next command waits. */
const maxQueuedOutput = 64 * 1024;
const maxBadCommands = 20;
const maxAuthFailures = 3;

function isLoopback(address: string | undefined): boolean {
  return !!address && (address === '::1' || address.startsWith('127.') || address.startsWith('::ffff:127.'));
}

export class Pop3Session {
  readonly id = randomBytes(6).toString('hex');
  private state: 'authorization' | 'transaction' | 'update' | 'closed' = 'authorization';
  private socket: Socket;
  private buffer: Buffer = Buffer.alloc(0);
  private busy = false;
  private username: string | undefined;
  private account: Account | undefined;
  private mailbox: Mailbox | undefined;
  private drop: DropMessage[] = [];
  private badCommands = 0;
  private authFailures = 0;
  private idleTimer: NodeJS.Timeout | undefined;
  private pendingAuth: ((line: string) => Promise<void>) | undefined;
  private readonly log: Logger;
  private readonly connection: ConnectionLog;
  private readonly remoteAddress: string;
  /** The most this session held at once (input not yet run, replies not yet sent), for tests and health reports. */
  peakBufferedBytes = 0;

  constructor(
    socket: Socket,
    private readonly options: Pop3SessionOptions,
    private secure: boolean,
  ) {
    this.socket = socket;
    this.remoteAddress = socket.remoteAddress ?? '';
    this.connection = new ConnectionLog(options.logger, this.id, this.remoteAddress, { tls: this.secure });
    this.log = this.connection.log;
  }

  start(): void {
    this.attach(this.socket);
    this.send(`+OK ${this.options.hostname} Mailnest POP3 ready`);
  }

  private get plaintextAllowed(): boolean {
    return this.secure || isLoopback(this.remoteAddress);
  }

  private attach(socket: Socket): void {
    socket.on('data', (chunk: Buffer) => {
      this.buffer = this.buffer.length ? Buffer.concat([this.buffer, chunk]) : chunk;
      this.noteBuffered();
      this.touch();
      // A client that pipelines faster than its commands run waits in its socket, not here.
      if (this.buffer.length >= maxBufferedInput) socket.pause();
      void this.drain();
    });
    socket.on('error', (error) => this.log.debug('socket error', { error }));
    socket.on('close', () => this.close('connection closed'));
    this.touch();
  }

  private touch(): void {
    clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => {
      this.send('-ERR autologout: idle for too long');
      this.close('idle timeout');
    }, this.options.idleTimeoutMs);
    this.idleTimer.unref();
  }

  private send(line: string): void {
    if (!this.socket.destroyed) this.socket.write(line + '\r\n');
    this.noteBuffered();
  }

  /** Octets held for this connection: input not yet run and replies the socket has not yet sent. */
  get bufferedBytes(): number {
    return this.buffer.length + (this.socket.writableLength ?? 0);
  }

  private noteBuffered(): void {
    this.peakBufferedBytes = Math.max(this.peakBufferedBytes, this.bufferedBytes);
  }

  /** Resolves when the socket has sent what was queued (or closed). */
  private flushed(): Promise<void> {
    const socket = this.socket;
    if (socket.writableLength <= maxQueuedOutput || socket.destroyed) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        socket.off('drain', done);
        socket.off('close', done);
        resolve();
      };
      socket.on('drain', done);
      socket.on('close', done);
    });
  }

  /** Runs the complete lines in the buffer one at a time (PIPELINING, RFC 2449 §6.6). */
  private async drain(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      while (this.state !== 'closed') {
        const end = this.buffer.indexOf(0x0a);
        if (end < 0) {
          if (this.buffer.length > maxLine) {
            // Keep reading until the line ends, but answer now and drop what came.
            this.buffer = Buffer.alloc(0);
            this.skipToEndOfLine = true;
            this.bad('-ERR line too long (the limit is 255 octets)');
          }
          break;
        }
        const raw = this.buffer.subarray(0, end);
        this.buffer = this.buffer.subarray(end + 1);
        if (this.skipToEndOfLine) {
          this.skipToEndOfLine = false;
          continue;
        }
        if (raw.length > maxLine) {
          this.bad('-ERR line too long (the limit is 255 octets)');
          continue;
        }
        const line = raw.toString('utf8').replace(/\r$/, '');
        // Replies to a client that does not read wait in the socket only up to a limit.
        await this.flushed();
        if ((this.state as string) === 'closed') break;
        if (this.pendingAuth) {
          const handler = this.pendingAuth;
          this.pendingAuth = undefined;
          await handler(line);
        } else {
          await this.command(line);
        }
        if (this.upgrading) break;
      }
    } catch (error) {
      this.log.error('session failed', { error });
      this.send('-ERR [SYS/TEMP] internal error, try again later');
      this.close('internal error');
    } finally {
      this.busy = false;
      if (this.state !== 'closed' && !this.upgrading && this.buffer.length < maxBufferedInput) this.socket.resume();
    }
  }

  private skipToEndOfLine = false;
  private upgrading = false;

  private bad(reply: string): void {
    this.send(reply);
    this.badCommands += 1;
    if (this.badCommands >= maxBadCommands) {
      this.send('-ERR too many bad commands, closing');
      this.close('too many bad commands');
    }
  }

  private async command(line: string): Promise<void> {
    const match = /^([A-Za-z]{3,4})(?: (.*))?$/.exec(line);
    // The supervisor's probe reads the greeting and says QUIT; anything else is a client.
    if (!/^QUIT$/i.test(line)) this.connection.active();
    if (!match) return this.bad('-ERR unknown command');
    const name = match[1]!.toUpperCase();
    const args = match[2] === undefined ? [] : match[2].split(' ');
    const handler = this.handlers[this.state]?.[name];
    if (!handler) {
      const elsewhere = Object.values(this.handlers).some((table) => table && name in table);
      return this.bad(elsewhere ? `-ERR ${name} is not allowed now` : '-ERR unknown command');
    }
    this.badCommands = 0;
    await handler(args, match[2] ?? '');
  }

  private readonly handlers: Partial<Record<Pop3Session['state'], Record<string, (args: string[], rest: string) => Promise<void> | void>>> = {
    authorization: {
      CAPA: () => this.capa(),
      USER: (_args, rest) => this.user(rest),
      PASS: (_args, rest) => this.pass(rest),
      AUTH: (args) => this.auth(args),
      STLS: () => this.stls(),
      QUIT: () => this.quit(),
      NOOP: () => this.send('+OK'),
    },
    transaction: {
      CAPA: () => this.capa(),
      STAT: () => this.stat(),
      LIST: (args) => this.list(args),
      UIDL: (args) => this.uidl(args),
      RETR: (args) => this.retrieve(args, undefined),
      TOP: (args) => this.top(args),
      DELE: (args) => this.dele(args),
      RSET: () => this.rset(),
      NOOP: () => this.send('+OK'),
      QUIT: () => this.quit(),
    },
  };

  // ---- AUTHORIZATION (RFC 1939 §4, RFC 2449, RFC 5034, RFC 2595) ----

  private capa(): void {
    const lines = ['+OK capability list follows', 'TOP', 'UIDL', 'RESP-CODES', 'AUTH-RESP-CODE', 'PIPELINING', 'EXPIRE NEVER', 'IMPLEMENTATION Mailnest'];
    if (this.state === 'authorization') {
      if (!this.secure) lines.push('STLS');
      if (this.plaintextAllowed) lines.push('USER', 'SASL PLAIN');
    }
    lines.push('.');
    this.send(lines.join('\r\n'));
  }

  private user(name: string): void {
    if (!this.plaintextAllowed) return this.send('-ERR [AUTH] plaintext login needs TLS first: use STLS');
    if (!name) return this.bad('-ERR give a user name');
    this.username = name;
    this.send('+OK now PASS');
  }

  private async pass(password: string): Promise<void> {
    if (!this.plaintextAllowed) return this.send('-ERR [AUTH] plaintext login needs TLS first: use STLS');
    if (this.username === undefined) return this.bad('-ERR USER first');
    const username = this.username;
    this.username = undefined;
    await this.login(username, password);
  }

  private async auth(args: string[]): Promise<void> {
    if (args.length === 0) return this.send('+OK\r\nPLAIN\r\n.');
    if (args[0]!.toUpperCase() !== 'PLAIN') return this.send('-ERR that mechanism is not supported; use PLAIN');
    if (!this.plaintextAllowed) return this.send('-ERR [AUTH] PLAIN needs TLS first: use STLS');
    const run = async (response: string) => {
      if (response === '*') return this.send('-ERR authentication cancelled');
      const decoded = Buffer.from(response === '=' ? '' : response, 'base64').toString('utf8').split('\0');
      if (decoded.length !== 3) return this.send('-ERR malformed PLAIN response');
      const [authzid, authcid, password] = decoded as [string, string, string];
      if (authzid && authzid.toLowerCase() !== authcid.toLowerCase()) {
        await this.failLogin(authcid, 'authorization identity differs');
        return;
      }
      await this.login(authcid, password);
    };
    if (args[1] !== undefined) return run(args[1]);
    this.send('+ ');
    this.pendingAuth = run;
  }

  private async stls(): Promise<void> {
    if (this.secure) return this.send('-ERR already using TLS');
    this.send('+OK begin TLS negotiation');
    this.upgrading = true;
    this.buffer = Buffer.alloc(0); // anything pipelined after STLS was sent in the clear: dropped (RFC 2595 §3.1)
    const plain = this.socket;
    plain.removeAllListeners('data');
    plain.removeAllListeners('close');
    plain.removeAllListeners('error');
    const tls = new TLSSocket(plain, { isServer: true, secureContext: this.options.secureContext });
    tls.once('secure', () => {
      this.secure = true;
      this.upgrading = false;
      this.socket = tls;
      this.log.debug('tls started', { protocol: tls.getProtocol() });
    });
    tls.on('error', (error) => {
      this.log.debug('tls failed', { error });
      this.close('tls failed');
    });
    this.socket = tls;
    this.attach(tls);
  }

  private async login(username: string, password: string): Promise<void> {
    const account = await this.options.store.accounts.authenticate(username, password);
    if (!account) return this.failLogin(username, 'bad credentials');
    if (this.options.locks.has(account.id)) {
      this.log.info('login refused: mailbox in use', { user: account.address });
      return this.send('-ERR [IN-USE] another POP3 session is using this mailbox; try again later');
    }
    const mailbox = this.options.store.mail.findMailbox(account.id, 'INBOX');
    if (!mailbox) return this.send('-ERR [SYS/PERM] this account has no INBOX');
    this.options.locks.add(account.id);
    this.account = account;
    this.mailbox = mailbox;
    this.drop = this.options.store.mail.messages.recordList(mailbox.id, [[1, 0xffffffff]]).map((r) => ({ uid: r.uid, size: r.size, file: r.file, bodyId: r.bodyId, deleted: false, retrieved: false }));
    this.state = 'transaction';
    this.log.info('login', { user: account.address, messages: this.drop.length });
    this.connection.loggedIn(account.address);
    const octets = this.drop.reduce((sum, m) => sum + m.size, 0);
    this.send(`+OK ${account.address} has ${this.drop.length} message${this.drop.length === 1 ? '' : 's'} (${octets} octets)`);
  }

  private async failLogin(username: string, reason: string): Promise<void> {
    this.authFailures += 1;
    this.options.onAuthFailure(username, this.remoteAddress, reason);
    this.log.info('login failed', { user: username, reason });
    await new Promise((resolve) => setTimeout(resolve, this.options.authFailureDelayMs));
    this.send('-ERR [AUTH] authentication failed');
    if (this.authFailures >= maxAuthFailures) {
      this.send('-ERR too many failed logins, closing');
      this.close('too many failed logins');
    }
  }

  // ---- TRANSACTION (RFC 1939 §5, §7) ----

  /** The message of a number given by the client, or undefined after sending the error. */
  private message(arg: string | undefined): DropMessage | undefined {
    if (arg === undefined || !/^\d{1,9}$/.test(arg)) {
      this.bad('-ERR give a message number');
      return undefined;
    }
    const message = this.drop[Number(arg) - 1];
    if (!message || message.deleted) {
      this.send(`-ERR no such message${message?.deleted ? ' (it is marked deleted)' : ''}`);
      return undefined;
    }
    return message;
  }

  private live(): DropMessage[] {
    return this.drop.filter((m) => !m.deleted);
  }

  private stat(): void {
    const live = this.live();
    this.send(`+OK ${live.length} ${live.reduce((sum, m) => sum + m.size, 0)}`);
  }

  private list(args: string[]): void {
    if (args.length) {
      const message = this.message(args[0]);
      if (message) this.send(`+OK ${args[0]} ${message.size}`);
      return;
    }
    const lines = [`+OK ${this.live().length} messages`];
    this.drop.forEach((m, i) => !m.deleted && lines.push(`${i + 1} ${m.size}`));
    lines.push('.');
    this.send(lines.join('\r\n'));
  }

  private uidOf(message: DropMessage): string {
    return `${this.mailbox!.uidValidity}.${message.uid}`;
  }

  private uidl(args: string[]): void {
    if (args.length) {
      const message = this.message(args[0]);
      if (message) this.send(`+OK ${args[0]} ${this.uidOf(message)}`);
      return;
    }
    const lines = ['+OK unique-id listing follows'];
    this.drop.forEach((m, i) => !m.deleted && lines.push(`${i + 1} ${this.uidOf(m)}`));
    lines.push('.');
    this.send(lines.join('\r\n'));
  }

  private async retrieve(args: string[], top: { lines: number } | undefined): Promise<void> {
    const message = this.message(args[0]);
    if (!message) return;
    let bodyStart = Infinity;
    if (top) {
      const structure = this.options.store.mail.structureOf(message.bodyId) as MessageStructure | undefined;
      bodyStart = structure?.root.body ?? Infinity;
    }
    const path = this.options.store.mail.files.absolute(message.file);
    let stream;
    try {
      stream = createReadStream(path, { highWaterMark: 64 * 1024 });
      await new Promise<void>((resolve, reject) => {
        stream!.once('open', () => resolve());
        stream!.once('error', reject);
      });
    } catch {
      // Expunged by another client (its body collected) since the login.
      return void this.send('-ERR [SYS/TEMP] that message was deleted by another client');
    }
    this.send(top ? '+OK top of message follows' : `+OK ${message.size} octets`);
    const socket = this.socket;
    await pipeline(
      stream,
      new DotStuffer(top ? { bodyStart, lines: top.lines } : undefined),
      new Writable({
        write(chunk: Buffer, _encoding, callback) {
          if (socket.destroyed) return callback(new Error('connection closed'));
          if (socket.write(chunk)) callback();
          else socket.once('drain', () => callback());
        },
      }),
    ).catch((error: unknown) => this.log.debug('retrieve interrupted', { error }));
    if (!top) message.retrieved = true;
  }

  private async top(args: string[]): Promise<void> {
    if (args.length !== 2 || !/^\d{1,9}$/.test(args[1]!)) return this.bad('-ERR usage: TOP message lines');
    await this.retrieve([args[0]!], { lines: Number(args[1]) });
  }

  private dele(args: string[]): void {
    const message = this.message(args[0]);
    if (!message) return;
    message.deleted = true;
    this.send(`+OK message ${args[0]} marked deleted`);
  }

  private rset(): void {
    for (const m of this.drop) m.deleted = false;
    this.send(`+OK ${this.drop.length} messages`);
  }

  // ---- UPDATE (RFC 1939 §6) ----

  private async quit(): Promise<void> {
    if (this.state !== 'transaction') {
      this.send(`+OK ${this.options.hostname} signing off`);
      return this.close('quit');
    }
    this.state = 'update';
    const deleted = this.drop.filter((m) => m.deleted).map((m) => m.uid);
    const retrieved = this.drop.filter((m) => m.retrieved && !m.deleted).map((m) => m.uid);
    try {
      const ranges = (uids: number[]) => uids.map((uid) => [uid, uid] as [number, number]);
      const { expunged } = this.options.store.mail.applyMaildropChanges(this.mailbox!, ranges(retrieved), ranges(deleted));
      if (expunged.length) this.options.store.mail.collectGarbage().catch((error: unknown) => this.log.warn('garbage collection failed', { error }));
      this.log.info('quit', { user: this.account!.address, deleted: expunged.length, retrieved: retrieved.length });
      this.send(`+OK ${this.options.hostname} signing off (${expunged.length} message${expunged.length === 1 ? '' : 's'} deleted)`);
    } catch (error) {
      this.log.error('update failed', { error });
      this.send('-ERR [SYS/TEMP] some deleted messages were not removed; try again');
    }
    this.close('quit');
  }

  /** Ends the session; marks not applied are forgotten (a dropped connection deletes nothing). */
  close(reason: string): void {
    if (this.state === 'closed') return;
    const wasTransaction = this.state === 'transaction';
    this.state = 'closed';
    clearTimeout(this.idleTimer);
    if (this.account) this.options.locks.delete(this.account.id);
    if (wasTransaction) this.log.info('session ended without QUIT; nothing deleted', { reason });
    this.connection.end({ reason });
    this.socket.end();
    setTimeout(() => this.socket.destroy(), 1000).unref();
    this.options.closed(this);
  }
}
