// DKIM canonicalisation, "relaxed" for both header and body (RFC 6376 §3.4.2
// and §3.4.4), and the body hash computed while the message streams past, so a
// 50 MB message is never held in memory.

import { createHash, type Hash } from 'node:crypto';

/** §3.4.2: lower-case name, unfolded value, runs of white space as one space, none at the ends. */
export function relaxedHeader(name: string, value: string): string {
  const unfolded = value.replace(/\r\n/g, '').replace(/[ \t]+/g, ' ').trim();
  return `${name.toLowerCase().trim()}:${unfolded}`;
}

/**
 * §3.4.4: white space runs in a line become one space, white space at line
 * ends goes, empty lines at the end of the body go, and a non-empty body ends
 * with CRLF. Lines are split on LF (a lone CR stays part of the line).
 */
export class RelaxedBodyHash {
  private readonly hash: Hash = createHash('sha256');
  private partial = '';
  private pendingEmptyLines = 0;

  update(chunk: Buffer): void {
    const text = this.partial + chunk.toString('latin1');
    const lines = text.split('\n');
    this.partial = lines.pop()!;
    for (const line of lines) this.line(line.endsWith('\r') ? line.slice(0, -1) : line);
  }

  private line(raw: string): void {
    const line = raw.replace(/[ \t]+/g, ' ').replace(/ $/, '');
    if (line === '') {
      this.pendingEmptyLines += 1;
      return;
    }
    if (this.pendingEmptyLines) this.hash.update('\r\n'.repeat(this.pendingEmptyLines), 'latin1');
    this.pendingEmptyLines = 0;
    this.hash.update(line + '\r\n', 'latin1');
  }

  /** The bh= value. */
  digest(): string {
    if (this.partial !== '') {
      this.line(this.partial.endsWith('\r') ? this.partial.slice(0, -1) : this.partial);
      this.partial = '';
    }
    return this.hash.digest('base64');
  }
}

export interface HeaderField {
  name: string;
  /** The value as written: everything after the colon, folding included, without the final CRLF. */
  value: string;
}

/** Splits a header block into fields (continuation lines joined, CRLF kept inside). */
export function parseHeaderFields(header: string): HeaderField[] {
  const fields: HeaderField[] = [];
  for (const line of header.split(/\r\n/)) {
    if (line === '') continue;
    if (/^[ \t]/.test(line) && fields.length) {
      fields[fields.length - 1]!.value += `\r\n${line}`;
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    fields.push({ name: line.slice(0, colon), value: line.slice(colon + 1) });
  }
  return fields;
}
