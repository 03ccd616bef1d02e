// Building responses: text, strings (quoted or literal), nested values and
// streamed literal bodies, collected as parts for the ordered writer.
//
// The choice between a quoted string and a literal (RFC 3501 §4.3, §9 `quoted`):
// a quoted string may hold only 7-bit characters other than CR, LF and NUL, so
// any string with an 8-bit octet, CR, LF or NUL is sent as a literal `{n}`
// followed by its exact octets. Very long strings go as literals too, to keep
// response lines short for clients with line limits.
//
// A response is built whole (all its parts, streams included) before it is
// handed to the writer, so that nothing (a "+" continuation, an untagged
// update) can land in the middle of it.

import type { Readable } from 'node:stream';

/** The octets of a literal whose length is known before it is read: `{length}` then the stream. */
export interface LiteralBody {
  kind: 'body';
  length: number;
  source: Readable | AsyncIterable<Uint8Array>;
}

export type OutPart = Buffer | LiteralBody;

/**
 * Destroys the streams of literal bodies that will not be written (the
 * connection closed, or the response was abandoned half-built), so that the
 * files or other resources behind them are released at once, not by the
 * garbage collector.
 */
export function discardBodies(parts: readonly OutPart[]): void {
  for (const part of parts) if (!Buffer.isBuffer(part)) releaseSource(part.source);
}

/** Destroys a stream that will not be read (a Buffer or a plain iterable holds nothing to release). */
export function releaseSource(source: unknown): void {
  const stream = source as { destroy?: (error?: Error) => void; destroyed?: boolean } | null;
  if (stream && typeof stream.destroy === 'function' && !stream.destroyed) stream.destroy();
}

/** Values the backend gives for ENVELOPE and BODYSTRUCTURE: strings, numbers, NIL, and lists of these. */
export type ImapValue = string | number | null | Buffer | readonly ImapValue[];

const maxQuotedLength = 1024;
const printableAscii = /^[\x20-\x7e]*$/;
const quotedSpecials = /[\\"]/;

export function needsLiteral(bytes: Buffer): boolean {
  if (bytes.length > maxQuotedLength) return true;
  for (let i = 0; i < bytes.length; i++) {
    const byte = bytes[i]!;
    if (byte < 0x20 || byte > 0x7e) return true;
  }
  return false;
}

function quote(bytes: Buffer): string {
  return '"' + bytes.toString('latin1').replace(/[\\"]/g, (c) => '\\' + c) + '"';
}

export class ResponseBuilder {
  readonly parts: OutPart[] = [];
  private text = '';

  /** ASCII text, written as is. */
  raw(text: string): this {
    this.text += text;
    return this;
  }

  bytes(bytes: Buffer): this {
    this.flushText();
    this.parts.push(bytes);
    return this;
  }

  /** A string, quoted when it can be, else a literal. */
  string(value: string | Buffer): this {
    // Most ENVELOPE and BODYSTRUCTURE strings are short printable ASCII: quoted
    // straight from the string, without a Buffer per value (a profile of
    // imaptest showed that allocation among the library's top costs).
    if (typeof value === 'string' && value.length <= maxQuotedLength && printableAscii.test(value)) {
      return this.raw('"' + (quotedSpecials.test(value) ? value.replace(/[\\"]/g, (c) => '\\' + c) : value) + '"');
    }
    const bytes = typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
    if (!needsLiteral(bytes)) return this.raw(quote(bytes));
    this.raw(`{${bytes.length}}\r\n`);
    return this.bytes(bytes);
  }

  nstring(value: string | Buffer | null | undefined): this {
    return value === null || value === undefined ? this.raw('NIL') : this.string(value);
  }

  number(value: number): this {
    return this.raw(String(value));
  }

  /** A literal whose octets come from a stream; `length` must be exact. */
  literal(length: number, source: Readable | AsyncIterable<Uint8Array> | Buffer): this {
    if (Buffer.isBuffer(source)) {
      if (length === source.length && !needsLiteral(source) && source.length > 0) return this.raw(quote(source));
      this.raw(`{${source.length}}\r\n`);
      return this.bytes(source);
    }
    this.raw(`{${length}}\r\n`);
    this.flushText();
    this.parts.push({ kind: 'body', length, source });
    return this;
  }

  /**
   * A nested value: lists in parentheses, null as NIL. Lists that open a list
   * are written without a space between them: RFC 3501 §9 writes a multipart's
   * parts as `1*body` and an address list as `1*address`, with no SP, and no
   * rule of the grammar starts a list with two lists that need one.
   */
  value(value: ImapValue): this {
    if (value === null) return this.raw('NIL');
    if (typeof value === 'number') return this.raw(String(Math.trunc(value)));
    if (typeof value === 'string' || Buffer.isBuffer(value)) return this.string(value);
    this.raw('(');
    let leading = true;
    value.forEach((item, i) => {
      const isList = Array.isArray(item);
      if (i > 0 && !(leading && isList)) this.raw(' ');
      if (!isList) leading = false;
      this.value(item);
    });
    return this.raw(')');
  }

  /** Ends the response with CRLF and returns its parts. */
  end(): OutPart[] {
    this.text += '\r\n';
    this.flushText();
    return this.parts;
  }

  private flushText(): void {
    if (this.text === '') return;
    this.parts.push(Buffer.from(this.text, 'latin1'));
    this.text = '';
  }
}

/** One-line text for a response (resp-text, RFC 3501 §9): no CR, LF or NUL, 7-bit, so that a message from anywhere cannot break the line. */
export function safeText(text: string): string {
  const clean = text.replace(/[\r\n\0]+/g, ' ').replace(/[^\x20-\x7e]/g, '?').trim();
  return clean === '' ? 'Done' : clean;
}
