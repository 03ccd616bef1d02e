// The one ordered writer of a connection. Every octet the server sends goes
// through `send()`, one whole response at a time, in the order of the calls.
//
// Invariants:
// - Responses never interleave: a response's parts (text and literal bodies
//   read from streams) are written completely before the next response starts.
// - A literal body is exactly the length announced in its `{n}`: a stream that
//   ends short is padded with spaces and one that runs long is cut, and either
//   is reported through `onBodyError`, because a wrong count would desynchronise
//   the client for the rest of the connection.
// - Every literal body handed to `send()` is either read to its end or
//   destroyed: when the connection closes, the streams of queued responses
//   and the unread rest of the one being written are destroyed, so the files
//   behind them are closed at once.
// - Back-pressure: `send()` resolves at once while little is queued and the
//   socket is not full (so that many small responses go out in one write);
//   otherwise only when its octets are in the socket and the socket's buffer is
//   below its high-water mark. Callers await it, so a slow reader slows the
//   command that writes to it instead of growing a buffer here: at most
//   `queueLimit` octets of text wait here (small before login, see
//   `setQueueLimit`), plus the response being written.
// - Writes made in one turn of the event loop are corked and leave together in
//   the next check phase; `flushed()` resolves after that, when a socket option
//   that must follow the octets (TCP_QUICKACK after "+") can be set.

import type { Duplex } from 'node:stream';
import { discardBodies, type OutPart } from './encode.ts';

export class ConnectionClosedError extends Error {
  constructor() {
    super('the connection is closed');
    this.name = 'ConnectionClosedError';
  }
}

/** Text responses waiting in the queue are joined up to this many octets per write. */
const batchLimit = 64 * 1024;

/** Queued text up to which `send()` resolves without waiting for the write (the default; see setQueueLimit). */
export const defaultQueueLimit = 256 * 1024;

interface Pending {
  parts: OutPart[];
  /** Octets of text in `parts`. */
  size: number;
  resolve: () => void;
  reject: (error: Error) => void;
}

const ignore = () => {};

export class ResponseWriter {
  private socket: Duplex;
  private readonly queue: Pending[] = [];
  private running = false;
  private closedError: Error | null = null;
  private drainWaiters: (() => void)[] = [];
  private queuedBytes = 0;
  /** The socket said it is full; writing waits for 'drain'. */
  private blocked = false;
  private corked = false;
  private idleWaiters: (() => void)[] = [];
  /** Waiting for the writes of this turn to leave the cork (see `flushed`). */
  private flushWaiters: (() => void)[] = [];
  private queueLimit = defaultQueueLimit;
  /** Called after each flush of the cork (options.quickAck). */
  private afterFlush: (() => void) | undefined;
  /** Octets written, for tests and logs. */
  written = 0;

  constructor(
    socket: Duplex,
    private readonly onBodyError: (error: Error) => void,
  ) {
    this.socket = socket;
    this.watch(socket);
  }

  /** Moves writing to another socket (after STARTTLS); call only when idle. */
  setSocket(socket: Duplex): void {
    this.socket = socket;
    this.watch(socket);
  }

  get closed(): boolean {
    return this.closedError !== null;
  }

  /** A function to call each time corked writes have left for the socket (a socket option that must follow them). */
  onFlush(hook: () => void): void {
    this.afterFlush = hook;
  }

  /** How much queued text `send()` accepts without waiting (the session keeps it small before login). */
  setQueueLimit(octets: number): void {
    this.queueLimit = octets;
  }

  /** Octets held for this connection: text queued here, and what the socket has not yet handed to the kernel. */
  get bufferedBytes(): number {
    return this.queuedBytes + (this.socket.writableLength ?? 0);
  }

  send(parts: OutPart[]): Promise<void> {
    if (this.closedError) {
      discardBodies(parts);
      return Promise.reject(this.closedError);
    }
    const size = parts.reduce((sum, part) => sum + (Buffer.isBuffer(part) ? part.length : 0), 0);
    return new Promise((resolve, reject) => {
      // A response with a streamed body always waits: its stream is read here.
      const early = !this.blocked && this.queuedBytes + size <= this.queueLimit && parts.every((part) => Buffer.isBuffer(part));
      this.queuedBytes += size;
      this.queue.push({ parts, size, resolve: early ? ignore : resolve, reject: early ? ignore : reject });
      if (early) resolve();
      void this.run();
    });
  }

  /** Resolves when everything sent so far has been written. */
  idle(): Promise<void> {
    if (!this.running && this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /**
   * Resolves once everything sent so far has been handed to the socket (written
   * and uncorked, so in the kernel unless the socket is full): the session sets
   * a socket option that must come after the octets left (options.quickAck).
   */
  async flushed(): Promise<void> {
    await this.idle();
    if (this.corked && !this.closedError) await new Promise<void>((resolve) => this.flushWaiters.push(resolve));
  }

  /** Fails every queued response; later sends fail at once. */
  close(): void {
    if (!this.closedError) this.closedError = new ConnectionClosedError();
    for (const item of this.queue.splice(0)) {
      discardBodies(item.parts);
      item.reject(this.closedError);
    }
    for (const waiter of this.drainWaiters.splice(0)) waiter();
    for (const waiter of this.flushWaiters.splice(0)) waiter();
  }

  private watch(socket: Duplex): void {
    socket.on('drain', () => {
      for (const waiter of this.drainWaiters.splice(0)) waiter();
    });
    socket.once('close', () => this.close());
  }

  private async run(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      while (this.queue.length > 0) {
        // Responses made only of text go out together in one write (a FETCH of
        // flags for many messages is many small responses).
        const batch = [this.queue.shift()!];
        let size = batch[0]!.parts.every((part) => Buffer.isBuffer(part)) ? batch[0]!.size : Infinity;
        while (size < batchLimit && this.queue.length > 0 && this.queue[0]!.parts.every((part) => Buffer.isBuffer(part))) {
          const next = this.queue.shift()!;
          batch.push(next);
          size += next.size;
        }
        for (const item of batch) this.queuedBytes -= item.size;
        try {
          await this.writeParts(batch.length === 1 ? batch[0]!.parts : batch.flatMap((item) => item.parts));
          for (const item of batch) item.resolve();
        } catch (error) {
          for (const item of batch) item.reject(error as Error);
        }
      }
    } finally {
      this.running = false;
      for (const waiter of this.idleWaiters.splice(0)) waiter();
    }
  }

  private async writeParts(parts: OutPart[]): Promise<void> {
    let done = 0;
    try {
      await this.writeEach(parts, () => done++);
    } finally {
      // Whatever was not written to its end (the connection closed) is released.
      if (done < parts.length) discardBodies(parts.slice(done));
    }
  }

  /** Writes the parts in order; `finished` is called as each part is fully written. */
  private async writeEach(parts: OutPart[], finished: () => void): Promise<void> {
    // Consecutive text parts are joined into one write.
    let text: Buffer[] = [];
    let pendingText = 0;
    const flushText = async () => {
      if (text.length === 0) return;
      const joined = text.length === 1 ? text[0]! : Buffer.concat(text);
      text = [];
      await this.write(joined);
      for (; pendingText > 0; pendingText--) finished();
    };
    for (const part of parts) {
      if (Buffer.isBuffer(part)) {
        text.push(part);
        pendingText++;
        continue;
      }
      await flushText();
      let remaining = part.length;
      let failure: Error | null = null;
      try {
        for await (const chunk of part.source) {
          if (remaining === 0) {
            failure = new Error(`a literal body ran longer than the ${part.length} octets announced`);
            break;
          }
          const bytes = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk);
          const piece = bytes.length > remaining ? bytes.subarray(0, remaining) : bytes;
          remaining -= piece.length;
          await this.write(piece);
          if (bytes.length > piece.length) {
            failure = new Error(`a literal body ran longer than the ${part.length} octets announced`);
            break;
          }
        }
      } catch (error) {
        if (error instanceof ConnectionClosedError) throw error;
        failure = error as Error;
      } finally {
        const source = part.source as { destroy?: () => void };
        if (failure && typeof source.destroy === 'function') source.destroy();
      }
      if (remaining > 0) {
        failure ??= new Error(`a literal body ended ${remaining} octets short of the ${part.length} announced`);
        // Keep the count: the client reads exactly the announced octets.
        const filler = Buffer.alloc(Math.min(remaining, 65536), 0x20);
        while (remaining > 0) {
          const piece = remaining >= filler.length ? filler : filler.subarray(0, remaining);
          remaining -= piece.length;
          await this.write(piece);
        }
      }
      finished();
      if (failure) this.onBodyError(failure);
    }
    await flushText();
  }

  private async write(bytes: Buffer): Promise<void> {
    if (this.closedError) throw this.closedError;
    if (bytes.length === 0) return;
    const socket = this.socket;
    // Writes made in one turn of the event loop leave in one packet.
    if (!this.corked) {
      this.corked = true;
      socket.cork();
      setImmediate(() => {
        this.corked = false;
        socket.uncork();
        if (this.afterFlush && !this.closedError) {
          try {
            this.afterFlush();
          } catch {
            // A socket option that could not be set: the octets left all the same.
          }
        }
        for (const waiter of this.flushWaiters.splice(0)) waiter();
      });
    }
    const ok = socket.write(bytes);
    this.written += bytes.length;
    if (ok) return;
    this.blocked = true;
    await new Promise<void>((resolve) => {
      if (this.closedError || socket.destroyed) return resolve();
      this.drainWaiters.push(resolve);
    });
    this.blocked = false;
    if (this.closedError) throw this.closedError;
  }
}
