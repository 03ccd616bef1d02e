// Just enough MIME to search text when the backend leaves SEARCH to the
// library: header fields unfolded with RFC 2047 encoded words decoded, and the
// text of a body with its transfer encoding (RFC 2045 §6) and charset undone,
// part by part through multiparts (RFC 2046 §5.1) and attached messages.
//
// Bounded on purpose: nesting stops at `maxDepth` and decoded text at
// `maxText`; a search must not become a way to make the server decode a
// gigabyte or recurse without end.

const maxDepth = 20;
const maxText = 8 * 1024 * 1024;

export interface HeaderField {
  /** Upper-case field name. */
  name: string;
  /** The unfolded value with encoded words decoded. */
  value: string;
}

function decoderFor(charset: string): TextDecoder {
  try {
    return new TextDecoder(charset.trim().toLowerCase() || 'utf-8');
  } catch {
    return new TextDecoder('latin1');
  }
}

function decodeCharset(bytes: Buffer, charset: string): string {
  return decoderFor(charset).decode(bytes);
}

/** RFC 2047 encoded words: =?charset?B|Q?text?=; whitespace between adjacent words is dropped. */
export function decodeEncodedWords(value: string): string {
  if (!value.includes('=?')) return value;
  return value
    .replace(/(=\?[^?\s]+\?[BbQq]\?[^?\s]*\?=)\s+(?==\?[^?\s]+\?[BbQq]\?[^?\s]*\?=)/g, '$1')
    .replace(/=\?([^?\s]+)\?([BbQq])\?([^?\s]*)\?=/g, (whole, charset: string, encoding: string, text: string) => {
      try {
        const bytes = encoding.toUpperCase() === 'B' ? Buffer.from(text, 'base64') : Buffer.from(text.replace(/_/g, ' ').replace(/=([0-9A-Fa-f]{2})/g, (_m, hex: string) => String.fromCharCode(parseInt(hex, 16))), 'latin1');
        return decodeCharset(bytes, charset.split('*')[0]!);
      } catch {
        return whole;
      }
    });
}

/** Header fields of a header block (the octets before the blank line). 8-bit octets are read as UTF-8. */
export function parseHeader(header: Buffer): HeaderField[] {
  const text = header.toString('utf8');
  const fields: HeaderField[] = [];
  let current: { name: string; value: string } | null = null;
  for (const line of text.split(/\r?\n/)) {
    if (/^[ \t]/.test(line) && current) {
      current.value += ' ' + line.trim();
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) {
      current = null;
      continue;
    }
    current = { name: line.slice(0, colon).trim().toUpperCase(), value: line.slice(colon + 1).trim() };
    fields.push(current);
  }
  for (const field of fields) field.value = decodeEncodedWords(field.value);
  return fields;
}

export function headerValue(fields: readonly HeaderField[], name: string): string | undefined {
  return fields.find((field) => field.name === name)?.value;
}

interface ContentType {
  type: string;
  subtype: string;
  params: Map<string, string>;
}

function parseContentType(value: string | undefined): ContentType {
  const result: ContentType = { type: 'text', subtype: 'plain', params: new Map() };
  if (!value) return result;
  const [mime, ...rest] = value.split(';');
  const match = /^\s*([^/\s]+)\s*\/\s*([^\s;]+)/.exec(mime ?? '');
  if (match) {
    result.type = match[1]!.toLowerCase();
    result.subtype = match[2]!.toLowerCase();
  }
  for (const param of rest) {
    const eq = param.indexOf('=');
    if (eq < 0) continue;
    const key = param.slice(0, eq).trim().toLowerCase();
    let val = param.slice(eq + 1).trim();
    if (val.startsWith('"')) val = val.slice(1, val.lastIndexOf('"') > 0 ? val.lastIndexOf('"') : undefined);
    result.params.set(key, val);
  }
  return result;
}

function decodeTransfer(body: Buffer, encoding: string): Buffer {
  const cte = encoding.trim().toLowerCase();
  if (cte === 'base64') return Buffer.from(body.toString('latin1').replace(/[^A-Za-z0-9+/]/g, ''), 'base64');
  if (cte === 'quoted-printable') {
    const text = body.toString('latin1').replace(/=\r?\n/g, '');
    return Buffer.from(text.replace(/=([0-9A-Fa-f]{2})/g, (_m, hex: string) => String.fromCharCode(parseInt(hex, 16))), 'latin1');
  }
  return body;
}

/** A message's header (with its final line break) and body, split at the first empty line. */
export function splitHeader(message: Buffer): { header: Buffer; body: Buffer } {
  const crlf = message.indexOf('\r\n\r\n');
  const lf = message.indexOf('\n\n');
  if (crlf >= 0 && (lf < 0 || crlf < lf)) return { header: message.subarray(0, crlf + 2), body: message.subarray(crlf + 4) };
  if (lf >= 0) return { header: message.subarray(0, lf + 1), body: message.subarray(lf + 2) };
  return { header: message, body: Buffer.alloc(0) };
}

/** The searchable text of a body, given the header fields it belongs to. */
export function bodyText(fields: readonly HeaderField[], body: Buffer): string {
  const out: string[] = [];
  let size = 0;
  const push = (text: string) => {
    if (size >= maxText) return;
    out.push(text.slice(0, maxText - size));
    size += text.length;
  };
  walk(fields, body, 0, push);
  return out.join('\n');
}

function walk(fields: readonly HeaderField[], body: Buffer, depth: number, push: (text: string) => void): void {
  if (depth > maxDepth) return;
  const type = parseContentType(headerValue(fields, 'CONTENT-TYPE'));
  const encoding = headerValue(fields, 'CONTENT-TRANSFER-ENCODING') ?? '7bit';
  if (type.type === 'multipart') {
    const boundary = type.params.get('boundary');
    if (!boundary) {
      push(body.toString('utf8'));
      return;
    }
    for (const part of splitMultipart(body, boundary)) {
      const { header, body: partBody } = splitHeader(part);
      walk(parseHeader(header), partBody, depth + 1, push);
    }
    return;
  }
  if (type.type === 'message' && (type.subtype === 'rfc822' || type.subtype === 'global')) {
    const { header, body: inner } = splitHeader(decodeTransfer(body, encoding));
    const innerFields = parseHeader(header);
    push(innerFields.map((field) => `${field.name}: ${field.value}`).join('\n'));
    walk(innerFields, inner, depth + 1, push);
    return;
  }
  if (type.type !== 'text') return;
  push(decodeCharset(decodeTransfer(body, encoding), type.params.get('charset') ?? 'utf-8'));
}

function splitMultipart(body: Buffer, boundary: string): Buffer[] {
  const text = body.toString('latin1');
  const delimiter = '--' + boundary;
  const parts: Buffer[] = [];
  let position = 0;
  let start = -1;
  while (position <= text.length) {
    const next = text.indexOf(delimiter, position);
    if (next < 0) break;
    const atLineStart = next === 0 || text[next - 1] === '\n';
    const lineEnd = text.indexOf('\n', next);
    position = lineEnd < 0 ? text.length + 1 : lineEnd + 1;
    if (!atLineStart) continue;
    if (start >= 0) {
      let end = next;
      if (text[end - 1] === '\n') end--;
      if (text[end - 1] === '\r') end--;
      parts.push(body.subarray(start, Math.max(start, end)));
    }
    if (text.startsWith(delimiter + '--', next)) return parts;
    start = position;
  }
  if (start >= 0 && start < text.length) parts.push(body.subarray(start));
  return parts;
}
