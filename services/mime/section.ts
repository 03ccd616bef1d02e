// BODY[section]<partial>: which octets of the message file answer a FETCH
// (RFC 3501 §6.4.5, RFC 9051 §6.4.5), worked out from the stored structure
// without reading the message.
//
// Part numbers walk the tree the way RFC 3501 describes:
// - in a multipart, n is its n-th child;
// - in anything else only 1 exists, and it is that entity itself (so part 1
//   of a non-multipart message is its body, and 1.MIME its header);
// - a number after a message/rfc822 (or message/global) part steps into the
//   encapsulated message first: 2.1 is part 1 of the message in part 2.
// - A part that does not exist is an empty string, not an error (what
//   clients expect, and what Dovecot answers).
// The specifiers:
// - (none):  with no part, the whole message; with a part, its body.
// - MIME:    the part's own header (for a message/rfc822 part, its MIME
//            header, not the encapsulated message's).
// - HEADER, HEADER.FIELDS (...), HEADER.FIELDS.NOT (...), TEXT: the header or
//            body of the message itself, or of the message encapsulated in
//            the part; empty for a part that is no message/rfc822.
// HEADER.FIELDS(.NOT) cannot be a plain range: the caller reads the header
// range and passes it to `filter`, which keeps the wanted fields (with their
// continuation lines, in message order) and ends with the blank line.
//
// Every answer carries `nul`: the message has NUL octets, which IMAP literals
// cannot carry, so the sender replaces each with 0x80 (replaceNul) as
// Dovecot does; the octet count does not change.

import type { MessageStructure, MimePart } from './types.ts';

export type SectionText = 'HEADER' | 'HEADER.FIELDS' | 'HEADER.FIELDS.NOT' | 'TEXT' | 'MIME';

export interface SectionSpec {
  /** Part numbers (1-based), e.g. [1, 2] for BODY[1.2]; [] for the message itself. */
  part: number[];
  text?: SectionText;
  /** Field names for HEADER.FIELDS and HEADER.FIELDS.NOT. */
  fields?: string[];
}

/** Octets [start, end) of the message file. An empty range (start === end) is an empty string. */
export interface SectionRange {
  kind: 'range';
  start: number;
  end: number;
  nul: boolean;
}

/** A header range to read and pass through `filter` (HEADER.FIELDS / HEADER.FIELDS.NOT). */
export interface SectionHeaderFields {
  kind: 'header-fields';
  start: number;
  end: number;
  nul: boolean;
  filter(header: Uint8Array): Buffer;
}

export type SectionData = SectionRange | SectionHeaderFields;

/**
 * Parses a section spec as written between the brackets of BODY[...]
 * ("", "1.2", "HEADER.FIELDS (From Subject)", "2.MIME"); null when it is not
 * one. The protocol library normally does this; it is here for tools and tests.
 */
export function parseSectionSpec(text: string): SectionSpec | null {
  // Part numbers, then (after a dot) the specifier, then a field list.
  const numbers = /^([1-9]\d*(?:\.[1-9]\d*)*)(?:\.(?=[A-Za-z])|$)/.exec(text);
  const part = numbers ? numbers[1]!.split('.').map(Number) : [];
  const rest = numbers ? text.slice(numbers[0].length) : text;
  const match = /^(HEADER\.FIELDS\.NOT|HEADER\.FIELDS|HEADER|TEXT|MIME)?(?: \(([^()]*)\))?$/i.exec(rest);
  if (!match) return null;
  const specifier = match[1]?.toUpperCase() as SectionText | undefined;
  const isFields = specifier === 'HEADER.FIELDS' || specifier === 'HEADER.FIELDS.NOT';
  if (isFields !== (match[2] !== undefined)) return null;
  if (specifier === 'MIME' && part.length === 0) return null;
  const spec: SectionSpec = { part };
  if (specifier) spec.text = specifier;
  if (isFields) spec.fields = match[2]!.trim().split(/\s+/).filter(Boolean).map((field) => field.replace(/^"(.*)"$/, '$1'));
  return spec;
}

/** The entity a part path names, or undefined when there is none. */
export function findPart(structure: MessageStructure, path: readonly number[]): MimePart | undefined {
  let part: MimePart | undefined = structure.root;
  for (let i = 0; i < path.length && part; i++) {
    const n = path[i]!;
    if (part.parts) {
      part = part.parts[n - 1];
    } else if (n !== 1) {
      part = undefined;
    } else if (i + 1 < path.length && !part.message) {
      // Only a message has anything below its part 1.
      part = undefined;
    }
    // Going deeper into a message part means going into its message.
    if (part?.message && i + 1 < path.length) part = part.message;
  }
  return part;
}

/** What BODY[section] sends, before any <partial>. Throws on a spec IMAP forbids (MIME without a part). */
export function resolveSection(structure: MessageStructure, spec: SectionSpec): SectionData {
  const nul = structure.nul === true;
  const empty: SectionRange = { kind: 'range', start: 0, end: 0, nul };
  if (spec.text === 'MIME' && spec.part.length === 0) throw new RangeError('BODY[MIME] needs a part number (RFC 3501 §6.4.5)');
  let entity: MimePart | undefined;
  if (spec.part.length === 0) {
    entity = structure.root;
    if (spec.text === undefined) return { kind: 'range', start: 0, end: structure.size, nul };
  } else {
    const part = findPart(structure, spec.part);
    if (!part) return empty;
    switch (spec.text) {
      case undefined:
        return { kind: 'range', start: part.body, end: part.end, nul };
      case 'MIME':
        return { kind: 'range', start: part.header, end: part.body, nul };
      default:
        // HEADER and TEXT of a part are those of the message inside it.
        if (!part.message) return empty;
        entity = part.message;
    }
  }
  switch (spec.text) {
    case 'TEXT':
      return { kind: 'range', start: entity.body, end: entity.end, nul };
    case 'HEADER':
      return { kind: 'range', start: entity.header, end: entity.body, nul };
    case 'HEADER.FIELDS':
    case 'HEADER.FIELDS.NOT': {
      const names = new Set((spec.fields ?? []).map((name) => name.toLowerCase()));
      const exclude = spec.text === 'HEADER.FIELDS.NOT';
      return { kind: 'header-fields', start: entity.header, end: entity.body, nul, filter: (header) => filterHeaderFields(header, names, exclude) };
    }
    default:
      throw new RangeError(`unknown section text ${String(spec.text)}`);
  }
}

/**
 * The fields of a raw header whose names are (or, with `exclude`, are not)
 * in `names` (lower-case), each with its continuation lines, in message
 * order, then the blank line. A line that is not a field (no colon) has the
 * empty name. Reading stops at the header's blank line.
 */
export function filterHeaderFields(header: Uint8Array, names: ReadonlySet<string>, exclude: boolean): Buffer {
  const raw = Buffer.isBuffer(header) ? header : Buffer.from(header.buffer, header.byteOffset, header.byteLength);
  const out: Buffer[] = [];
  let keep = false;
  let pos = 0;
  while (pos < raw.length) {
    const lf = raw.indexOf(0x0a, pos);
    const stop = lf < 0 ? raw.length : lf + 1;
    const contentEnd = lf < 0 ? raw.length : lf > pos && raw[lf - 1] === 0x0d ? lf - 1 : lf;
    if (contentEnd === pos) break; // the blank line
    const first = raw[pos];
    if (first !== 0x20 && first !== 0x09) {
      const colon = raw.indexOf(0x3a, pos);
      const name = colon < 0 || colon >= contentEnd ? '' : raw.toString('latin1', pos, colon).replace(/[ \t]+$/, '').toLowerCase();
      keep = names.has(name) !== exclude;
    }
    if (keep) {
      out.push(raw.subarray(pos, stop));
      if (lf < 0) out.push(crlf);
    }
    pos = stop;
  }
  out.push(crlf);
  return Buffer.concat(out);
}

const crlf = Buffer.from('\r\n');

/**
 * The <origin.count> part of a section `length` octets long (RFC 3501
 * §6.4.5): [from, to) relative to the section start. An origin past the end
 * gives an empty string.
 */
export function partialRange(length: number, origin: number, count?: number): { from: number; to: number } {
  const from = Math.min(origin, length);
  const to = count === undefined ? length : Math.min(length, from + count);
  return { from, to };
}

/** NUL octets as 0x80, for sending a section of a message that has them (see MessageStructure.nul). */
export function replaceNul(chunk: Uint8Array): Uint8Array {
  if (!chunk.includes(0)) return chunk;
  const copy = Uint8Array.from(chunk);
  for (let i = 0; i < copy.length; i++) if (copy[i] === 0) copy[i] = 0x80;
  return copy;
}
