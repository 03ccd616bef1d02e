// Decoded text of a message's text parts, streamed from the message file, for
// SEARCH BODY / TEXT (RFC 3501 §6.4.4, RFC 9051 §6.4.4) with search strings
// in any charset (the server converts them to UTF-8 first).
//
// Feed the message file's octets in order, from offset 0, in chunks of any
// size; the extractor picks out the bodies of text/* parts (top level,
// inside multiparts, inside encapsulated messages) using the stored
// structure, undoes their Content-Transfer-Encoding (base64,
// quoted-printable; anything else is taken as is) and converts their charset
// to UTF-8 with TextDecoder. Optionally it also yields every header (top
// level, part headers, encapsulated messages' headers), unfolded and with
// RFC 2047 encoded-words decoded, for SEARCH TEXT.
//
// Invariants:
// - Memory is bounded: a decoder holds at most a few octets between chunks
//   (a split base64 quantum, "=X" of quoted-printable, an incomplete UTF-8
//   sequence), and a header is kept only up to 256 KiB.
// - Pieces of one part come in order and, joined, are that part's whole
//   text; a search must carry the end of one piece into the next to find a
//   string that straddles them (TextMatcher does).
// - Line breaks stay as in the message (CRLF). Bad input never throws: unknown
//   charsets fall back (decode.ts), bad base64 octets are skipped.

import { charsetLabel, decodeHeaderValue } from './decode.ts';
import { headerBudget } from './scanner.ts';
import { decodeWindows1252 } from './text.ts';
import type { MessageStructure, MimePart } from './types.ts';

export interface TextPiece {
  /** The section that fetches this text: "1", "2.1" for bodies; "HEADER", "2.MIME", "2.HEADER" for headers. */
  section: string;
  kind: 'body' | 'header';
  /** Lower-case subtype of a body part ("plain", "html", ...). */
  subtype?: string;
  text: string;
}

export interface BodyTextOptions {
  /** Also yield headers, decoded. */
  headers?: boolean;
}

interface Region {
  start: number;
  end: number;
  section: string;
  kind: 'body' | 'header';
  subtype?: string;
  encoding?: string;
  charset?: string;
}

/**
 * The text parts (and headers) of a structure, in file order, each named by
 * the section that fetches it: "HEADER", "2.MIME", "2.HEADER", "1", "2.1", ...
 */
function regionsOf(structure: MessageStructure, withHeaders: boolean): Region[] {
  const regions: Region[] = [];
  const join = (section: string, next: string) => (section === '' ? next : `${section}.${next}`);
  // `section` is the part's number ("" for the message itself); a message
  // root's header is its HEADER, a body part's its MIME header.
  const visit = (part: MimePart, section: string, isMessageRoot: boolean) => {
    if (withHeaders && part.body > part.header) regions.push({ start: part.header, end: part.body, section: join(section, isMessageRoot ? 'HEADER' : 'MIME'), kind: 'header' });
    if (part.parts) {
      part.parts.forEach((child, i) => visit(child, join(section, String(i + 1)), false));
    } else if (part.message) {
      visit(part.message, section, true);
    } else if (!part.truncated && (part.type === undefined || part.type.toLowerCase() === 'text')) {
      const charset = part.params?.find(([name]) => name.toLowerCase() === 'charset')?.[1];
      const region: Region = { start: part.body, end: part.end, section: isMessageRoot ? join(section, '1') : section, kind: 'body', subtype: (part.subtype || 'plain').toLowerCase(), charset };
      if (part.encoding !== undefined) region.encoding = part.encoding.toLowerCase();
      regions.push(region);
    }
  };
  visit(structure.root, '', true);
  return regions;
}

interface OctetDecoder {
  write(octets: Uint8Array): Uint8Array;
  end(): Uint8Array;
}

const passThrough: OctetDecoder = { write: (octets) => octets, end: () => new Uint8Array(0) };

/** Base64 (RFC 2045 §6.8), ignoring anything outside the alphabet and stopping at padding. */
class Base64Decoder implements OctetDecoder {
  private carry = '';
  private done = false;

  write(octets: Uint8Array): Uint8Array {
    if (this.done) return new Uint8Array(0);
    let text = this.carry + Buffer.from(octets.buffer, octets.byteOffset, octets.byteLength).toString('latin1').replace(/[^A-Za-z0-9+/=]/g, '');
    const pad = text.indexOf('=');
    if (pad >= 0) {
      text = text.slice(0, pad);
      this.done = true;
      this.carry = '';
      return Buffer.from(text, 'base64');
    }
    const whole = text.length - (text.length % 4);
    this.carry = text.slice(whole);
    return Buffer.from(text.slice(0, whole), 'base64');
  }

  end(): Uint8Array {
    const rest = this.carry;
    this.carry = '';
    return Buffer.from(rest, 'base64');
  }
}

/**
 * Quoted-printable (RFC 2045 §6.7): "=XX" is an octet, "=" at the end of a
 * line joins it to the next, white space before a line break is dropped. A
 * "=" not followed by two hex digits stays as it is.
 */
class QuotedPrintableDecoder implements OctetDecoder {
  /** Octets held back: an "=" with up to one more, or white space that may turn out to end a line. */
  private held: number[] = [];

  write(octets: Uint8Array): Uint8Array {
    const out: number[] = [];
    for (const c of octets) this.step(c, out);
    return Uint8Array.from(out);
  }

  private step(c: number, out: number[]): void {
    const held = this.held;
    if (held[0] === 0x3d) {
      held.push(c);
      if (held.length === 2) {
        if (c === 0x0a) held.length = 0; // "=" LF: soft line break
        else if (c !== 0x0d && !isHex(c)) this.release(out);
        // "=" CR or "=" hex: wait for one more
        return;
      }
      const [, first] = held as [number, number, number];
      if (first === 0x0d && c === 0x0a) {
        held.length = 0; // "=" CRLF: soft line break
      } else if (isHex(first) && isHex(c)) {
        out.push(parseInt(String.fromCharCode(first, c), 16));
        held.length = 0;
      } else {
        held.pop();
        this.release(out);
        this.step(c, out);
      }
      return;
    }
    if (c === 0x20 || c === 0x09) {
      held.push(c);
      // A huge run of white space is text, not trailing padding.
      if (held.length > 1000) this.release(out);
      return;
    }
    if (c === 0x0d || c === 0x0a) {
      held.length = 0; // trailing white space is dropped
      out.push(c);
      return;
    }
    this.release(out);
    if (c === 0x3d) held.push(c);
    else out.push(c);
  }

  private release(out: number[]): void {
    for (const c of this.held) out.push(c);
    this.held.length = 0;
  }

  end(): Uint8Array {
    const out: number[] = [];
    // A final "=" (soft break at the very end) means nothing; other held octets are text.
    if (this.held[0] !== 0x3d || this.held.length > 1) this.release(out);
    this.held.length = 0;
    return Uint8Array.from(out);
  }
}

function isHex(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66);
}

interface TextDecoding {
  write(octets: Uint8Array): string;
  end(): string;
}

/** A known charset, through TextDecoder in stream mode. */
function charsetDecoding(label: string): TextDecoding {
  // A single-octet charset needs no state (and Node 20's windows-1252 is wrong, see text.ts).
  if (label === 'windows-1252') return { write: decodeWindows1252, end: () => '' };
  const decoder = new TextDecoder(label);
  return { write: (octets) => decoder.decode(octets, { stream: true }), end: () => decoder.decode() };
}

/**
 * No usable charset: UTF-8 as long as the octets are valid UTF-8, then
 * windows-1252 from the first invalid octet on (a whole part cannot be
 * looked at first without holding it). An incomplete UTF-8 sequence at the
 * end of a chunk is held for the next one.
 */
class Utf8OrWindows1252 implements TextDecoding {
  private utf8 = true;
  private held = new Uint8Array(0);
  private readonly strict = new TextDecoder('utf-8', { fatal: true });

  write(octets: Uint8Array): string {
    let data = octets;
    if (this.held.length > 0) {
      data = new Uint8Array(this.held.length + octets.length);
      data.set(this.held);
      data.set(octets, this.held.length);
      this.held = new Uint8Array(0);
    }
    if (!this.utf8) return decodeWindows1252(data);
    const complete = data.length - incompleteUtf8Tail(data);
    try {
      const text = this.strict.decode(data.subarray(0, complete));
      this.held = data.slice(complete);
      return text;
    } catch {
      this.utf8 = false;
      const valid = validUtf8Prefix(data);
      return this.strict.decode(data.subarray(0, valid)) + decodeWindows1252(data.subarray(valid));
    }
  }

  end(): string {
    const rest = this.held;
    this.held = new Uint8Array(0);
    if (rest.length === 0) return '';
    return decodeWindows1252(rest);
  }
}

/** Length of the longest prefix of `data` that is valid UTF-8 and ends on a character boundary. */
function validUtf8Prefix(data: Uint8Array): number {
  let i = 0;
  while (i < data.length) {
    const c = data[i]!;
    let need: number;
    let min: number;
    if (c < 0x80) {
      i++;
      continue;
    } else if (c >= 0xc2 && c <= 0xdf) {
      need = 1;
      min = 0x80;
    } else if (c >= 0xe0 && c <= 0xef) {
      need = 2;
      min = 0x800;
    } else if (c >= 0xf0 && c <= 0xf4) {
      need = 3;
      min = 0x10000;
    } else {
      return i;
    }
    if (i + need >= data.length) return i;
    let code = c & (0x3f >> need);
    for (let k = 1; k <= need; k++) {
      const next = data[i + k]!;
      if ((next & 0xc0) !== 0x80) return i;
      code = (code << 6) | (next & 0x3f);
    }
    if (code < min || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) return i;
    i += need + 1;
  }
  return i;
}

/** How many octets at the end of `data` start a UTF-8 sequence that is not complete yet (0..3). */
function incompleteUtf8Tail(data: Uint8Array): number {
  for (let back = 1; back <= Math.min(3, data.length); back++) {
    const c = data[data.length - back]!;
    if ((c & 0xc0) === 0x80) continue; // continuation octet: look further back
    const need = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
    return need > back ? back : 0;
  }
  return 0;
}

class RegionReader {
  private readonly octets: OctetDecoder;
  private readonly text: TextDecoding | undefined;
  private header: Buffer[] = [];
  private headerLength = 0;

  constructor(readonly region: Region) {
    if (region.kind === 'body') {
      this.octets = region.encoding === 'base64' ? new Base64Decoder() : region.encoding === 'quoted-printable' ? new QuotedPrintableDecoder() : passThrough;
      const label = charsetLabel(region.charset);
      this.text = label ? charsetDecoding(label) : new Utf8OrWindows1252();
    } else {
      this.octets = passThrough;
    }
  }

  write(octets: Uint8Array): string {
    if (this.region.kind === 'header') {
      const room = headerBudget - this.headerLength;
      if (room > 0) {
        const kept = octets.subarray(0, room);
        this.header.push(Buffer.from(kept));
        this.headerLength += kept.length;
      }
      return '';
    }
    return this.text!.write(this.octets.write(octets));
  }

  end(): string {
    if (this.region.kind === 'header') return decodeHeaderValue(Buffer.concat(this.header)).replace(/(\r\n)+$/, '');
    return this.text!.write(this.octets.end()) + this.text!.end();
  }
}

/** Push-style extractor: write the message's octets in order, collect the pieces each call returns. */
export class BodyTextExtractor {
  private readonly regions: Region[];
  private next = 0;
  private offset = 0;
  private reader: RegionReader | undefined;

  constructor(structure: MessageStructure, options: BodyTextOptions = {}) {
    this.regions = regionsOf(structure, options.headers === true);
  }

  write(chunk: Uint8Array): TextPiece[] {
    const pieces: TextPiece[] = [];
    let pos = 0;
    while (pos < chunk.length) {
      const at = this.offset + pos;
      if (!this.reader) {
        const region = this.regions[this.next];
        if (!region) break;
        if (region.start > at) {
          pos = Math.min(chunk.length, pos + (region.start - at));
          continue;
        }
        this.reader = new RegionReader(region);
      }
      const region = this.reader.region;
      const stop = Math.min(chunk.length, pos + Math.max(0, region.end - at));
      const text = this.reader.write(chunk.subarray(pos, stop));
      if (text !== '') pieces.push(piece(region, text));
      pos = stop;
      if (this.offset + pos >= region.end) this.closeRegion(pieces);
    }
    this.offset += chunk.length;
    return pieces;
  }

  /** The input has ended (or was cut short): what the open decoders still hold. */
  end(): TextPiece[] {
    const pieces: TextPiece[] = [];
    if (this.reader) this.closeRegion(pieces);
    return pieces;
  }

  private closeRegion(pieces: TextPiece[]): void {
    const reader = this.reader!;
    this.reader = undefined;
    this.next++;
    const text = reader.end();
    if (text !== '') pieces.push(piece(reader.region, text));
  }
}

function piece(region: Region, text: string): TextPiece {
  const value: TextPiece = { section: region.section, kind: region.kind, text };
  if (region.subtype) value.subtype = region.subtype;
  return value;
}

/** Pull-style: the pieces of a message read from any (async) iterable of chunks, such as a file stream. */
export async function* extractText(structure: MessageStructure, source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, options: BodyTextOptions = {}): AsyncGenerator<TextPiece> {
  const extractor = new BodyTextExtractor(structure, options);
  for await (const chunk of source) yield* extractor.write(chunk);
  yield* extractor.end();
}

/**
 * Case-insensitive substring search over pieces as they stream by (the
 * i;unicode-casemap idea of RFC 5051, approximated: NFKC, then lower case),
 * keeping just enough of the previous piece of the same part to find a match
 * that straddles two pieces.
 */
export class TextMatcher {
  private readonly needle: string;
  private tail = '';
  private section: string | undefined;
  found = false;

  constructor(needle: string) {
    this.needle = foldForSearch(needle);
  }

  feed(piece: TextPiece): boolean {
    if (this.found || this.needle === '') return (this.found = true);
    const key = `${piece.kind}:${piece.section}`;
    if (key !== this.section) {
      this.tail = '';
      this.section = key;
    }
    const text = this.tail + foldForSearch(piece.text);
    if (text.includes(this.needle)) return (this.found = true);
    this.tail = text.slice(Math.max(0, text.length - this.needle.length + 1));
    return false;
  }
}

/** Folding for case-insensitive comparison. */
export function foldForSearch(text: string): string {
  return text.normalize('NFKC').toLowerCase();
}
