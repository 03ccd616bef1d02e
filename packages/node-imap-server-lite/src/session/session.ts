// One IMAP connection: the state machine (RFC 3501 §3), the command loop, and
// the unsolicited updates about the selected mailbox.
//
// Invariants a reader must keep:
// - Commands execute strictly one at a time, in the order received; the reader
//   parses ahead into `queue` (bounded by maxPendingCommands). A command's
//   untagged responses, then the updates about the selected mailbox, then its
//   tagged response are written in that order through the one writer.
// - Updates about the selected mailbox (EXISTS, EXPUNGE/VANISHED, FETCH FLAGS,
//   FLAGS) are sent only while a command is in progress, before its tagged
//   response, or during IDLE (RFC 3501 §7.4.1, RFC 2177). EXPUNGE waits while
//   the command is FETCH, STORE, SEARCH or SORT (not their UID forms): the
//   expunged message keeps its number until then (selected.ts).
// - EXPUNGEs are sent before the EXISTS that follows them, so EXISTS never
//   drops; no EXISTS is sent when the count did not grow.
// - Once CONDSTORE is enabled, every FETCH response about flags carries UID
//   and MODSEQ (RFC 7162 §3.1); once QRESYNC is enabled, expunges are sent as
//   VANISHED (RFC 7162 §3.2.10).
// - Nothing here knows storage: every question about mail goes to the backend.
// - Before login the limits are small (options.preAuth): the reader takes
//   literals of 4096 octets at most (LITERAL- is advertised, RFC 7888 §5),
//   parses ahead a few KiB, and the writer queues a few KiB for a client that
//   does not read. LOGIN and AUTHENTICATE are barriers, so the commands after
//   them are read under the limits of the state they lead to.

import { randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
import { TLSSocket } from 'node:tls';
import { BackendError, type MailboxChange, type SessionContext } from '../backend.ts';
import { commandTable } from '../commands/index.ts';
import type { CommandResult, ImapCommand, SessionState } from '../commands/types.ts';
import { CommandError } from '../errors.ts';
import { literalMinusLimit, type ResolvedOptions } from '../options.ts';
import { ArgReader, systemFlags } from '../protocol/args.ts';
import { ResponseBuilder, safeText, type OutPart } from '../protocol/encode.ts';
import { ParseError } from '../protocol/parser.ts';
import { CommandReader, type ReaderEntry, type ReaderLimits } from '../protocol/reader.ts';
import { encodeMailboxUtf7 } from '../protocol/utf7.ts';
import { ConnectionClosedError, defaultQueueLimit, ResponseWriter } from '../protocol/writer.ts';
import { formatUidSet, uidSetFromSorted, uidSetIsEmpty, uidSetIntersect, type UidSet } from '../uid-set.ts';
import { capabilityList } from './capabilities.ts';
import { SelectedMailbox } from './selected.ts';

/**
 * Commands after which the reader stops until they finish: what follows them
 * is not a command (IDLE's DONE, SASL responses, a TLS handshake), or is read
 * under other limits (after LOGIN).
 */
const barriers = new Set(['IDLE', 'AUTHENTICATE', 'STARTTLS', 'LOGOUT', 'LOGIN']);
const systemFlagSet = new Set<string>(systemFlags);

export interface SessionHooks {
  /** The session ended; the server forgets it. */
  closed(session: Session): void;
  emit(event: string, payload: unknown): void;
}

export class Session {
  readonly id = randomBytes(6).toString('base64url');
  state: SessionState = 'not-authenticated';
  /** Set at login; the first argument of every backend call. */
  ctx: SessionContext<unknown> | null = null;
  username = '';
  selected: SelectedMailbox | null = null;
  /** RFC 7162: a CONDSTORE-enabling command was seen. */
  condstore = false;
  /** RFC 7162 §3.2.3: ENABLE QRESYNC. */
  qresync = false;
  /** RFC 6855: ENABLE UTF8=ACCEPT. */
  utf8 = false;
  /** RFC 5182 SEARCHRES: the saved result, as UIDs. */
  savedSearch: UidSet | null = null;
  authFailures = 0;
  tlsActive: boolean;
  secure: boolean;
  readonly remoteAddress: string;
  readonly writer: ResponseWriter;
  readonly reader: CommandReader;

  private socket: Socket | TLSSocket;
  private readonly queue: ReaderEntry[] = [];
  /** Octets of the commands in `queue` (the parse-ahead budget). */
  private queuedBytes = 0;
  /** The most this session has held at once (reader, queue, writer), for tests and health reports. */
  peakBufferedBytes = 0;
  private running = false;
  private closed = false;
  private unwatch: (() => void) | null = null;
  private changeWaiters: (() => void)[] = [];
  private timer: NodeJS.Timeout | null = null;
  private readonly startedAt = Date.now();
  /** The level the connect line was logged at; undefined while it is held back (options.mayBeProbe). */
  private connectLevel: 'info' | 'debug' | undefined;
  private readonly onData = (chunk: Buffer) => {
    this.touch();
    this.noteBuffered(chunk.length);
    this.reader.push(chunk);
    this.noteBuffered();
  };
  private readonly onEnd = () => this.close();
  private readonly onError = (error: Error) => {
    this.log('debug', 'socket error', { error: error.message });
    this.close();
  };

  constructor(
    readonly options: ResolvedOptions,
    socket: Socket | TLSSocket,
    private readonly hooks: SessionHooks,
  ) {
    this.socket = socket;
    this.tlsActive = socket instanceof TLSSocket;
    this.remoteAddress = socket.remoteAddress ?? '';
    this.secure = options.isSecure(socket, this.tlsActive);
    this.writer = new ResponseWriter(socket, (error) => {
      this.log('error', 'literal body had the wrong length', { error: error.message });
      this.hooks.emit('sessionError', { sessionId: this.id, error });
    });
    this.reader = new CommandReader(
      {
        deliver: (entry) => this.deliver(entry),
        continuation: (text) => this.continuation(text),
        hasRoom: () => this.queue.length < this.options.maxPendingCommands && this.queuedBytes < (this.state === 'not-authenticated' ? this.options.preAuth.maxPendingBytes : this.options.maxPendingBytes),
        allowLiteral8: () => this.options.utf8Accept,
        isBarrier: (name) => barriers.has(name),
        pauseInput: () => this.socket.pause(),
        resumeInput: () => {
          if (!this.closed) this.socket.resume();
        },
      },
      this.readerLimits(),
    );
    this.writer.setQueueLimit(options.preAuth.maxQueuedOutput);
    // After every flush, as Dovecot does: each answer puts Linux's TCP in its
    // interactive mode, which delays the ACK of what the client sends next
    // (options.quickAck says why that costs 40 ms for a literal and its CRLF).
    const quickAck = options.quickAck;
    if (quickAck) this.writer.onFlush(() => quickAck(this.socket));
    this.attach(socket);
  }

  /**
   * `+ text` (RFC 3501 §7.5). The writer's flush hook sets options.quickAck
   * once the "+" is in the kernel and before the event loop polls again, so
   * before the literal can be read: set earlier, the "+" itself would undo it.
   */
  private async continuation(text: string): Promise<void> {
    try {
      await this.send([Buffer.from(`+ ${text}\r\n`)]);
    } catch {
      // A closed connection, or a socket option that failed: the literal is read as before.
    }
  }

  /** The reader's limits for the current state: small and LITERAL- before login. */
  private readerLimits(): ReaderLimits {
    const options = this.options;
    if (this.state === 'not-authenticated') {
      return {
        maxLineLength: Math.min(options.maxLineLength, options.preAuth.maxLineLength),
        maxLiteralSize: literalMinusLimit,
        maxNonSyncLiteral: literalMinusLimit,
        maxCommandSize: Math.min(options.maxCommandSize, options.preAuth.maxCommandSize),
        appendLimit: options.appendLimit,
        streamMessages: false,
      };
    }
    return { maxLineLength: options.maxLineLength, maxLiteralSize: options.maxLiteralSize, maxCommandSize: options.maxCommandSize, appendLimit: options.appendLimit };
  }

  /** Octets this session holds now: unparsed input and the command being read, commands parsed ahead, output not yet sent. */
  get bufferedBytes(): number {
    return this.reader.bufferedBytes + this.queuedBytes + this.writer.bufferedBytes;
  }

  /** `extra`: octets about to be handed over (a socket chunk) that are already in memory. */
  private noteBuffered(extra = 0): void {
    const now = this.bufferedBytes + extra;
    if (now > this.peakBufferedBytes) this.peakBufferedBytes = now;
  }

  get backend() {
    return this.options.backend;
  }

  get separator(): string {
    return this.options.separator;
  }

  /** Sends the greeting and starts reading. */
  start(): void {
    if (!this.options.mayBeProbe(this.remoteAddress)) this.logConnect('info');
    this.touch();
    void this.send(new ResponseBuilder().raw(`* OK [CAPABILITY ${this.capabilities().join(' ')}] ${safeText(this.options.serverName)} IMAP4rev1 ready`).end()).catch(() => {});
  }

  capabilities(): string[] {
    return capabilityList(this.options, { secure: this.secure, tlsActive: this.tlsActive, authenticated: this.state !== 'not-authenticated' });
  }

  /** The backend context; only after login. */
  context(): SessionContext<unknown> {
    if (!this.ctx) throw new CommandError('BAD', undefined, 'Not logged in');
    return this.ctx;
  }

  requireSelected(): SelectedMailbox {
    if (!this.selected) throw new CommandError('BAD', undefined, 'No mailbox selected');
    return this.selected;
  }

  // ---- output ----

  send(parts: OutPart[]): Promise<void> {
    const sent = this.writer.send(parts);
    this.noteBuffered();
    return sent;
  }

  /** `* text` */
  untagged(text: string): Promise<void> {
    return this.send([Buffer.from(`* ${text}\r\n`, 'latin1')]);
  }

  tagged(tag: string, status: 'OK' | 'NO' | 'BAD', code: string | undefined, text: string): Promise<void> {
    let line = `${tag} ${status} `;
    if (code) line += `[${code}] `;
    let clean = safeText(text);
    if (!code && clean.startsWith('[')) clean = ' ' + clean;
    return this.send([Buffer.from(`${line}${clean}\r\n`, 'latin1')]);
  }

  /** A mailbox name on the wire: modified UTF-7, or UTF-8 after ENABLE UTF8=ACCEPT; always as a string. */
  writeMailbox(builder: ResponseBuilder, name: string): ResponseBuilder {
    return builder.string(this.utf8 ? name : encodeMailboxUtf7(name));
  }

  // ---- the command loop ----

  private deliver(entry: ReaderEntry): void {
    this.queue.push(entry);
    this.queuedBytes += entry.size;
    this.noteBuffered();
    // Run from a fresh task: the reader is in the middle of its own loop.
    queueMicrotask(() => void this.pump());
  }

  private async pump(): Promise<void> {
    if (this.running || this.closed) return;
    this.running = true;
    try {
      while (!this.closed && this.queue.length > 0) {
        const entry = this.queue.shift()!;
        this.queuedBytes -= entry.size;
        this.reader.kick();
        try {
          await this.execute(entry);
        } catch (error) {
          // execute() answers every failure itself; reaching here is a bug, and
          // the connection cannot be trusted to be in step any more.
          this.reportBug(error, 'command loop');
          this.close();
        }
      }
    } finally {
      this.running = false;
    }
  }

  private async execute(entry: ReaderEntry): Promise<void> {
    this.touch();
    // A probe reads the greeting and says LOGOUT; anything else is a client.
    if (this.connectLevel === undefined && !(entry.type === 'command' && entry.command.name.toUpperCase() === 'LOGOUT')) this.logConnect('info');
    if (entry.type === 'reject') {
      await this.tagged(entry.tag, entry.status, entry.code, entry.text).catch(() => {});
      return;
    }
    const { command, message } = entry;
    const tag = command.tag;
    let name = command.name;
    let args = command.args;
    if (name === 'UID' && args[0]?.kind === 'atom') {
      name = `UID ${args[0].value.toUpperCase()}`;
      args = args.slice(1);
    }
    const definition = commandTable.get(name) as ImapCommand<unknown> | undefined;
    let result: CommandResult | void;
    const started = Date.now();
    try {
      if (!definition || (definition.capability && !this.capabilities().includes(definition.capability))) {
        throw new CommandError('BAD', undefined, `Unknown command ${name.slice(0, 40)}`);
      }
      if (!definition.states.includes(this.state)) {
        throw new CommandError('BAD', undefined, this.state === 'not-authenticated' ? `${name} needs a login first` : this.state === 'authenticated' && definition.states.includes('selected') ? `${name} needs a selected mailbox` : `${name} is not valid in this state`);
      }
      const reader = new ArgReader(args, { utf8: this.utf8, searchRes: true });
      const parsed = definition.parse(reader, this);
      result = await definition.run(this, parsed, { tag, message });
    } catch (error) {
      result = this.failure(error, name);
    } finally {
      if (message) this.reader.finishMessage(message);
    }
    if (this.closed) return;
    this.log('debug', 'command', { tag, command: name, status: result?.status ?? 'OK', ms: Date.now() - started });
    if (result?.handled) {
      if (barriers.has(name)) this.reader.release();
      return;
    }
    try {
      if (this.selected && this.state === 'selected') await this.syncSelected({ expunges: definition?.expunges !== false });
    } catch (error) {
      // The command itself is done; a failed update must not cost its answer.
      if (!(error instanceof ConnectionClosedError)) this.reportBug(error, `${name} (updates)`);
    }
    if (this.closed) return;
    try {
      await this.tagged(tag, result?.status ?? 'OK', result?.code, result?.text ?? `${name} completed`);
    } catch (error) {
      if (!(error instanceof ConnectionClosedError)) this.reportBug(error, name);
    }
    if (barriers.has(command.name)) this.reader.release();
  }

  private failure(error: unknown, name: string): CommandResult {
    if (error instanceof ParseError) return { status: 'BAD', code: error.code, text: `Syntax error in ${name}: ${error.message}` };
    if (error instanceof CommandError) return { status: error.status, code: error.code, text: error.message };
    if (error instanceof BackendError) {
      if (error.kind === 'NOSELECT') return { status: 'NO', code: 'CANNOT', text: error.message };
      return { status: 'NO', code: error.kind, text: error.message };
    }
    if (error instanceof ConnectionClosedError) return { status: 'NO', text: 'closed' };
    this.reportBug(error, name);
    return { status: 'NO', code: 'SERVERBUG', text: 'Internal error; the problem has been logged' };
  }

  reportBug(error: unknown, where: string): void {
    const err = error instanceof Error ? error : new Error(String(error));
    this.log('error', 'internal error', { command: where, error: err.message, stack: err.stack });
    this.hooks.emit('sessionError', { sessionId: this.id, error: err });
  }

  // ---- selected mailbox ----

  /** Starts watching the newly selected mailbox for changes. */
  enterSelected(view: SelectedMailbox): void {
    this.selected = view;
    this.state = 'selected';
    const ctx = this.context();
    this.unwatch = this.backend.watch(ctx, view.handle, () => {
      view.dirty = true;
      for (const waiter of this.changeWaiters.splice(0)) waiter();
    });
  }

  /** Leaves the selected mailbox (CLOSE, UNSELECT, SELECT of another, logout). */
  async leaveSelected(): Promise<void> {
    const view = this.selected;
    if (!view) return;
    this.selected = null;
    this.state = 'authenticated';
    this.savedSearch = null;
    this.unwatch?.();
    this.unwatch = null;
    try {
      await this.backend.closeMailbox?.(this.context(), view.handle);
    } catch (error) {
      this.reportBug(error, 'closeMailbox');
    }
  }

  /** Resolves at the next change signalled for the selected mailbox (for IDLE). */
  nextChange(): { promise: Promise<void>; cancel: () => void } {
    let resolve!: () => void;
    const promise = new Promise<void>((r) => (resolve = r));
    if (this.selected?.dirty) resolve();
    else this.changeWaiters.push(resolve);
    return { promise, cancel: () => (this.changeWaiters = this.changeWaiters.filter((w) => w !== resolve)) };
  }

  /**
   * Reads the backend's change feed since the last MODSEQ shown and tells the
   * client: new keywords (FLAGS), expunges (when allowed), new messages
   * (EXISTS, RECENT), flag changes (FETCH).
   */
  async syncSelected(options: { expunges: boolean; force?: boolean }): Promise<void> {
    const view = this.selected;
    if (!view) return;
    if (!view.dirty && !options.force && !(options.expunges && view.pendingExpunge.size > 0)) return this.announceRecent(view);
    view.dirty = false;
    const ctx = this.context();
    const lastKnown = view.lastUid;
    const newUids = new Set<number>();
    const flagChanges = new Map<number, MailboxChange & { kind: 'message' }>();
    const newKeywords: string[] = [];
    let highest = view.modseq;
    let feed;
    try {
      feed = await this.backend.changes(ctx, view.handle, view.modseq);
    } catch (error) {
      if (error instanceof BackendError && error.kind === 'NONEXISTENT') return this.mailboxGone();
      throw error;
    }
    for await (const change of feed) {
      if (change.modseq > highest) highest = change.modseq;
      if (change.kind === 'expunge') {
        if (newUids.delete(change.uid)) continue;
        if (view.seqOf(change.uid) > 0) {
          view.pendingExpunge.add(change.uid);
          flagChanges.delete(change.uid);
        }
        continue;
      }
      for (const flag of change.flags) {
        if (!systemFlagSet.has(flag) && !view.keywords.has(flag)) {
          view.keywords.add(flag);
          newKeywords.push(flag);
        }
      }
      if (change.uid > lastKnown) {
        newUids.add(change.uid);
        continue;
      }
      if (view.pendingExpunge.has(change.uid) || view.seqOf(change.uid) === 0) continue;
      const reported = view.reported.get(change.uid);
      if (reported !== undefined && reported >= change.modseq) continue;
      flagChanges.set(change.uid, change);
    }
    view.modseq = highest;
    view.reported.clear();

    if (newKeywords.length > 0) await this.sendFlags(view);
    if (options.expunges && view.pendingExpunge.size > 0) {
      await this.announceExpunged(uidSetFromSorted([...view.pendingExpunge].sort((a, b) => a - b)));
    }
    if (newUids.size > 0) {
      const added = [...newUids].sort((a, b) => a - b);
      view.append(added);
      if (!view.readOnly && this.backend.claimRecent) {
        const claimed = await this.backend.claimRecent(ctx, view.handle, uidSetFromSorted(added));
        for (const [start, end] of claimed) for (let uid = start; uid <= end; uid++) if (view.seqOf(uid) > 0) view.recent.add(uid);
      }
      await this.untagged(`${view.count} EXISTS`);
      view.recentSent = -1;
    }
    await this.announceRecent(view);
    const changed = [...flagChanges.values()].sort((a, b) => a.uid - b.uid);
    for (const change of changed) {
      const seq = view.seqOf(change.uid);
      if (seq === 0) continue;
      await this.sendFlagsFetch(view, seq, change.uid, change.flags, change.modseq, true);
    }
  }

  /**
   * Announces keywords the client has not seen in a FLAGS response yet, before
   * a FETCH that shows them (another session may have set them since).
   */
  async announceKeywords(view: SelectedMailbox, flags: readonly string[]): Promise<void> {
    let grew = false;
    for (const flag of flags) {
      if (!systemFlagSet.has(flag) && !view.keywords.has(flag)) {
        view.keywords.add(flag);
        grew = true;
      }
    }
    if (grew) await this.sendFlags(view);
  }

  /** `* n RECENT` when the count changed since it was last sent (it drops as recent messages are expunged). */
  async announceRecent(view: SelectedMailbox): Promise<void> {
    const count = view.recentCount();
    if (count === view.recentSent) return;
    view.recentSent = count;
    await this.untagged(`${count} RECENT`);
  }

  /** `* FLAGS` and PERMANENTFLAGS, when the set of keywords grew. */
  async sendFlags(view: SelectedMailbox): Promise<void> {
    const keywords = [...view.keywords];
    await this.untagged(`FLAGS (${[...systemFlags, ...keywords].join(' ')})`);
    await this.untagged(`OK [PERMANENTFLAGS (${view.readOnly ? '' : [...systemFlags, ...keywords, '\\*'].join(' ')})] Flags permitted`);
  }

  /** A FETCH response about flags: with UID and MODSEQ once CONDSTORE is on (RFC 7162 §3.1). */
  async sendFlagsFetch(view: SelectedMailbox, seq: number, uid: number, flags: readonly string[], modseq: number, withUid: boolean): Promise<void> {
    await this.announceKeywords(view, flags);
    const all = view.isRecent(uid) ? ['\\Recent', ...flags] : flags;
    let items = '';
    if (withUid || this.condstore) items += `UID ${uid} `;
    items += `FLAGS (${all.join(' ')})`;
    if (this.condstore) items += ` MODSEQ (${modseq})`;
    return this.untagged(`${seq} FETCH (${items})`);
  }

  /**
   * Tells the client that messages are gone and removes them from the view in
   * one compaction: VANISHED once QRESYNC is on, else EXPUNGE from the highest
   * number down (RFC 3501 §7.4.1). The new RECENT count follows with the next
   * sync, after any EXISTS.
   */
  async announceExpunged(uids: UidSet): Promise<void> {
    const view = this.selected;
    if (!view || uidSetIsEmpty(uids)) return;
    const known = uidSetIntersect(uids, view.allUids());
    if (uidSetIsEmpty(known)) return;
    const seqs = view.remove(known);
    if (this.qresync) {
      await this.untagged(`VANISHED ${formatUidSet(known)}`);
    } else {
      for (const seq of seqs) await this.untagged(`${seq} EXPUNGE`);
    }
  }

  /** The selected mailbox was deleted under us: nothing sensible can follow. */
  private async mailboxGone(): Promise<void> {
    await this.untagged('BYE The selected mailbox was deleted').catch(() => {});
    this.close();
  }

  // ---- CONDSTORE ----

  /** A CONDSTORE-enabling command (RFC 7162 §3.1): the first one with a mailbox selected reports HIGHESTMODSEQ. */
  async enableCondstore(): Promise<void> {
    if (this.condstore) return;
    this.condstore = true;
    if (this.selected) await this.untagged(`OK [HIGHESTMODSEQ ${this.selected.modseq}] Highest`);
  }

  // ---- authentication ----

  async loggedIn(user: unknown, username: string, mechanism: 'LOGIN' | 'PLAIN'): Promise<void> {
    this.ctx = { id: this.id, user, remoteAddress: this.remoteAddress, secure: this.secure };
    this.username = username;
    this.state = 'authenticated';
    // LOGIN and AUTHENTICATE are barriers: nothing after them was read yet.
    this.reader.setLimits(this.readerLimits());
    this.writer.setQueueLimit(defaultQueueLimit);
    this.log('info', 'login', { user: username, mechanism });
    this.hooks.emit('authSuccess', { sessionId: this.id, remoteAddress: this.remoteAddress, username, mechanism });
    this.touch();
  }

  /** Counts, reports and delays a failed login; closes the connection after too many. */
  async loginFailed(tag: string, username: string, mechanism: 'LOGIN' | 'PLAIN'): Promise<CommandResult> {
    this.authFailures++;
    const event = { sessionId: this.id, remoteAddress: this.remoteAddress, username, mechanism, failures: this.authFailures };
    this.log('info', 'login failed', { user: username, mechanism, failures: this.authFailures });
    this.hooks.emit('authFailure', event);
    try {
      this.options.onAuthFailure?.(event);
    } catch (error) {
      this.reportBug(error, 'onAuthFailure');
    }
    await new Promise((resolve) => setTimeout(resolve, this.options.authFailureDelayMs));
    if (this.authFailures >= this.options.maxAuthFailures) {
      await this.tagged(tag, 'NO', 'AUTHENTICATIONFAILED', 'Authentication failed').catch(() => {});
      await this.untagged('BYE Too many failed logins').catch(() => {});
      this.close();
      return { handled: true };
    }
    return { status: 'NO', code: 'AUTHENTICATIONFAILED', text: 'Authentication failed' };
  }

  // ---- STARTTLS ----

  /** Upgrades the connection to TLS (RFC 3501 §6.2.1) after the tagged OK was written. */
  async upgradeToTls(): Promise<void> {
    const raw = this.socket as Socket;
    this.detach(raw);
    this.reader.discardBuffered();
    const tlsSocket = new TLSSocket(raw, { isServer: true, secureContext: this.options.tls });
    this.socket = tlsSocket;
    this.writer.setSocket(tlsSocket);
    this.attach(tlsSocket);
    await new Promise<void>((resolve) => {
      const done = () => {
        tlsSocket.off('secure', done);
        tlsSocket.off('close', done);
        resolve();
      };
      tlsSocket.once('secure', done);
      tlsSocket.once('close', done);
    });
    this.tlsActive = true;
    this.secure = this.options.isSecure(tlsSocket, true);
    this.log('info', 'tls', { protocol: tlsSocket.getProtocol?.() ?? '' });
  }

  // ---- lifecycle ----

  private attach(socket: Socket | TLSSocket): void {
    socket.on('data', this.onData);
    socket.on('end', this.onEnd);
    socket.on('close', this.onEnd);
    socket.on('error', this.onError);
  }

  private detach(socket: Socket | TLSSocket): void {
    socket.off('data', this.onData);
    socket.off('end', this.onEnd);
    socket.off('close', this.onEnd);
    socket.off('error', this.onError);
  }

  /** Resets the inactivity timer: short before login, 30 minutes and a little after (RFC 3501 §5.4). */
  private touch(): void {
    if (this.closed) return;
    if (this.timer) clearTimeout(this.timer);
    const ms = this.state === 'not-authenticated' ? this.options.preAuthTimeoutMs : this.options.idleTimeoutMs + Math.floor(Math.random() * this.options.idleTimeoutJitterMs);
    this.timer = setTimeout(() => void this.timeout(), ms);
    this.timer.unref?.();
  }

  private async timeout(): Promise<void> {
    this.log('info', 'idle timeout');
    await this.untagged('BYE Autologout; idle for too long').catch(() => {});
    this.close();
  }

  /** Sends BYE (when given) and closes after the output is flushed. */
  async shutdown(reason: string): Promise<void> {
    if (this.closed) return;
    await Promise.race([this.untagged(`BYE ${safeText(reason)}`).catch(() => {}), new Promise((resolve) => setTimeout(resolve, 1000))]);
    this.close();
  }

  /** Ends the session: the socket is closed after what was written, and the backend is told. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.reader.close();
    for (const waiter of this.changeWaiters.splice(0)) waiter();
    const view = this.selected;
    this.selected = null;
    this.unwatch?.();
    this.unwatch = null;
    const ctx = this.ctx;
    void (async () => {
      try {
        if (ctx && view) await this.backend.closeMailbox?.(ctx, view.handle);
        if (ctx) await this.backend.logout?.(ctx);
      } catch (error) {
        this.reportBug(error, 'logout');
      }
    })();
    // Flush what was written (a BYE, a tagged OK), but not forever: a client
    // that does not read would keep the socket open.
    const socket = this.socket;
    void Promise.race([this.writer.idle(), new Promise((resolve) => setTimeout(resolve, 2000).unref())]).then(() => {
      this.writer.close();
      socket.end();
      setTimeout(() => socket.destroy(), 2000).unref();
    });
    if (this.connectLevel === undefined) this.logConnect('debug');
    this.log(this.connectLevel!, 'disconnect', { client: this.remoteAddress, user: this.username || undefined, ms: Date.now() - this.startedAt });
    this.hooks.closed(this);
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Forces the socket shut at once (server shutdown after its grace period). */
  destroy(): void {
    this.close();
    this.socket.destroy();
  }

  private logConnect(level: 'info' | 'debug'): void {
    this.connectLevel = level;
    this.log(level, 'connect', { client: this.remoteAddress, tls: this.tlsActive });
  }

  log(level: 'debug' | 'info' | 'warn' | 'error', message: string, fields: Record<string, unknown> = {}): void {
    const logger = this.options.logger;
    const all = { cid: this.id, ...fields };
    if (level === 'debug') logger.debug?.(message, all);
    else logger[level](message, all);
  }
}
