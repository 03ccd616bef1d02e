// Line ends as SMTP clients send them on: every bare CR and bare LF becomes
// CRLF (nodemailer's DataStream does exactly this to what the queue sends;
// RFC 5321 §2.3.8 allows no other line end in a message).
//
// Submission stores mail in this form, so that the sender check reads the
// header fields that will be sent, and the DKIM signature is computed over the
// octets that will be sent (issue 12: a bare CR hid a second From: from the
// check, and the client's normalisation broke the signature). Streaming: a CR
// at the end of one chunk waits to see whether the next begins with LF.

const CR = 0x0d;
const LF = 0x0a;
const CRLF = Buffer.from('\r\n');

export class LineEndNormalizer {
  private pendingCr = false;

  /** The normalised octets of `chunk` (a CR at its end is held back until the next chunk or `end()`). */
  write(chunk: Buffer): Buffer {
    const out: Buffer[] = [];
    let start = 0;
    let i = 0;
    if (this.pendingCr) {
      this.pendingCr = false;
      out.push(CRLF);
      if (chunk[0] === LF) start = i = 1;
    }
    for (; i < chunk.length; i += 1) {
      const byte = chunk[i];
      if (byte === CR) {
        if (i + 1 === chunk.length) {
          out.push(chunk.subarray(start, i));
          this.pendingCr = true;
          start = chunk.length;
          break;
        }
        if (chunk[i + 1] === LF) {
          i += 1;
          continue;
        }
        out.push(chunk.subarray(start, i), CRLF);
        start = i + 1;
      } else if (byte === LF) {
        out.push(chunk.subarray(start, i), CRLF);
        start = i + 1;
      }
    }
    if (start === 0 && out.length === 0) return chunk;
    if (start < chunk.length) out.push(chunk.subarray(start));
    return Buffer.concat(out);
  }

  /** What is still held back at the end of the message. */
  end(): Buffer {
    if (!this.pendingCr) return Buffer.alloc(0);
    this.pendingCr = false;
    return CRLF;
  }
}

/** The whole of `bytes`, normalised. */
export function normalizeLineEnds(bytes: Buffer): Buffer {
  const normalizer = new LineEndNormalizer();
  const head = normalizer.write(bytes);
  const tail = normalizer.end();
  return tail.length ? Buffer.concat([head, tail]) : head;
}
