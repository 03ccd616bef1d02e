// The command reader: octets from the socket in, whole commands (or rejections)
// out, in order. It frames lines and literals (RFC 3501 §4.3, RFC 7888 LITERAL+,
// literal8 ~{n}), enforces the limits, and streams APPEND's message literal
// instead of keeping it.
//
// Invariants a reader of this file must keep:
// - Octets are handled as Buffers end to end; nothing is decoded as 'binary'.
// - Every command or rejection is delivered through `host.deliver` in the order
//   the client sent them; the session executes them in that order. Parsing runs
//   ahead of execution only while the session has room (`host.hasRoom()`), and
//   stops after a "barrier" command (IDLE, AUTHENTICATE, STARTTLS, LOGOUT) until
//   the session calls `release()`: what follows those is not a command until
//   they finish (DONE, SASL responses, a TLS handshake).
// - A literal that is too large is refused before the "+" is sent (NO [TOOBIG]);
//   the half-read command is dropped, and when the literal was non-synchronizing
//   (the client sends it anyway) its octets and the rest of its command are
//   read and discarded without being kept, so that the next command starts
//   clean. A non-synchronizing literal over `maxNonSyncLiteral` (4096 before
//   login, where LITERAL- is advertised) is answered BAD [TOOBIG] the same way
//   (RFC 7888 §4 choice 1, §5).
// - Memory is bounded: a line is at most `maxLineLength`, a kept literal at most
//   `maxLiteralSize`, a whole command at most `maxCommandSize`; APPEND's message
//   (only when `streamMessages`, i.e. after login) is pushed into a Readable
//   whose back-pressure pauses the socket. Whenever unprocessed input remains,
//   the host is asked to pause the socket, so at most one socket chunk waits
//   here. The limits are the session's for its state (`setLimits`: small
//   before login); `bufferedBytes` tells what the reader holds.

import { Readable } from 'node:stream';
import { CommandParser, ParseError, isTagByte, type IncomingMessageLiteral, type ParsedCommand, type StreamNode } from './parser.ts';

export interface ReaderLimits {
  /** Octets in one line (between literals), CRLF excluded. */
  maxLineLength: number;
  /** Octets in one literal other than APPEND's message. */
  maxLiteralSize: number;
  /** Octets in one command, lines and kept literals together (APPEND's message excluded). */
  maxCommandSize: number;
  /** Octets in one APPEND message (APPENDLIMIT, RFC 7889). */
  appendLimit: number;
  /**
   * Where LITERAL- is advertised, 4096: a larger non-synchronizing literal is
   * a client error, answered BAD (RFC 7888 §5). Unset under LITERAL+: a
   * non-synchronizing literal is then limited like any other.
   */
  maxNonSyncLiteral?: number;
  /** Whether APPEND's message literal is streamed to the command (after login); otherwise it is an ordinary literal under `maxLiteralSize`. Default true. */
  streamMessages?: boolean;
}

/** `size`: the octets of the command as it was read (its lines and kept literals), for the session's parse-ahead budget. */
export type ReaderEntry =
  | { type: 'command'; command: ParsedCommand; message?: MessageLiteral; size: number }
  | { type: 'reject'; tag: string; status: 'BAD' | 'NO'; code?: string; text: string; size: number };

export interface ReaderHost {
  deliver(entry: ReaderEntry): void;
  /**
   * Writes a "+ text" continuation request, in order with the rest of the
   * output; resolves when it is written. The reader reads nothing more until
   * then, so that a client that sends literals but reads no "+" cannot make
   * the server queue output without end.
   */
  continuation(text: string): Promise<void>;
  /** Whether the session takes another command now (bounds parsing ahead). */
  hasRoom(): boolean;
  /** Whether literal8 (~{n}) is allowed: only where BINARY or UTF8=ACCEPT is advertised. */
  allowLiteral8(): boolean;
  /** Commands after which parsing stops until release(). */
  isBarrier(name: string): boolean;
  pauseInput(): void;
  resumeInput(): void;
}

type State =
  | { kind: 'line' }
  | { kind: 'literal'; remaining: number; chunks: Buffer[]; binary: boolean; size: number }
  | { kind: 'await-accept'; literal: MessageLiteral }
  | { kind: 'stream'; literal: MessageLiteral }
  | { kind: 'after-stream'; literal: MessageLiteral }
  | { kind: 'skip-literal'; remaining: number }
  | { kind: 'skip-line' };

const nonSyncMarker = /~?\{(\d{1,10})\+\}$/;

/** APPEND's message literal as the reader streams it. */
export class MessageLiteral implements IncomingMessageLiteral {
  readonly stream: Readable;
  remaining: number;
  accepted = false;
  /** The octets and the end of the line arrived, and the stream was ended. */
  complete = false;
  /** The command gave up on the octets; the reader discards what is left. */
  abandoned = false;

  constructor(
    private readonly reader: CommandReader,
    readonly size: number,
    readonly binary: boolean,
    readonly sync: boolean,
    /** What must close the command line after the octets: ")" for APPEND's `UTF8 (~{n})` form. */
    readonly closing: string,
  ) {
    this.remaining = size;
    this.stream = new Readable({
      highWaterMark: 64 * 1024,
      // The first read accepts the literal: a backend that refuses the APPEND
      // before reading (no such mailbox) never causes a "+" to be sent.
      read: () => {
        if (!this.accepted) this.accept();
        else reader.streamWantsMore();
      },
      destroy: (error, callback) => {
        if (!this.complete) this.abandoned = true;
        callback(error);
        reader.streamWantsMore();
      },
    });
    // The consumer sees a failure through its own read; a stream nobody reads
    // any more must not crash the process when it is failed.
    this.stream.on('error', () => {});
  }

  accept(): Readable {
    if (!this.accepted) {
      this.accepted = true;
      this.reader.acceptLiteral(this);
    }
    return this.stream;
  }
}

export class CommandReader {
  private buffer: Buffer = Buffer.alloc(0);
  private state: State = { kind: 'line' };
  private lineChunks: Buffer[] = [];
  private lineLength = 0;
  private parser: CommandParser | null = null;
  private commandBytes = 0;
  /** Stopped after a barrier command until release(). */
  private stopped = false;
  private closed = false;
  private processing = false;
  /** A "+" is being written; nothing more is read until it is out. */
  private awaitingOutput = false;
  private skipTail = '';
  private lineWaiter: { resolve: (line: Buffer | null) => void; reject: (error: Error) => void } | null = null;

  constructor(
    private readonly host: ReaderHost,
    private limits: ReaderLimits,
  ) {}

  /** Applies other limits from the next command on (the session's after login). */
  setLimits(limits: ReaderLimits): void {
    this.limits = limits;
  }

  /**
   * Octets held here now: input not yet parsed, the line being collected, and
   * the command being assembled (its lines and the literal octets received).
   * A streamed APPEND message is not counted: its stream's buffer is bounded
   * by back-pressure.
   */
  get bufferedBytes(): number {
    const state = this.state;
    const awaited = state.kind === 'literal' ? state.remaining : 0;
    return this.buffer.length + this.lineLength + Math.max(0, this.commandBytes - awaited);
  }

  push(chunk: Buffer): void {
    if (this.closed) return;
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    this.process();
  }

  /** Resumes parsing after a barrier command finished. */
  release(): void {
    this.stopped = false;
    this.process();
  }

  /** The session made room for another command. */
  kick(): void {
    this.process();
  }

  /** The next raw line, for a running barrier command (IDLE's DONE, SASL responses); null when the connection ends. */
  takeLine(): Promise<Buffer | null> {
    if (this.closed) return Promise.resolve(null);
    return new Promise((resolve, reject) => {
      this.lineWaiter = { resolve, reject };
      this.process();
    });
  }

  /** Puts a line back in front of the input, to be parsed as a command after release(). */
  unshiftLine(line: Buffer): void {
    this.buffer = Buffer.concat([line, Buffer.from('\r\n'), this.buffer]);
  }

  /** Drops input received but not yet parsed (pipelined plaintext after STARTTLS, RFC 3501 §6.2.1). */
  discardBuffered(): void {
    this.buffer = Buffer.alloc(0);
  }

  /** After APPEND finished: whatever of its message literal was not read is discarded (a refused sync literal was never sent). */
  finishMessage(literal: MessageLiteral): void {
    if (literal.complete) return;
    literal.abandoned = true;
    if (this.state.kind === 'await-accept' && this.state.literal === literal) {
      // The client waits for "+" that will not come: the command is over.
      this.state = { kind: 'line' };
    } else if (this.state.kind === 'stream' && this.state.literal === literal) {
      this.state = { kind: 'skip-literal', remaining: literal.remaining };
    }
    if (!literal.stream.destroyed) literal.stream.destroy();
    this.process();
  }

  close(): void {
    this.closed = true;
    const state = this.state;
    if (state.kind === 'stream' || state.kind === 'after-stream' || state.kind === 'await-accept') {
      if (!state.literal.stream.destroyed) state.literal.stream.destroy(new Error('the connection closed during the APPEND'));
    }
    this.lineWaiter?.resolve(null);
    this.lineWaiter = null;
    this.buffer = Buffer.alloc(0);
  }

  /** @internal */
  acceptLiteral(literal: MessageLiteral): void {
    if (this.state.kind === 'await-accept' && this.state.literal === literal) {
      this.continuation('Ready for literal data');
      this.state = { kind: 'stream', literal };
      if (literal.remaining === 0) this.state = { kind: 'after-stream', literal };
      this.process();
    }
  }

  /** @internal */
  streamWantsMore(): void {
    // Called from inside stream.push() in some cases: defer to avoid re-entry.
    if (!this.processing) queueMicrotask(() => this.process());
  }

  private process(): void {
    if (this.processing || this.closed) return;
    this.processing = true;
    try {
      while (!this.closed && this.step()) {
        /* each step consumes input or changes state */
      }
    } finally {
      this.processing = false;
    }
    if (this.closed) return;
    if (this.buffer.length > 0) this.host.pauseInput();
    else this.host.resumeInput();
  }

  private continuation(text: string): void {
    this.awaitingOutput = true;
    void this.host.continuation(text).then(() => {
      this.awaitingOutput = false;
      this.process();
    });
  }

  /** Does one piece of work; false when nothing more can be done now. */
  private step(): boolean {
    if (this.awaitingOutput) return false;
    if (this.lineWaiter) return this.feedLineWaiter();
    if (this.buffer.length === 0) return false;
    const state = this.state;
    switch (state.kind) {
      case 'line':
        if (this.stopped) return false;
        if (this.parser === null && !this.host.hasRoom()) return false;
        return this.readLine();
      case 'literal':
        return this.readLiteral(state);
      case 'await-accept':
        return false;
      case 'stream':
        return this.readStream(state.literal);
      case 'after-stream':
        return this.readAfterStream(state.literal);
      case 'skip-literal': {
        const take = Math.min(state.remaining, this.buffer.length);
        this.buffer = this.buffer.subarray(take);
        state.remaining -= take;
        if (state.remaining === 0) {
          this.state = { kind: 'skip-line' };
          this.skipTail = '';
        }
        return true;
      }
      case 'skip-line':
        return this.skipLine();
    }
  }

  /**
   * Takes the line up to LF (without CR LF) when it is complete; null while it
   * is still arriving; `tooLong` (with the line's first octets, for its tag)
   * once it passes `limit`, after which the caller skips the rest of it.
   */
  private collectLine(limit: number): Buffer | null | { tooLong: Buffer } {
    const lf = this.buffer.indexOf(0x0a);
    if (lf < 0) {
      this.lineChunks.push(this.buffer);
      this.lineLength += this.buffer.length;
      this.buffer = Buffer.alloc(0);
      if (this.lineLength <= limit + 1) return null;
      const head = this.lineChunks[0]!.subarray(0, 64);
      this.lineChunks = [];
      this.lineLength = 0;
      this.skipTail = '';
      this.state = { kind: 'skip-line' };
      return { tooLong: head };
    }
    const tail = this.buffer.subarray(0, lf);
    this.buffer = this.buffer.subarray(lf + 1);
    let line = this.lineChunks.length === 0 ? tail : Buffer.concat([...this.lineChunks, tail]);
    this.lineChunks = [];
    this.lineLength = 0;
    if (line.length > 0 && line[line.length - 1] === 0x0d) line = line.subarray(0, line.length - 1);
    if (line.length > limit) {
      // The whole line is here: whatever literal it announces is handled as after any refused line.
      const match = nonSyncMarker.exec(line.subarray(Math.max(0, line.length - 32)).toString('latin1'));
      this.state = match ? { kind: 'skip-literal', remaining: Number(match[1]) } : { kind: 'line' };
      return { tooLong: line.subarray(0, 64) };
    }
    return line;
  }

  private readLine(): boolean {
    const line = this.collectLine(this.limits.maxLineLength);
    if (line === null) return false;
    if (!Buffer.isBuffer(line)) {
      const tag = this.parser?.tag ?? this.tagOf(line.tooLong);
      this.reject(tag, 'BAD', 'TOOBIG', `Command line too long (the limit is ${this.limits.maxLineLength} octets)`);
      this.resetCommand();
      return true;
    }
    if (this.parser === null) {
      // Tolerate blank lines between commands.
      if (line.length === 0 || /^[ \t]*$/.test(line.toString('latin1'))) return true;
      this.parser = new CommandParser();
      this.commandBytes = 0;
    }
    this.commandBytes += line.length + 2;
    const parser = this.parser;
    if (this.commandBytes > this.limits.maxCommandSize) {
      this.reject(parser.tag ?? this.tagOf(line), 'NO', 'TOOBIG', `Command too long (the limit is ${this.limits.maxCommandSize} octets)`);
      this.dropCommand(line);
      return true;
    }
    let marker;
    try {
      marker = parser.feedLine(line);
    } catch (error) {
      if (!(error instanceof ParseError)) throw error;
      this.reject(parser.tag ?? this.tagOf(line), 'BAD', error.code, `Syntax error: ${error.message}`);
      this.dropCommand(line);
      return true;
    }
    if (marker === null) {
      let command: ParsedCommand;
      try {
        command = parser.finish();
      } catch (error) {
        if (!(error instanceof ParseError)) throw error;
        this.reject(parser.tag ?? '*', 'BAD', error.code, `Syntax error: ${error.message}`);
        this.resetCommand();
        return true;
      }
      const size = this.commandBytes;
      this.resetCommand();
      this.host.deliver({ type: 'command', command, size });
      if (this.host.isBarrier(command.name)) this.stopped = true;
      return true;
    }
    const tag = parser.tag!;
    if (marker.binary && !this.host.allowLiteral8()) {
      this.reject(tag, 'BAD', undefined, 'Syntax error: literal8 (~{n}) is not allowed here');
      this.dropCommand(line);
      return true;
    }
    if (this.isMessageLiteral(parser)) {
      if (marker.size > this.limits.appendLimit) {
        this.reject(tag, 'NO', 'TOOBIG', `Message too large (the limit is ${this.limits.appendLimit} octets)`);
        this.dropCommand(line);
        return true;
      }
      const closing = ')'.repeat(parser.depth);
      const literal = new MessageLiteral(this, marker.size, marker.binary, marker.sync, closing);
      const node: StreamNode = { kind: 'stream', literal };
      parser.addLiteral(node);
      const command: ParsedCommand = { tag, name: parser.name!, args: closeOpenLists(parser) };
      const size = this.commandBytes;
      this.resetCommand();
      this.state = marker.sync ? { kind: 'await-accept', literal } : marker.size === 0 ? { kind: 'after-stream', literal } : { kind: 'stream', literal };
      if (!marker.sync) literal.accepted = true;
      this.host.deliver({ type: 'command', command, message: literal, size });
      return true;
    }
    const nonSyncLimit = this.limits.maxNonSyncLiteral;
    if (nonSyncLimit !== undefined && !marker.sync && marker.size > nonSyncLimit) {
      // The client broke LITERAL- (RFC 7888 §5): BAD, and its octets are skipped (§4, choice 1).
      this.reject(tag, 'BAD', 'TOOBIG', `Non-synchronizing literal too large (LITERAL- allows ${nonSyncLimit} octets)`);
      this.dropCommand(line);
      return true;
    }
    if (marker.size > this.limits.maxLiteralSize || this.commandBytes + marker.size > this.limits.maxCommandSize) {
      this.reject(tag, 'NO', 'TOOBIG', `Literal too large (the limit is ${Math.min(this.limits.maxLiteralSize, this.limits.maxCommandSize)} octets${this.limits.streamMessages === false ? ' before login' : ''})`);
      this.dropCommand(line);
      return true;
    }
    this.commandBytes += marker.size;
    if (marker.sync) this.continuation('Ready for literal data');
    this.state = { kind: 'literal', remaining: marker.size, chunks: [], binary: marker.binary, size: marker.size };
    if (marker.size === 0) this.finishLiteral(this.state);
    return true;
  }

  private readLiteral(state: Extract<State, { kind: 'literal' }>): boolean {
    const take = Math.min(state.remaining, this.buffer.length);
    state.chunks.push(this.buffer.subarray(0, take));
    this.buffer = this.buffer.subarray(take);
    state.remaining -= take;
    if (state.remaining === 0) this.finishLiteral(state);
    return true;
  }

  private finishLiteral(state: Extract<State, { kind: 'literal' }>): void {
    const bytes = Buffer.concat(state.chunks, state.size);
    this.parser!.addLiteral({ kind: 'string', bytes, literal: true, binary: state.binary });
    this.state = { kind: 'line' };
  }

  private readStream(literal: MessageLiteral): boolean {
    if (literal.abandoned || literal.stream.destroyed) {
      this.state = { kind: 'skip-literal', remaining: literal.remaining };
      return true;
    }
    if (literal.stream.readableLength >= literal.stream.readableHighWaterMark) return false;
    const take = Math.min(literal.remaining, this.buffer.length, 64 * 1024);
    const chunk = this.buffer.subarray(0, take);
    this.buffer = this.buffer.subarray(take);
    literal.remaining -= take;
    // Copy: the chunk would otherwise pin the whole socket buffer while queued.
    literal.stream.push(Buffer.from(chunk));
    if (literal.remaining === 0) this.state = { kind: 'after-stream', literal };
    return true;
  }

  private readAfterStream(literal: MessageLiteral): boolean {
    const line = this.collectLine(this.limits.maxLineLength);
    if (line === null) return false;
    if (!Buffer.isBuffer(line)) {
      this.failLiteral(literal, 'the APPEND command goes on after its message');
      return true;
    }
    this.state = { kind: 'line' };
    const rest = line.toString('latin1');
    if (rest.replace(/ +$/, '') === literal.closing) {
      literal.complete = true;
      if (!literal.abandoned && !literal.stream.destroyed) literal.stream.push(null);
      return true;
    }
    // MULTIAPPEND and CATENATE are not offered: anything else after the message is an error.
    this.failLiteral(literal, 'the APPEND command goes on after its message (MULTIAPPEND is not supported)');
    const match = nonSyncMarker.exec(rest);
    if (match) this.state = { kind: 'skip-literal', remaining: Number(match[1]) };
    return true;
  }

  private failLiteral(literal: MessageLiteral, message: string): void {
    literal.complete = true;
    if (!literal.stream.destroyed) literal.stream.destroy(new ParseError(message));
  }

  private skipLine(): boolean {
    const lf = this.buffer.indexOf(0x0a);
    const piece = lf < 0 ? this.buffer : this.buffer.subarray(0, lf);
    this.skipTail = (this.skipTail + piece.subarray(Math.max(0, piece.length - 32)).toString('latin1')).slice(-32);
    if (lf < 0) {
      this.buffer = Buffer.alloc(0);
      return false;
    }
    this.buffer = this.buffer.subarray(lf + 1);
    const match = nonSyncMarker.exec(this.skipTail.replace(/\r$/, ''));
    this.skipTail = '';
    this.state = match ? { kind: 'skip-literal', remaining: Number(match[1]) } : { kind: 'line' };
    return true;
  }

  private feedLineWaiter(): boolean {
    if (this.buffer.length === 0) return false;
    const line = this.collectLine(this.limits.maxLineLength);
    if (line === null) return false;
    const waiter = this.lineWaiter!;
    this.lineWaiter = null;
    if (Buffer.isBuffer(line)) waiter.resolve(line);
    else waiter.reject(new ParseError('line too long'));
    return true;
  }

  private isMessageLiteral(parser: CommandParser): boolean {
    if (parser.name !== 'APPEND' || this.limits.streamMessages === false) return false;
    const top = parser.topLevel;
    if (parser.depth === 0) return top.length >= 1;
    // APPEND mailbox [flags] [date] UTF8 (~{n}) — RFC 6855 §4.
    const last = top[top.length - 1];
    return parser.depth === 1 && parser.innermost.length === 0 && top.length >= 2 && last?.kind === 'atom' && last.value.toUpperCase() === 'UTF8';
  }

  /** Rejects the command that `line` belongs to and skips the rest of it. */
  private dropCommand(line: Buffer): void {
    this.resetCommand();
    const match = nonSyncMarker.exec(line.toString('latin1'));
    // A synchronizing literal is never sent without "+": the command ends here.
    this.state = match ? { kind: 'skip-literal', remaining: Number(match[1]) } : { kind: 'line' };
  }

  private resetCommand(): void {
    this.parser = null;
    this.commandBytes = 0;
  }

  private reject(tag: string, status: 'BAD' | 'NO', code: string | undefined, text: string): void {
    this.host.deliver({ type: 'reject', tag, status, code, text, size: tag.length + text.length });
  }

  private tagOf(line: Buffer): string {
    let end = 0;
    while (end < line.length && end < 64 && isTagByte(line[end]!)) end++;
    return end > 0 && (end === line.length || line[end] === 0x20) ? line.toString('latin1', 0, end) : '*';
  }
}

/** The arguments of a command whose last literal is inside open lists (APPEND's UTF8 form): closes them. */
function closeOpenLists(parser: CommandParser): import('./parser.ts').Node[] {
  if (parser.depth === 0) return [...parser.topLevel];
  const top = [...parser.topLevel];
  return [...top, { kind: 'list', items: [...parser.innermost] }];
}
