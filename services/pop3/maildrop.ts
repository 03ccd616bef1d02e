// Sending a message over POP3 (RFC 1939 §3): line by line, with a "." added to
// every line that starts with one, ending with CRLF "." CRLF. For TOP only the
// header, the blank line and the first n body lines are sent. Works on chunks
// of any size (a line may span chunks) and keeps only a flag between them.

import { Transform, type TransformCallback } from 'node:stream';

export class DotStuffer extends Transform {
  private atLineStart = true;
  private lastByte = -1;
  /** Body lines still to send for TOP; undefined for RETR. */
  private bodyLinesLeft: number | undefined;
  private inBody: boolean;
  private bodyStart: number;
  private offset = 0;
  private done = false;

  /** `top`: send only up to `top.bodyStart` and then `top.lines` more lines. */
  constructor(top?: { bodyStart: number; lines: number }) {
    super();
    this.bodyLinesLeft = top?.lines;
    this.bodyStart = top?.bodyStart ?? Infinity;
    this.inBody = false;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    if (this.done) return callback();
    const out: Buffer[] = [];
    let from = 0;
    for (let i = 0; i < chunk.length; i++) {
      const position = this.offset + i;
      if (this.bodyLinesLeft !== undefined && !this.inBody && position >= this.bodyStart) {
        this.inBody = true;
        if (this.bodyLinesLeft === 0) {
          out.push(chunk.subarray(from, i));
          this.done = true;
          from = chunk.length;
          break;
        }
      }
      const byte = chunk[i]!;
      if (this.atLineStart && byte === 0x2e) {
        out.push(chunk.subarray(from, i), Buffer.from('.'));
        from = i;
      }
      this.atLineStart = byte === 0x0a;
      if (byte === 0x0a && this.inBody && this.bodyLinesLeft !== undefined) {
        this.bodyLinesLeft -= 1;
        if (this.bodyLinesLeft === 0) {
          out.push(chunk.subarray(from, i + 1));
          this.lastByte = byte;
          this.done = true;
          from = chunk.length;
          break;
        }
      }
      this.lastByte = byte;
    }
    if (from < chunk.length) out.push(chunk.subarray(from));
    this.offset += chunk.length;
    callback(null, Buffer.concat(out));
  }

  override _flush(callback: TransformCallback): void {
    // The terminator needs the last line ended (RFC 1939 §3).
    const ending = this.lastByte === 0x0a || this.lastByte === -1 ? '.\r\n' : '\r\n.\r\n';
    callback(null, Buffer.from(ending));
  }
}
