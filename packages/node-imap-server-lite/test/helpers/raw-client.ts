// A raw IMAP client for exact wire checks: it sends octets as given and reads
// responses as the server wrote them. A response with literals is returned as
// one string with the literal octets inline ("* 1 FETCH (BODY[] {5}\r\nhello)").
// Every wait has a timeout, so a server that hangs fails the test instead of
// hanging it; the socket is destroyed when the test ends.

import type { ExecutionContext } from 'ava';
import { connect, type Socket } from 'node:net';

export interface Tagged {
  untagged: string[];
  tagged: string;
}

export class RawClient {
  private buffer = Buffer.alloc(0);
  private waiters: (() => void)[] = [];
  private ended = false;
  /** The greeting line. */
  greeting = '';

  private constructor(readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.buffer = Buffer.concat([this.buffer, chunk]);
      this.wake();
    });
    const end = () => {
      this.ended = true;
      this.wake();
    };
    socket.on('end', end);
    socket.on('close', end);
    socket.on('error', end);
  }

  static async connect(t: ExecutionContext, port: number, options: { greeting?: boolean } = {}): Promise<RawClient> {
    const socket = connect(port, '127.0.0.1');
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    const client = new RawClient(socket);
    t.teardown(() => socket.destroy());
    if (options.greeting !== false) client.greeting = await client.readResponse();
    return client;
  }

  get closed(): boolean {
    return this.ended;
  }

  private wake(): void {
    for (const waiter of this.waiters.splice(0)) waiter();
  }

  private async waitForData(deadline: number): Promise<void> {
    const remaining = deadline - Date.now();
    if (remaining <= 0) throw new Error(`timed out waiting for the server; buffered: ${JSON.stringify(this.buffer.toString('latin1').slice(0, 500))}`);
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, remaining);
      this.waiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  write(data: string | Buffer): void {
    this.socket.write(typeof data === 'string' ? Buffer.from(data, 'utf8') : data);
  }

  /** One whole response, literals inline; rejects on timeout or when the connection ends first. */
  async readResponse(timeoutMs = 5000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    let offset = 0;
    for (;;) {
      const lf = this.buffer.indexOf(0x0a, offset);
      if (lf < 0) {
        if (this.ended) throw new Error(`connection closed; buffered: ${JSON.stringify(this.buffer.toString('latin1'))}`);
        await this.waitForData(deadline);
        continue;
      }
      const line = this.buffer.toString('latin1', offset, lf + 1);
      const literal = /\{(\d+)\}\r\n$/.exec(line);
      if (literal) {
        const size = Number(literal[1]);
        while (this.buffer.length < lf + 1 + size) {
          if (this.ended) throw new Error('connection closed inside a literal');
          await this.waitForData(deadline);
        }
        offset = lf + 1 + size;
        continue;
      }
      const response = this.buffer.toString('latin1', 0, lf + 1).replace(/\r\n$/, '');
      this.buffer = this.buffer.subarray(lf + 1);
      return response;
    }
  }

  /** Sends `tag command` and collects responses up to the tagged one. */
  async command(tag: string, command: string, timeoutMs = 5000): Promise<Tagged> {
    this.write(`${tag} ${command}\r\n`);
    return this.until(tag, timeoutMs);
  }

  /** Collects responses up to the one tagged `tag`. */
  async until(tag: string, timeoutMs = 5000): Promise<Tagged> {
    const untagged: string[] = [];
    for (;;) {
      const response = await this.readResponse(timeoutMs);
      if (response.startsWith(`${tag} `)) return { untagged, tagged: response };
      untagged.push(response);
    }
  }

  /** Resolves when the server closed the connection. */
  async waitClosed(timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.ended) await this.waitForData(deadline);
  }

  async login(user = 'alice@example.test', pass = 'secret'): Promise<void> {
    const result = await this.command('L0', `LOGIN "${user}" "${pass}"`);
    if (!result.tagged.startsWith('L0 OK')) throw new Error(`login failed: ${result.tagged}`);
  }
}
