// A scripted POP3 dialogue over a raw socket, for exact wire checks.

import { connect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';

export interface Pop3Step {
  send: string;
  /** The reply is multi-line (ends with CRLF "." CRLF) when it starts with +OK. */
  multiline?: boolean;
}

export class Pop3Connection {
  private buffer: Buffer = Buffer.alloc(0);
  private waiter: (() => void) | undefined;
  closed = false;

  constructor(private socket: Socket) {
    this.listen(socket);
  }

  private listen(socket: Socket): void {
    socket.on('data', (chunk: Buffer) => {
      this.buffer = Buffer.concat([this.buffer, chunk]);
      this.waiter?.();
    });
    socket.on('close', () => {
      this.closed = true;
      this.waiter?.();
    });
    socket.on('error', () => {});
  }

  static open(port: number, options: { tls?: boolean } = {}): Promise<Pop3Connection> {
    return new Promise((resolve, reject) => {
      const socket = options.tls ? tlsConnect({ port, host: '127.0.0.1', rejectUnauthorized: false }) : connect(port, '127.0.0.1');
      socket.once(options.tls ? 'secureConnect' : 'connect', () => resolve(new Pop3Connection(socket)));
      socket.once('error', reject);
    });
  }

  /** Reads one reply: a line, or for a multi-line +OK everything up to CRLF.CRLF (returned dot-unstuffed, as text). */
  reply(multiline = false, timeoutMs = 10_000): Promise<string> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiter = undefined;
        reject(new Error(`no reply; buffer: ${this.buffer.toString('latin1').slice(0, 200)}`));
      }, timeoutMs);
      const check = () => {
        const lineEnd = this.buffer.indexOf('\r\n');
        if (lineEnd >= 0) {
          const first = this.buffer.toString('utf8', 0, lineEnd);
          if (!multiline || !first.startsWith('+OK')) return done(lineEnd + 2, first);
          const end = this.buffer.indexOf('\r\n.\r\n', lineEnd - 2 < 0 ? 0 : lineEnd);
          if (end >= 0) return done(end + 5, this.buffer.toString('utf8', 0, end + 2).replace(/\r\n\.\./g, '\r\n.'));
        }
        if (this.closed) done(this.buffer.length, this.buffer.toString('utf8'));
      };
      const done = (consumed: number, text: string) => {
        clearTimeout(timer);
        this.waiter = undefined;
        this.buffer = this.buffer.subarray(consumed);
        resolve(text);
      };
      this.waiter = check;
      check();
    });
  }

  async command(line: string, multiline = false): Promise<string> {
    this.socket.write(line + '\r\n');
    return this.reply(multiline);
  }

  write(raw: string | Buffer): void {
    this.socket.write(raw);
  }

  /** STLS: upgrades this connection to TLS after +OK. */
  async startTls(): Promise<void> {
    this.socket.removeAllListeners('data');
    const secure = tlsConnect({ socket: this.socket, rejectUnauthorized: false });
    await new Promise<void>((resolve, reject) => {
      secure.once('secureConnect', () => resolve());
      secure.once('error', reject);
    });
    this.socket = secure;
    this.listen(secure);
  }

  destroy(): void {
    this.socket.destroy();
  }
}
