// The streaming MIME scanner: reads a message once, in chunks of any size,
// and returns its MessageStructure (types.ts).
//
// How it reads: the input is cut into lines at LF. A line is handled whole
// once its LF (or the end of input) arrives, but only its first octets are
// kept: all of it in a header (up to a budget), the first 128 in a body (all
// a boundary test needs), none when no multipart is open. So memory is
// bounded by the header budget whatever the message size, and the result does
// not depend on where the chunks were cut.
//
// MIME rules applied (RFC 2045, RFC 2046 §5.1, RFC 5322 §2.2):
// - A header ends at an empty line; a header line starting with SP or TAB
//   continues the field before it. A message without an empty line is all
//   header.
// - Content-* fields count only in a MIME entity: a body part, or a message
//   with MIME-Version or Content-Type (RFC 2045 §4; Content-Type alone is
//   accepted, as every mature parser does). The first Content-Type wins.
// - A boundary line is "--" + boundary at the start of a line; the line may go
//   on ("NOTE TO IMPLEMENTORS", RFC 2046 §5.1.1: an exact match of the whole
//   line is not required). When several open boundaries match, the innermost
//   exact match wins, else the longest. "--" after the boundary closes the
//   multipart. The CRLF before a boundary line belongs to the boundary (even
//   the one of the empty line ending a header, which leaves that header
//   without it and the body empty), unless the line directly follows another
//   boundary line, or the header of the multipart whose boundary it is.
// - A boundary line of an outer multipart ends every entity inside it, even
//   in the middle of a header (missing close-delimiters are common). At the
//   end of input every open entity ends.
// - Inside multipart/digest a part without Content-Type is message/rfc822
//   (RFC 2046 §5.1.5). message/rfc822 and message/global bodies are parsed as
//   messages (RFC 2046 §5.2.1, RFC 6532 §3.7).
// - Limits, as Dovecot's: 100 levels of nesting, 10,000 parts, boundaries
//   cut to 80 octets, 256 KiB of kept header text per header.
//
// Invariants a reader must keep:
// - `offset` and `lfCount` describe the start of the line being assembled;
//   every recorded offset is a line start or the "cut" position just before a
//   boundary line's CRLF, so LF counts at those points are known exactly.
// - An entity is appended to its parent when it opens, so children stay in
//   order; it is complete (end, lines) once `finish` has run.

import { addressesToText, parseAddressList } from './address.ts';
import { parseContentType, parseDisposition, parseLanguage, parseTransferEncoding, type ParsedContentType } from './content.ts';
import { collapseWhitespace, octetsToText, removeLineBreaks, replacementOctets } from './text.ts';
import type { Address, Envelope, MessageStructure, MimePart, Param } from './types.ts';

const maxNesting = 100;
const maxParts = 10_000;
const maxBoundaryLength = 80;
/** Octets of header field text kept per header; past it offsets are still tracked, text is not. */
export const headerBudget = 256 * 1024;
/** Octets of a body line kept: enough for "--" + the longest boundary + "--". */
const bodyLineHead = 128;
/** Header field names longer than this are not names (RFC 5322 §2.1.1 line limit). */
const maxFieldName = 1000;

const LF = 0x0a;
const CR = 0x0d;
const DASH = 0x2d;

/** Fields read from every entity's header. */
const contentFields = new Set(['content-type', 'content-transfer-encoding', 'content-id', 'content-description', 'content-md5', 'content-disposition', 'content-language', 'content-location', 'mime-version']);
/** Fields read from a message's own header for its envelope. */
const envelopeFields = new Set(['date', 'subject', 'from', 'sender', 'reply-to', 'to', 'cc', 'bcc', 'in-reply-to', 'message-id']);

type AddressField = 'from' | 'sender' | 'replyTo' | 'to' | 'cc' | 'bcc';
const addressFieldKey: Record<string, AddressField> = { from: 'from', sender: 'sender', 'reply-to': 'replyTo', to: 'to', cc: 'cc', bcc: 'bcc' };

/** What a header yields, still in octets, until the header ends. */
class HeaderState {
  kept = 0;
  mimeVersion = false;
  contentType: ParsedContentType | undefined;
  encoding: string | undefined;
  id: string | undefined;
  description: string | undefined;
  md5: string | undefined;
  location: string | undefined;
  disposition: { value: string; params: Param[] } | undefined;
  language: string[] | undefined;
  // Envelope, for a message's own header. Single fields: the last one
  // counts (the one DKIM signs by default, RFC 6376 §5.4.2); address
  // fields: all of them, as if one comma-separated list, so that a second
  // From cannot hide behind the first.
  date: string | undefined;
  subject: string | undefined;
  inReplyTo: string | undefined;
  messageId: string | undefined;
  references: string | undefined;
  addresses: Partial<Record<AddressField, Address[]>> = {};
  /** The field being assembled: its lower-case name and its value so far, or null when it is not kept. */
  fieldName = '';
  fieldValue: string | null = null;
  /** Whether a field line has been seen (a line starting with white space continues it). */
  inField = false;

  constructor(readonly wantsEnvelope: boolean, readonly wantsReferences: boolean) {}

  wants(name: string): boolean {
    return contentFields.has(name) || (this.wantsEnvelope && (envelopeFields.has(name) || (this.wantsReferences && name === 'references')));
  }

  /** Applies the completed field. */
  flush(): void {
    const name = this.fieldName;
    const raw = this.fieldValue;
    this.fieldValue = null;
    this.fieldName = '';
    if (name === 'mime-version') {
      this.mimeVersion = true;
      return;
    }
    if (name === 'content-type') {
      // Seen even when its text was not kept: it still makes the entity MIME.
      this.contentType ??= raw === null ? { value: '', params: undefined } : parseContentType(raw);
      return;
    }
    if (raw === null) return;
    const value = raw.includes('\0') ? raw.replace(/\0/g, replacementOctets) : raw;
    switch (name) {
      case 'content-transfer-encoding':
        this.encoding ??= parseTransferEncoding(value);
        break;
      case 'content-id':
        this.id ??= value;
        break;
      case 'content-description':
        this.description ??= value;
        break;
      case 'content-md5':
        this.md5 ??= value;
        break;
      case 'content-location':
        this.location ??= value;
        break;
      case 'content-disposition':
        // A later Content-Disposition may still supply what a bare first one lacked.
        if (!this.disposition || this.disposition.params.length === 0) this.disposition = parseDisposition(value) ?? this.disposition;
        break;
      case 'content-language':
        this.language ??= parseLanguage(value);
        break;
      case 'date':
        this.date = value;
        break;
      case 'subject':
        this.subject = value;
        break;
      case 'in-reply-to':
        this.inReplyTo = value;
        break;
      case 'message-id':
        this.messageId = value;
        break;
      case 'references':
        this.references = value;
        break;
      default: {
        const key = addressFieldKey[name];
        if (key) {
          const list = parseAddressList(value);
          if (list.length > 0) this.addresses[key] = (this.addresses[key] ?? []).concat(list);
        }
      }
    }
  }

  envelope(): Envelope {
    const envelope: Envelope = {};
    if (this.date !== undefined) envelope.date = octetsToText(removeLineBreaks(this.date));
    if (this.subject !== undefined) envelope.subject = octetsToText(collapseWhitespace(this.subject));
    for (const key of ['from', 'sender', 'replyTo', 'to', 'cc', 'bcc'] as const) {
      const list = this.addresses[key];
      if (list) envelope[key] = addressesToText(list);
    }
    if (this.inReplyTo !== undefined) envelope.inReplyTo = octetsToText(removeLineBreaks(this.inReplyTo));
    if (this.messageId !== undefined) envelope.messageId = octetsToText(removeLineBreaks(this.messageId));
    return envelope;
  }
}

type EntityKind = 'leaf' | 'multipart' | 'message';

interface Entity {
  part: MimePart;
  parent: Entity | null;
  depth: number;
  /** A body part of a multipart: MIME whatever its header says. */
  inMultipart: boolean;
  parentIsDigest: boolean;
  /** The header being read, until it ends. */
  header: HeaderState | null;
  kind: EntityKind;
  isDigest: boolean;
  /** LF count at the body's start. */
  bodyLf: number;
}

interface Boundary {
  octets: Buffer;
  owner: Entity;
}

/** One line of input as the state machine sees it. */
interface Line {
  start: number;
  /** Octets including the line break. */
  length: number;
  /** Size of the line break: 2 (CRLF), 1 (LF) or 0 (end of input). */
  newline: number;
  /** LF count before the line. */
  lf: number;
  /** The first octets of the line (how many depends on where it is). */
  head: Buffer;
}

const octetString = (buffer: Buffer, length: number): string => buffer.toString('latin1', 0, length);

export class MessageScanner {
  private offset = 0;
  private lfCount = 0;
  private lineLength = 0;
  private lineBuffer = Buffer.allocUnsafe(4096);
  private lineKept = 0;
  private lastOctet = -1;
  private sawNul = false;
  private ended = false;

  private readonly root: Entity;
  private current: Entity;
  private readonly boundaries: Boundary[] = [];
  private totalParts = 1;
  /** The next line is the first of a header or of a body region: a boundary there takes no CRLF before it. */
  private atRegionStart = true;
  /**
   * The entity whose header the previous line (an empty line) ended. A
   * boundary line right after it that is not that entity's own still takes
   * the empty line's CRLF: the header is cut before it and the body is empty.
   */
  private headerJustEnded: Entity | null = null;
  /** Line-break size of the previous line. */
  private previousNewline = 0;
  private references: string | undefined;

  constructor() {
    this.root = this.open(null, 0);
    this.current = this.root;
  }

  /** Feeds the next chunk of the message. Chunks may be cut anywhere. */
  write(chunk: Uint8Array): void {
    if (this.ended) throw new Error('MessageScanner: write after end');
    const data = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    if (!this.sawNul && data.includes(0)) this.sawNul = true;
    let pos = 0;
    while (pos < data.length) {
      const lf = data.indexOf(LF, pos);
      const stop = lf < 0 ? data.length : lf + 1;
      this.take(data, pos, stop);
      if (lf >= 0) {
        const newline = (lf > 0 ? data[lf - 1] : this.lastOctet) === CR ? 2 : 1;
        this.lastOctet = LF;
        this.lineEnd(newline);
      } else {
        this.lastOctet = data[data.length - 1]!;
      }
      pos = stop;
    }
  }

  /** Ends the input and returns the structure. */
  end(): MessageStructure {
    if (this.ended) throw new Error('MessageScanner: end called twice');
    if (this.lineLength > 0) this.lineEnd(0);
    this.ended = true;
    // Everything still open ends with the input.
    this.closeUntil(null, this.offset, this.lfCount, 'end');
    const structure: MessageStructure = { v: 1, size: this.offset, root: this.root.part };
    if (this.sawNul) structure.nul = true;
    if (this.references !== undefined) structure.references = octetsToText(removeLineBreaks(this.references));
    return structure;
  }

  /** Appends octets [from, to) of data to the current line, keeping as many as the line's place needs. */
  private take(data: Buffer, from: number, to: number): void {
    const want = this.current.header ? maxFieldName + 24 + Math.max(0, headerBudget - this.current.header.kept) : this.boundaries.length > 0 ? bodyLineHead : 0;
    if (this.lineKept < want) {
      // In a body only a line starting with "--" can matter.
      const wanted = this.current.header || this.lineKept < 2 || (this.lineBuffer[0] === DASH && this.lineBuffer[1] === DASH);
      if (wanted) {
        const n = Math.min(to - from, want - this.lineKept);
        if (this.lineKept + n > this.lineBuffer.length) {
          const bigger = Buffer.allocUnsafe(Math.max(this.lineKept + n, this.lineBuffer.length * 2));
          this.lineBuffer.copy(bigger, 0, 0, this.lineKept);
          this.lineBuffer = bigger;
        }
        data.copy(this.lineBuffer, this.lineKept, from, from + n);
        this.lineKept += n;
      }
    }
    this.lineLength += to - from;
  }

  private lineEnd(newline: number): void {
    const line: Line = { start: this.offset, length: this.lineLength, newline, lf: this.lfCount, head: this.lineBuffer.subarray(0, this.lineKept) };
    this.offset += this.lineLength;
    if (newline > 0) this.lfCount++;
    this.lineLength = 0;
    this.lineKept = 0;
    this.onLine(line);
  }

  private onLine(line: Line): void {
    if (this.boundaries.length > 0 && this.totalParts < maxParts && line.head.length >= 2 && line.head[0] === DASH && line.head[1] === DASH) {
      const found = this.findBoundary(line);
      if (found) {
        this.onBoundary(found.boundary, found.closes, line);
        this.previousNewline = line.newline;
        return;
      }
    }
    // Cleared first: ending a header here starts a new region.
    this.atRegionStart = false;
    this.headerJustEnded = null;
    this.previousNewline = line.newline;
    const entity = this.current;
    if (entity.header) this.headerLine(entity, entity.header, line);
  }

  private findBoundary(line: Line): { boundary: Boundary; closes: boolean } | undefined {
    const head = line.head;
    // The candidate: what follows "--" up to the line break. A line without
    // a break (end of input) is looked at for at most 84 octets.
    const content = line.length - line.newline - 2;
    const size = line.newline > 0 ? content : Math.min(content, maxBoundaryLength + 4);
    const whole = line.length - line.newline <= head.length;
    const trailingDashes = line.newline > 0 && whole && size > 2 && head[2 + size - 1] === DASH && head[2 + size - 2] === DASH;
    let best: Boundary | undefined;
    for (let i = this.boundaries.length - 1; i >= 0; i--) {
      const boundary = this.boundaries[i]!;
      const length = boundary.octets.length;
      if (length > size || 2 + length > head.length) continue;
      if (head.compare(boundary.octets, 0, length, 2, 2 + length) !== 0) continue;
      if (!best || best.octets.length < length) {
        best = boundary;
        if (length === size || (length === size - 2 && trailingDashes)) break;
      }
    }
    if (!best) return undefined;
    const after = 2 + best.octets.length;
    const closes = head.length >= after + 2 && head[after] === DASH && head[after + 1] === DASH;
    return { boundary: best, closes };
  }

  /** A boundary line: end what it ends, then start the next part or the epilogue. */
  private onBoundary(boundary: Boundary, closes: boolean, line: Line): void {
    // The line break before the boundary line belongs to it, except right
    // after a boundary line, or after a header when the boundary is the one
    // that header's multipart just opened.
    const owner = boundary.owner;
    const ownsBreak = this.atRegionStart && (this.headerJustEnded === null || this.headerJustEnded === owner);
    const cut = ownsBreak ? line.start : line.start - this.previousNewline;
    const cutLf = ownsBreak || this.previousNewline === 0 ? line.lf : line.lf - 1;
    this.headerJustEnded = null;
    this.closeUntil(owner, cut, cutLf, 'cut');
    const index = this.boundaries.indexOf(boundary);
    this.boundaries.length = closes ? index : index + 1;
    this.atRegionStart = true;
    if (!closes && line.newline > 0) {
      this.current = this.open(owner, line.start + line.length);
    }
  }

  /** Opens an entity whose header starts at `at`, as the next child of `parent`. */
  private open(parent: Entity | null, at: number): Entity {
    const part: MimePart = { header: at, body: at, end: at, lines: 0 };
    const inMultipart = parent?.kind === 'multipart';
    const isMessageRoot = parent === null || parent.kind === 'message';
    const entity: Entity = {
      part,
      parent,
      depth: parent ? parent.depth + 1 : 0,
      inMultipart,
      parentIsDigest: inMultipart && parent!.isDigest,
      header: new HeaderState(isMessageRoot, parent === null),
      kind: 'leaf',
      isDigest: false,
      bodyLf: this.lfCount,
    };
    if (parent) {
      this.totalParts++;
      if (parent.kind === 'multipart') parent.part.parts!.push(part);
      else parent.part.message = part;
    }
    this.atRegionStart = true;
    return entity;
  }

  private headerLine(entity: Entity, header: HeaderState, line: Line): void {
    const contentLength = line.length - line.newline;
    if (contentLength === 0 && line.newline > 0) {
      this.endHeader(entity, line.start + line.length, line.lf + 1, 'blank');
      this.headerJustEnded = entity;
      return;
    }
    const kept = Math.min(contentLength, line.head.length);
    const first = line.head[0];
    if (header.inField && (first === 0x20 || first === 0x09)) {
      if (header.fieldValue !== null) {
        if (header.kept + kept > headerBudget) {
          header.fieldValue = null;
        } else {
          header.fieldValue += '\n' + octetString(line.head, kept);
          header.kept += kept;
        }
      }
      return;
    }
    if (header.inField) header.flush();
    header.inField = true;
    const text = octetString(line.head, Math.min(kept, maxFieldName + 24));
    const colon = text.indexOf(':');
    if (colon < 0 || colon > maxFieldName + 20) return;
    const name = text.slice(0, colon).replace(/[ \t]+$/, '').toLowerCase();
    if (name.length > maxFieldName || !header.wants(name)) return;
    header.fieldName = name;
    if (header.kept + kept > headerBudget) {
      header.fieldValue = null;
      return;
    }
    let value = octetString(line.head, kept).slice(colon + 1);
    // Leading white space is not part of the value; a value that is only
    // white space loses just the first octet of it.
    const leading = /^[ \t]*/.exec(value)![0].length;
    value = value.slice(leading === value.length && leading > 0 ? 1 : leading);
    header.fieldValue = value;
    header.kept += kept;
  }

  /**
   * The header of `entity` ends: at an empty line ('blank'), at a boundary
   * line ('cut') or at the end of input ('end'); its body starts at `body`.
   * Decides what the entity is and opens what its body holds.
   */
  private endHeader(entity: Entity, body: number, bodyLf: number, how: 'blank' | 'cut' | 'end'): void {
    const header = entity.header!;
    entity.header = null;
    if (header.inField) header.flush();
    const part = entity.part;
    part.body = body;
    entity.bodyLf = bodyLf;
    if (header.wantsEnvelope) part.envelope = header.envelope();
    if (header.wantsReferences) this.references = header.references;

    const isMime = entity.inMultipart || header.mimeVersion || header.contentType !== undefined;
    const contentType = isMime ? header.contentType : undefined;
    let kind: EntityKind = 'leaf';
    if (contentType) {
      const value = contentType.value;
      const slash = value.indexOf('/');
      part.type = octetsToText(slash < 0 ? value : value.slice(0, slash));
      part.subtype = octetsToText(slash < 0 ? '' : value.slice(slash + 1));
      if (contentType.params && contentType.params.length > 0) part.params = paramsToText(contentType.params);
      const lower = value.toLowerCase();
      if (lower === 'message/rfc822' || lower === 'message/global') kind = 'message';
      else if (lower.startsWith('multipart/')) kind = 'multipart';
    } else if (entity.parentIsDigest) {
      kind = 'message';
    }
    if (isMime) {
      if (header.encoding !== undefined) part.encoding = octetsToText(header.encoding);
      if (header.id !== undefined) part.id = octetsToText(removeLineBreaks(header.id));
      if (header.description !== undefined) part.description = octetsToText(removeLineBreaks(header.description));
      if (header.md5 !== undefined) part.md5 = octetsToText(removeLineBreaks(header.md5));
      if (header.location !== undefined) part.location = octetsToText(removeLineBreaks(header.location));
      if (header.disposition) {
        part.disposition = octetsToText(header.disposition.value);
        if (header.disposition.params.length > 0) part.dispositionParams = paramsToText(header.disposition.params);
      }
      if (header.language) part.language = header.language.map(octetsToText);
    }

    const tooDeep = entity.depth + 1 >= maxNesting;
    if (kind === 'multipart') {
      if (tooDeep) {
        part.truncated = true;
        kind = 'leaf';
      } else {
        part.parts = [];
        entity.isDigest = contentType!.value.toLowerCase() === 'multipart/digest';
        const boundary = how === 'blank' ? contentType!.params?.find(([name]) => name.toLowerCase() === 'boundary')?.[1] : undefined;
        if (boundary !== undefined) this.boundaries.push({ octets: Buffer.from(boundary.slice(0, maxBoundaryLength), 'latin1'), owner: entity });
      }
    } else if (kind === 'message' && (tooDeep || this.totalParts >= maxParts)) {
      part.truncated = true;
      kind = 'leaf';
    }
    entity.kind = kind;
    this.atRegionStart = true;
    if (kind === 'message') this.current = this.open(entity, body);
  }

  /**
   * Ends every open entity below `owner` (all of them when null) at `at`:
   * a header still being read ends there too, and so does an encapsulated
   * message that ending it opens.
   */
  private closeUntil(owner: Entity | null, at: number, lf: number, how: 'cut' | 'end'): void {
    let entity = this.current;
    while (entity !== owner) {
      if (entity.header) {
        this.endHeader(entity, at, lf, how);
        if (this.current !== entity) {
          entity = this.current;
          continue;
        }
      }
      this.finish(entity, at, lf);
      if (!entity.parent) break;
      entity = entity.parent;
      this.current = entity;
    }
  }

  /**
   * The entity's body ends at `end`. A cut before its header's empty line
   * (see headerJustEnded) moves its body start, and its header start if it
   * is an encapsulated message opened there, back to the cut.
   */
  private finish(entity: Entity, end: number, endLf: number): void {
    const part = entity.part;
    if (part.header > end) part.header = end;
    if (part.body > end) {
      part.body = end;
      entity.bodyLf = endLf;
    }
    part.end = end;
    part.lines = endLf - entity.bodyLf;
  }
}

function paramsToText(params: Param[]): Param[] {
  return params.map(([name, value]) => [octetsToText(name), octetsToText(value)]);
}

/** Scans a whole message held in memory. */
export function parseMessage(raw: Uint8Array): MessageStructure {
  const scanner = new MessageScanner();
  scanner.write(raw);
  return scanner.end();
}
