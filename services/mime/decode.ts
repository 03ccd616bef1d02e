// Decoding header text for people and for SEARCH/SORT: charsets, RFC 2047
// encoded-words, RFC 2231 parameter values.
//
// Nothing here throws on bad input, because mail is full of it:
// - an unknown or missing charset decodes as UTF-8 when the octets are valid
//   UTF-8, else as windows-1252 (so is "us-ascii" with 8-bit octets, which in
//   practice is mislabelled UTF-8 or Latin-1);
// - a malformed encoded-word (no "?=", bad encoding letter) stays as written;
// - invalid base64 or quoted-printable inside an encoded-word decodes as far
//   as it goes.
// Node is built with full ICU, so TextDecoder knows every WHATWG encoding
// label (iso-8859-*, windows-*, koi8-r, gb18030, big5, euc-kr, shift_jis,
// iso-2022-jp, utf-16, ...).

import { bytesToText, decodeWindows1252 } from './text.ts';
import type { Param } from './types.ts';

/** Charset labels meaning "7-bit ASCII": decoded by the UTF-8/windows-1252 rule instead. */
const asciiLabels = new Set(['us-ascii', 'ascii', 'ansi_x3.4-1968', 'iso-ir-6', 'iso646-us', 'us', 'ibm367', 'cp367', 'csascii', '646']);

/** The WHATWG label for a MIME charset name, or undefined when TextDecoder does not know it (or it is ASCII). */
export function charsetLabel(charset: string | undefined): string | undefined {
  if (charset === undefined) return undefined;
  // RFC 2231 §5 allows a language after "*" in an encoded-word's charset.
  const label = charset.trim().replace(/^"(.*)"$/, '$1').replace(/\*.*$/, '').toLowerCase();
  if (label === '' || asciiLabels.has(label)) return undefined;
  try {
    return new TextDecoder(label).encoding;
  } catch {
    return undefined;
  }
}

const decoders = new Map<string, TextDecoder>();

/** Octets in a charset, as text. Unknown charsets fall back as the module comment says. */
export function decodeCharset(bytes: Uint8Array, charset: string | undefined): string {
  const label = charsetLabel(charset);
  if (label === undefined) return bytesToText(bytes);
  if (label === 'windows-1252') return decodeWindows1252(bytes);
  // Without { stream: true } a TextDecoder keeps no state between calls, so one per label is enough.
  let decoder = decoders.get(label);
  if (!decoder) decoders.set(label, (decoder = new TextDecoder(label)));
  return decoder.decode(bytes);
}

const encodedWord = /=\?([^?\s]+)\?([bBqQ])\?([^?]*)\?=/g;

/** RFC 2047 §4.2 "Q" encoding: "_" is space, "=XX" an octet; a stray "=" stays. */
function decodeQ(text: string): Buffer {
  const out: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x5f) {
      out.push(0x20);
    } else if (c === 0x3d && /^[0-9a-fA-F]{2}$/.test(text.slice(i + 1, i + 3))) {
      out.push(parseInt(text.slice(i + 1, i + 3), 16));
      i += 2;
    } else {
      out.push(c & 0xff);
    }
  }
  return Buffer.from(out);
}

/**
 * A header value as text for people, SEARCH and SORT: RFC 2047 encoded-words
 * decoded (white space between adjacent ones dropped, RFC 2047 §6.2; words
 * glued to other text are decoded too, as every mail client does), folding
 * removed. Octets (a raw header) are first read as UTF-8 (RFC 6532) or else
 * windows-1252.
 */
export function decodeHeaderValue(value: string | Uint8Array): string {
  let text = typeof value === 'string' ? value : bytesToText(value);
  text = text.replace(/\r?\n(?=[ \t])/g, '').replace(/\r?\n$/, '');
  if (!text.includes('=?')) return text;
  let out = '';
  let last = 0;
  // Consecutive encoded-words in the same charset are joined before
  // decoding: a multi-octet character may be split between them.
  let pending: { charset: string; bytes: Buffer[] } | undefined;
  const flush = () => {
    if (pending) out += decodeCharset(Buffer.concat(pending.bytes), pending.charset);
    pending = undefined;
  };
  for (const match of text.matchAll(encodedWord)) {
    const between = text.slice(last, match.index);
    const adjacent = pending !== undefined && /^[ \t\r\n]*$/.test(between);
    if (!adjacent) {
      flush();
      out += between;
    }
    const [, charset, encoding, payload] = match as unknown as [string, string, string, string];
    const bytes = encoding.toLowerCase() === 'b' ? Buffer.from(payload.replace(/[^A-Za-z0-9+/]/g, ''), 'base64') : decodeQ(payload);
    if (pending && pending.charset.toLowerCase() !== charset.toLowerCase()) flush();
    if (pending) pending.bytes.push(bytes);
    else pending = { charset, bytes: [bytes] };
    last = match.index + match[0].length;
  }
  flush();
  return out + text.slice(last);
}

/** An RFC 2231 extended value, charset'language'percent-encoded, as text. */
export function decodeRfc2231Value(value: string): string {
  const match = /^([^']*)'[^']*'(.*)$/s.exec(value);
  const charset = match ? match[1] : undefined;
  const encoded = match ? match[2]! : value;
  const bytes: number[] = [];
  for (let i = 0; i < encoded.length; i++) {
    const c = encoded.charCodeAt(i);
    if (c === 0x25 && /^[0-9a-fA-F]{2}$/.test(encoded.slice(i + 1, i + 3))) {
      bytes.push(parseInt(encoded.slice(i + 1, i + 3), 16));
      i += 2;
    } else if (c < 0x80) {
      bytes.push(c);
    } else {
      bytes.push(...Buffer.from(encoded[i]!, 'utf8'));
    }
  }
  return decodeCharset(Uint8Array.from(bytes), charset || undefined);
}

/**
 * Parameters as text, by lower-case name: RFC 2231 extended values decoded
 * (the "name*" form, see types.ts Param), and RFC 2047 encoded-words in plain
 * values decoded too (not standard, but what many senders put in filenames).
 * An extended value wins over a plain one of the same name (RFC 2231 §4).
 */
export function decodeParams(params: readonly Param[] | undefined): Record<string, string> {
  const decoded: Record<string, string> = {};
  const extended = new Set<string>();
  for (const [name, value] of params ?? []) {
    const lower = name.toLowerCase();
    if (lower.endsWith('*')) {
      const bare = lower.slice(0, -1);
      decoded[bare] = decodeRfc2231Value(value);
      extended.add(bare);
    } else if (!extended.has(lower) && !(lower in decoded)) {
      decoded[lower] = decodeHeaderValue(value);
    }
  }
  return decoded;
}
