// A raw IMAP connection for exact wire checks: sends tagged commands and
// collects the untagged responses (with literals kept as octets) until the
// tagged one. Plus a reader for FETCH response item lists.

import { connect, type Socket } from 'node:net';

export type WireValue = Buffer | number | null | WireValue[];

export class RawImap {
  private buffer: Buffer = Buffer.alloc(0);
  private waiter: (() => void) | undefined;
  private closed = false;
  private tagCount = 0;

  private constructor(private readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.buffer = this.buffer.length ? Buffer.concat([this.buffer, chunk]) : chunk;
      this.waiter?.();
    });
    socket.on('close', () => {
      this.closed = true;
      this.waiter?.();
    });
    socket.on('error', () => {});
  }

  static async open(port: number): Promise<RawImap> {
    const socket = connect(port, '127.0.0.1');
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    const imap = new RawImap(socket);
    await imap.line();
    return imap;
  }

  /** One response line with its literals inline (`{n}\r\n` + octets), without the final CRLF. */
  private line(timeoutMs = 60_000): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no response; buffer: ${this.buffer.toString('latin1').slice(0, 300)}`)), timeoutMs);
      const check = () => {
        let from = 0;
        for (;;) {
          const end = this.buffer.indexOf('\r\n', from);
          if (end < 0) break;
          const literal = /\{(\d+)\+?\}$/.exec(this.buffer.toString('latin1', Math.max(from, end - 20), end));
          if (literal) {
            const next = end + 2 + Number(literal[1]);
            if (this.buffer.length < next) break;
            from = next;
            continue;
          }
          clearTimeout(timer);
          this.waiter = undefined;
          const out = Buffer.from(this.buffer.subarray(0, end));
          this.buffer = this.buffer.subarray(end + 2);
          return resolve(out);
        }
        if (this.closed) {
          clearTimeout(timer);
          reject(new Error('connection closed'));
        }
      };
      this.waiter = check;
      check();
    });
  }

  /** Runs a command; resolves with its untagged responses and the tagged status line. */
  async command(text: string): Promise<{ untagged: Buffer[]; status: string }> {
    const tag = `t${++this.tagCount}`;
    this.socket.write(`${tag} ${text}\r\n`);
    const untagged: Buffer[] = [];
    for (;;) {
      const line = await this.line();
      if (line.toString('latin1').startsWith(`${tag} `)) return { untagged, status: line.toString('utf8').slice(tag.length + 1) };
      untagged.push(line);
    }
  }

  close(): void {
    this.socket.destroy();
  }
}

/** Reads one value (atom, number, NIL, quoted, literal, list) at `pos`; returns it and the next position. */
export function readValue(octets: Buffer, pos: number): [WireValue, number] {
  while (octets[pos] === 0x20) pos++;
  const c = octets[pos];
  if (c === 0x28) {
    const list: WireValue[] = [];
    pos++;
    for (;;) {
      while (octets[pos] === 0x20) pos++;
      if (octets[pos] === 0x29) return [list, pos + 1];
      if (pos >= octets.length) throw new Error('unclosed list');
      const [value, next] = readValue(octets, pos);
      list.push(value);
      pos = next;
    }
  }
  if (c === 0x22) {
    const out: number[] = [];
    pos++;
    while (octets[pos] !== 0x22) {
      if (pos >= octets.length) throw new Error('unclosed quoted string');
      if (octets[pos] === 0x5c) pos++;
      out.push(octets[pos++]!);
    }
    return [Buffer.from(out), pos + 1];
  }
  if (c === 0x7b) {
    const close = octets.indexOf(0x7d, pos);
    const length = Number(octets.toString('latin1', pos + 1, close).replace('+', ''));
    const start = close + 3;
    return [Buffer.from(octets.subarray(start, start + length)), start + length];
  }
  const start = pos;
  while (pos < octets.length && ![0x20, 0x28, 0x29].includes(octets[pos]!)) pos++;
  const atom = octets.toString('latin1', start, pos);
  if (atom.toUpperCase() === 'NIL') return [null, pos];
  if (/^\d+$/.test(atom)) return [Number(atom), pos];
  return [Buffer.from(atom, 'latin1'), pos];
}

/** `* n FETCH (KEY value ...)` → sequence number and a map of item name → value; section keys keep their brackets (`BODY[1.MIME]`, `BODY[]<100>`). */
export function parseFetch(line: Buffer): { seq: number; items: Map<string, WireValue> } {
  const head = /^\* (\d+) FETCH \(/.exec(line.toString('latin1', 0, 40));
  if (!head) throw new Error(`not a FETCH response: ${line.toString('latin1', 0, 80)}`);
  const items = new Map<string, WireValue>();
  let pos = head[0].length;
  for (;;) {
    while (line[pos] === 0x20) pos++;
    if (line[pos] === 0x29) break;
    const start = pos;
    while (pos < line.length && line[pos] !== 0x20 && line[pos] !== 0x5b) pos++;
    let key = line.toString('latin1', start, pos);
    if (line[pos] === 0x5b) {
      const close = line.indexOf(0x5d, pos);
      key += line.toString('latin1', pos, close + 1);
      pos = close + 1;
      const partial = /^<\d+>/.exec(line.toString('latin1', pos, pos + 12));
      if (partial) {
        key += partial[0];
        pos += partial[0].length;
      }
    }
    const [value, next] = readValue(line, pos);
    items.set(key.toUpperCase(), value);
    pos = next;
  }
  return { seq: Number(head[1]), items };
}
