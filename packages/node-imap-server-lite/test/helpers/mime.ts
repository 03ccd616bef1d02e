// A small MIME structure parser for the in-memory test backend: offsets of
// each part's header and body, ENVELOPE and BODYSTRUCTURE values, and the
// octets of BODY[section]. It is a test fixture that lets the protocol layer
// be exercised end to end; the product's parser lives in services/mime.

import type { ImapValue, SectionRequest } from '../../src/backend.ts';
import { parseAddressList } from '../../src/search/addresses.ts';

interface Field {
  name: string;
  /** Unfolded value, trimmed. */
  value: string;
  /** Offsets of the whole field (continuation lines included, with its line end). */
  start: number;
  end: number;
}

export interface Part {
  /** Offsets into the message: header [headerStart, bodyStart), body [bodyStart, end). */
  headerStart: number;
  bodyStart: number;
  end: number;
  fields: Field[];
  type: string;
  subtype: string;
  params: [string, string][];
  children: Part[];
  /** message/rfc822: the attached message. */
  message?: Part;
}

const maxDepth = 30;

function findHeaderEnd(raw: Buffer, start: number, end: number): number {
  // The header ends at the first empty line; a part without one is all header.
  if (start < end && (raw[start] === 0x0a || (raw[start] === 0x0d && raw[start + 1] === 0x0a))) return start + (raw[start] === 0x0d ? 2 : 1);
  for (let i = start; i < end; i++) {
    if (raw[i] !== 0x0a) continue;
    if (raw[i + 1] === 0x0a && i + 1 < end) return i + 2;
    if (raw[i + 1] === 0x0d && raw[i + 2] === 0x0a && i + 2 < end) return i + 3;
  }
  return end;
}

function parseFields(raw: Buffer, start: number, end: number): Field[] {
  const fields: Field[] = [];
  let i = start;
  while (i < end) {
    let lineEnd = raw.indexOf(0x0a, i);
    if (lineEnd < 0 || lineEnd >= end) lineEnd = end - 1;
    const line = raw.toString('latin1', i, lineEnd + 1).replace(/\r?\n$/, '');
    if (line === '') break;
    if ((line.startsWith(' ') || line.startsWith('\t')) && fields.length > 0) {
      const last = fields[fields.length - 1]!;
      last.value += ' ' + line.trim();
      last.end = lineEnd + 1;
    } else {
      const colon = line.indexOf(':');
      if (colon > 0) fields.push({ name: line.slice(0, colon).trim().toLowerCase(), value: line.slice(colon + 1).trim(), start: i, end: lineEnd + 1 });
    }
    i = lineEnd + 1;
  }
  for (const field of fields) field.value = Buffer.from(field.value, 'latin1').toString('utf8');
  return fields;
}

function field(fields: readonly Field[], name: string): string | undefined {
  return fields.find((f) => f.name === name)?.value;
}

/** Content-Type parameters, with RFC 2231 continuations joined. */
function parseParams(text: string): [string, string][] {
  const params: [string, string][] = [];
  const re = /;\s*([^=\s;]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^;]*)/g;
  let match;
  while ((match = re.exec(text))) {
    let value = match[2]!.trim();
    if (value.startsWith('"')) value = value.slice(1, -1).replace(/\\(.)/g, '$1');
    params.push([match[1]!.toLowerCase(), value]);
  }
  const joined = new Map<string, string>();
  const out: [string, string][] = [];
  for (const [key, value] of params) {
    const cont = /^(.+)\*(\d+)\*?$/.exec(key);
    if (cont) {
      joined.set(cont[1]!, (joined.get(cont[1]!) ?? '') + value);
      continue;
    }
    out.push([key.replace(/\*$/, ''), value]);
  }
  for (const [key, value] of joined) out.push([key, value]);
  return out;
}

function parseContentType(value: string | undefined, fallback: [string, string]): { type: string; subtype: string; params: [string, string][] } {
  const match = value ? /^\s*([^/\s;]+)\s*\/\s*([^\s;]+)/.exec(value) : null;
  if (!match) return { type: fallback[0], subtype: fallback[1], params: fallback[0] === 'text' ? [['charset', 'us-ascii']] : [] };
  const params = parseParams(value!.slice(match[0].length));
  return { type: match[1]!.toLowerCase(), subtype: match[2]!.toLowerCase(), params };
}

export function parseMessage(raw: Buffer): Part {
  return parsePart(raw, 0, raw.length, ['text', 'plain'], 0);
}

function parsePart(raw: Buffer, start: number, end: number, fallback: [string, string], depth: number): Part {
  const bodyStart = findHeaderEnd(raw, start, end);
  const fields = parseFields(raw, start, bodyStart);
  const contentType = parseContentType(field(fields, 'content-type'), fallback);
  const part: Part = { headerStart: start, bodyStart, end, fields, ...contentType, children: [] };
  if (depth >= maxDepth) return part;
  if (part.type === 'multipart') {
    const boundary = part.params.find(([key]) => key === 'boundary')?.[1];
    if (boundary) {
      const childFallback: [string, string] = part.subtype === 'digest' ? ['message', 'rfc822'] : ['text', 'plain'];
      for (const [s, e] of splitMultipart(raw, bodyStart, end, boundary)) part.children.push(parsePart(raw, s, e, childFallback, depth + 1));
    }
    if (part.children.length === 0) {
      // A multipart without usable parts is read as text (what clients show).
      part.children.push({ headerStart: bodyStart, bodyStart, end, fields: [], type: 'text', subtype: 'plain', params: [['charset', 'us-ascii']], children: [] });
    }
  } else if (part.type === 'message' && (part.subtype === 'rfc822' || part.subtype === 'global')) {
    part.message = parsePart(raw, bodyStart, end, ['text', 'plain'], depth + 1);
  }
  return part;
}

function splitMultipart(raw: Buffer, start: number, end: number, boundary: string): [number, number][] {
  const delimiter = Buffer.from('--' + boundary, 'latin1');
  const ranges: [number, number][] = [];
  let partStart = -1;
  let i = start;
  while (i < end) {
    const found = raw.indexOf(delimiter, i);
    if (found < 0 || found >= end) break;
    const atLineStart = found === start || raw[found - 1] === 0x0a;
    let lineEnd = raw.indexOf(0x0a, found);
    if (lineEnd < 0 || lineEnd >= end) lineEnd = end - 1;
    const after = raw.toString('latin1', found + delimiter.length, lineEnd + 1).replace(/\r?\n$/, '');
    const closing = after.startsWith('--');
    if (!atLineStart || !/^(--)?[ \t]*$/.test(after)) {
      i = found + delimiter.length;
      continue;
    }
    if (partStart >= 0) {
      let partEnd = found;
      if (raw[partEnd - 1] === 0x0a) partEnd--;
      if (raw[partEnd - 1] === 0x0d) partEnd--;
      ranges.push([partStart, Math.max(partStart, partEnd)]);
    }
    if (closing) return ranges;
    partStart = lineEnd + 1;
    i = lineEnd + 1;
  }
  if (partStart >= 0 && partStart <= end) ranges.push([partStart, end]);
  return ranges;
}

function countLines(raw: Buffer, start: number, end: number): number {
  let lines = 0;
  for (let i = start; i < end; i++) if (raw[i] === 0x0a) lines++;
  if (end > start && raw[end - 1] !== 0x0a) lines++;
  return lines;
}

// ---- ENVELOPE ----

function nstr(value: string | undefined): string | null {
  return value === undefined || value === '' ? null : value;
}

export function envelope(part: Part): ImapValue {
  const f = part.fields;
  const from = parseAddressList(field(f, 'from'));
  return [
    nstr(field(f, 'date')),
    nstr(field(f, 'subject')),
    from,
    parseAddressList(field(f, 'sender')) ?? from,
    parseAddressList(field(f, 'reply-to')) ?? from,
    parseAddressList(field(f, 'to')),
    parseAddressList(field(f, 'cc')),
    parseAddressList(field(f, 'bcc')),
    nstr(field(f, 'in-reply-to')),
    nstr(field(f, 'message-id')),
  ];
}

// ---- BODYSTRUCTURE ----

function paramList(params: readonly [string, string][]): ImapValue {
  return params.length === 0 ? null : params.flatMap(([key, value]) => [key, value]);
}

function disposition(part: Part): ImapValue {
  const value = field(part.fields, 'content-disposition');
  if (!value) return null;
  const match = /^\s*([^;\s]+)/.exec(value);
  if (!match) return null;
  return [match[1]!.toLowerCase(), paramList(parseParams(value.slice(match[0].length)))];
}

function language(part: Part): ImapValue {
  const value = field(part.fields, 'content-language');
  return value ? value.split(',').map((v) => v.trim()) : null;
}

export function bodyStructure(raw: Buffer, part: Part): ImapValue {
  if (part.type === 'multipart') {
    return [...part.children.map((child) => bodyStructure(raw, child)), part.subtype, paramList(part.params), disposition(part), language(part), nstr(field(part.fields, 'content-location'))];
  }
  const size = part.end - part.bodyStart;
  const basic: ImapValue[] = [
    part.type,
    part.subtype,
    paramList(part.params),
    nstr(field(part.fields, 'content-id')),
    nstr(field(part.fields, 'content-description')),
    (field(part.fields, 'content-transfer-encoding') ?? '7bit').toLowerCase(),
    size,
  ];
  if (part.message) basic.push(envelope(part.message), bodyStructure(raw, part.message), countLines(raw, part.bodyStart, part.end));
  else if (part.type === 'text') basic.push(countLines(raw, part.bodyStart, part.end));
  return [...basic, nstr(field(part.fields, 'content-md5')), disposition(part), language(part), nstr(field(part.fields, 'content-location'))];
}

// ---- sections ----

/** The parts numbered under `part` (RFC 3501 §6.4.5): a multipart's parts; a message's one body; an attached message's parts. */
function numbered(part: Part, isMessage: boolean): Part[] {
  if (part.type === 'multipart') return part.children;
  if (isMessage) return [part];
  if (part.message) return numbered(part.message, true);
  return [];
}

/** The octets of BODY[section] (without the partial range). */
export function sectionBytes(raw: Buffer, root: Part, request: SectionRequest): Buffer {
  let node: Part | undefined = root;
  let isMessage = true;
  for (const n of request.part) {
    node = numbered(node, isMessage)[n - 1];
    isMessage = false;
    if (!node) return Buffer.alloc(0);
  }
  const text = request.text;
  if (!text) return request.part.length === 0 ? raw : raw.subarray(node.bodyStart, node.end);
  if (text === 'MIME') return request.part.length === 0 ? Buffer.alloc(0) : raw.subarray(node.headerStart, node.bodyStart);
  const message = request.part.length === 0 ? root : node.message;
  if (!message) return Buffer.alloc(0);
  if (text === 'TEXT') return raw.subarray(message.bodyStart, message.end);
  if (text === 'HEADER') return raw.subarray(message.headerStart, message.bodyStart);
  const wanted = new Set((request.fields ?? []).map((name) => name.toLowerCase()));
  const keep = message.fields.filter((f) => wanted.has(f.name) === (text === 'HEADER.FIELDS'));
  return Buffer.concat([...keep.map((f) => raw.subarray(f.start, f.end)), Buffer.from('\r\n')]);
}
