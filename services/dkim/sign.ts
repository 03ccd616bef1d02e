// DKIM signing (RFC 6376 §5): relaxed/relaxed, SHA-256, with the domain's RSA
// key (rsa-sha256) and, as a second signature, its Ed25519 key
// (ed25519-sha256, RFC 8463). The message is read once as a stream: the
// header is kept (up to 1 MiB), the body only hashed.
//
// Invariants:
// - `From` is always signed, and signed once more than it occurs, so a From
//   added later breaks the signature (§8.15 "oversigning").
// - b= is the last tag: verifiers delete its value with any folding in it
//   (§3.5), so the value can be folded after signing without harm.

import { createHash, sign } from 'node:crypto';
import { parseHeaderFields, relaxedHeader, RelaxedBodyHash, type HeaderField } from './canonical.ts';
import type { DkimKey, DomainKeys } from './keys.ts';

/** Signed when present, in this order (§5.4.1 recommends the fields that matter to the reader). */
const signedFields = ['from', 'sender', 'reply-to', 'subject', 'date', 'message-id', 'to', 'cc', 'in-reply-to', 'references', 'mime-version', 'content-type', 'content-transfer-encoding', 'list-id', 'list-unsubscribe'];
const maxHeaderBytes = 1024 * 1024;

export interface SignOptions {
  /** Signature time (t=); now by default. */
  now?: Date;
}

/** Reads the whole message; returns the DKIM-Signature header fields to put before it, CRLF-terminated. */
export async function signMessage(source: AsyncIterable<Buffer | Uint8Array>, keys: DomainKeys, options: SignOptions = {}): Promise<string> {
  let header = '';
  let inHeader = true;
  const body = new RelaxedBodyHash();
  for await (const piece of source) {
    const chunk = Buffer.isBuffer(piece) ? piece : Buffer.from(piece);
    if (!inHeader) {
      body.update(chunk);
      continue;
    }
    header += chunk.toString('latin1');
    const end = header.indexOf('\r\n\r\n');
    if (end >= 0) {
      body.update(Buffer.from(header.slice(end + 4), 'latin1'));
      header = header.slice(0, end + 2);
      inHeader = false;
    } else if (header.length > maxHeaderBytes) {
      throw new Error('the header is too large to sign');
    }
  }
  if (inHeader) header = header.endsWith('\r\n') ? header : `${header}\r\n`;
  const fields = parseHeaderFields(header);
  const bodyHash = body.digest();
  const time = Math.floor((options.now ?? new Date()).getTime() / 1000);
  return [keys.rsa, keys.ed25519].map((key) => signatureField(key, keys.domain, fields, bodyHash, time)).join('');
}

function signatureField(key: DkimKey, domain: string, fields: HeaderField[], bodyHash: string, time: number): string {
  const present = signedFields.filter((name) => fields.some((f) => f.name.toLowerCase() === name));
  // Each From once more than it occurs (once when there is none), so none can be added unnoticed.
  const fromCount = fields.filter((f) => f.name.toLowerCase() === 'from').length;
  const names = [...present, ...Array<string>(Math.max(fromCount, 1)).fill('from')];
  const tags = `v=1; a=${key.algorithm}; c=relaxed/relaxed; d=${domain}; s=${key.selector};\r\n\tt=${time}; h=${names.join(':')};\r\n\tbh=${bodyHash};\r\n\tb=`;
  const data = canonicalHeaders(fields, names) + relaxedHeader('DKIM-Signature', ` ${tags}`);
  const signature =
    key.algorithm === 'rsa-sha256'
      ? sign('sha256', Buffer.from(data, 'latin1'), key.privateKey)
      : // RFC 8463 §3: Ed25519 signs the SHA-256 hash of the data.
        sign(null, createHash('sha256').update(data, 'latin1').digest(), key.privateKey);
  const b = signature.toString('base64').replace(/(.{72})(?=.)/g, '$1\r\n\t ');
  return `DKIM-Signature: ${tags}${b}\r\n`;
}

/** §5.4.2: for each listed name, the last instance not yet used, bottom up; a name with none left adds nothing. */
function canonicalHeaders(fields: HeaderField[], names: string[]): string {
  const used = new Set<number>();
  let out = '';
  for (const name of names) {
    for (let i = fields.length - 1; i >= 0; i--) {
      if (used.has(i) || fields[i]!.name.toLowerCase() !== name) continue;
      used.add(i);
      out += relaxedHeader(fields[i]!.name, fields[i]!.value) + '\r\n';
      break;
    }
  }
  return out;
}
