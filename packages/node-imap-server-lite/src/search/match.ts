// Running a search: the backend answers it when it can (`backend.search`);
// otherwise the library matches messages one by one, reading through the
// backend's fetch iterator only what the keys need (flags and sizes always,
// the header for header and date keys, the text for BODY and TEXT).
//
// Matching follows RFC 3501 §6.4.4: strings match as case-insensitive
// substrings of the decoded text; dates compare calendar days, "disregarding
// time and timezone" (the Date: header's own day for SENT*, the UTC day of
// INTERNALDATE otherwise).

import { Readable } from 'node:stream';
import type { ByteSource, FetchedMessage, SearchKey, SearchResult } from '../backend.ts';
import { parseHeaderDate, utcDayOf } from '../protocol/dates.ts';
import type { SelectedMailbox } from '../session/selected.ts';
import type { Session } from '../session/session.ts';
import { uidSetFromSorted, uidSetHas, uidSetIntersect, type UidSet } from '../uid-set.ts';
import { addressSearchText } from './addresses.ts';
import { bodyText, headerValue, parseHeader, splitHeader, type HeaderField } from './mime-text.ts';
import { scopeOf } from './query.ts';

export const maxHeaderBytes = 1024 * 1024;
const addressFields = new Set(['FROM', 'TO', 'CC', 'BCC', 'SENDER', 'REPLY-TO']);
export const maxBodyBytes = 32 * 1024 * 1024;
/** Messages matched at once (their reads overlap)... */
const matchConcurrency = 8;
/** ...when they are no larger than this. */
const concurrentBytesLimit = 1024 * 1024;

export async function runSearch(session: Session, view: SelectedMailbox, key: SearchKey, withModseq: boolean): Promise<SearchResult & { uids: UidSet }> {
  const ctx = session.context();
  const scope = scopeOf(key, view.allUids(), uidSetIntersect);
  if (scope.length === 0) return { uids: [] };
  if (session.backend.search) {
    const answer = await session.backend.search(ctx, view.handle, { key, scope });
    if (answer) {
      // Only what the client has been told of (new messages wait for EXISTS).
      const known = uidSetIntersect(answer.uids, scope);
      return { uids: known, highestModseq: answer.highestModseq };
    }
  }
  const needs = { header: false, body: false };
  analyse(key, needs);
  const matched: number[] = [];
  let highestModseq = 0;
  const now = Date.now();
  const messages = await session.backend.fetch(ctx, view.handle, scope, { want: { sections: needs.header || needs.body } });
  // Reading message octets waits on the disk, not the CPU: a few messages are
  // matched at once so the waits overlap. Results are sorted by UID at the end.
  const inFlight = new Set<Promise<void>>();
  for await (const message of messages) {
    if (view.seqOf(message.uid) === 0) continue;
    // Header and text are read only when a key that needs them is reached.
    const work = matches(key, new LoadedMessage(message, now, needs.body)).then((hit) => {
      if (!hit) return;
      matched.push(message.uid);
      if (message.modseq > highestModseq) highestModseq = message.modseq;
    });
    const tracked = work.finally(() => inFlight.delete(tracked));
    inFlight.add(tracked);
    // A large message is matched alone, so at most one of them is in memory at a time.
    if (message.size > concurrentBytesLimit) await Promise.all(inFlight);
    else if (inFlight.size >= matchConcurrency) await Promise.race(inFlight);
  }
  await Promise.all(inFlight);
  matched.sort((a, b) => a - b);
  return { uids: uidSetFromSorted(matched), highestModseq: withModseq && matched.length > 0 ? highestModseq : undefined };
}

function analyse(key: SearchKey, needs: { header: boolean; body: boolean }): void {
  switch (key.type) {
    case 'header':
    case 'sentdate':
      needs.header = true;
      break;
    case 'body':
    case 'text':
      needs.header = true;
      needs.body = true;
      break;
    case 'not':
      analyse(key.key, needs);
      break;
    case 'or':
      analyse(key.left, needs);
      analyse(key.right, needs);
      break;
    case 'and':
      for (const inner of key.keys) analyse(inner, needs);
      break;
  }
}

async function readAll(source: ByteSource, limit: number): Promise<Buffer> {
  if (Buffer.isBuffer(source.stream)) return source.stream.subarray(0, limit);
  const chunks: Buffer[] = [];
  let size = 0;
  const stream = source.stream;
  for await (const chunk of stream) {
    const bytes = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array);
    chunks.push(bytes.subarray(0, Math.max(0, limit - size)));
    size += bytes.length;
    if (size >= limit) break;
  }
  if (stream instanceof Readable && !stream.destroyed) stream.destroy();
  return Buffer.concat(chunks);
}

/**
 * Octets that may hide an ASCII word from a plain look at the raw body: a
 * transfer encoding, a charset in which ASCII letters are not single octets,
 * or an encoded word in the header of an attached message. Without any of them, a word absent from the raw octets (compared
 * ASCII case-insensitively) is absent from the decoded text too.
 */
export const encodedHints = ['base64', 'quoted-printable', 'utf-16', 'utf-32', 'ucs-2', 'ucs-4', 'utf-7', '=?'];

class LoadedMessage {
  private header: HeaderField[] | undefined;
  private headerText = '';
  private rawBody: Buffer | undefined;
  private rawLower: string | undefined;
  private decodedBody: string | undefined;

  constructor(
    readonly message: FetchedMessage,
    readonly now: number,
    /** The search needs the text anyway: read the whole message in one go rather than header and text apart. */
    private readonly wholeMessage: boolean,
  ) {}

  async fields(): Promise<HeaderField[]> {
    if (!this.header) {
      let raw: Buffer;
      if (this.wholeMessage) {
        const { header, body } = splitHeader(await readAll(await this.message.section({ part: [] }), maxHeaderBytes + maxBodyBytes));
        raw = header;
        this.rawBody = body;
      } else {
        raw = await readAll(await this.message.section({ part: [], text: 'HEADER' }), maxHeaderBytes);
      }
      this.header = parseHeader(raw);
      this.headerText = this.header.map((field) => `${field.name}: ${field.value}`).join('\n').toLowerCase();
    }
    return this.header;
  }

  async headerContains(needle: string): Promise<boolean> {
    await this.fields();
    return contains(this.headerText, needle);
  }

  /** Whether the decoded body text contains `needle`, decoding only when the raw octets cannot rule it out. */
  async bodyContains(needle: string): Promise<boolean> {
    if (this.decodedBody === undefined) {
      await this.fields();
      this.rawBody ??= await readAll(await this.message.section({ part: [], text: 'TEXT' }), maxBodyBytes);
      this.rawLower ??= this.rawBody.toString('latin1').toLowerCase();
      const lower = needle.toLowerCase();
      if (/^[\x20-\x7e]*$/.test(lower)) {
        const header = (await this.fields()).map((f) => f.value).join('\n').toLowerCase();
        const mayHide = encodedHints.some((hint) => this.rawLower!.includes(hint) || header.includes(hint));
        if (!mayHide) return this.rawLower.includes(lower);
      }
      this.decodedBody = bodyText(await this.fields(), this.rawBody).toLowerCase();
    }
    return contains(this.decodedBody, needle);
  }
}

function contains(haystack: string, needle: string): boolean {
  return haystack.includes(needle.toLowerCase());
}

export function compareDay(day: number, target: number, comparison: 'before' | 'on' | 'since'): boolean {
  if (comparison === 'before') return day < target;
  if (comparison === 'on') return day === target;
  return day >= target;
}

async function matches(key: SearchKey, m: LoadedMessage): Promise<boolean> {
  const message = m.message;
  switch (key.type) {
    case 'all':
      return true;
    case 'uid':
      return uidSetHas(key.uids, message.uid);
    case 'flag': {
      const wanted = key.flag.toLowerCase();
      const has = message.flags.some((flag) => flag.toLowerCase() === wanted);
      return has === key.set;
    }
    case 'header': {
      const fields = (await m.fields()).filter((field) => field.name === key.field);
      // RFC 3501 §6.4.4: an empty string matches every message that has the field.
      if (key.value === '') return fields.length > 0;
      const addresses = addressFields.has(key.field);
      return fields.some((field) => contains(field.value.toLowerCase(), key.value) || (addresses && contains(addressSearchText(field.value).toLowerCase(), key.value)));
    }
    case 'body':
      return m.bodyContains(key.value);
    case 'text':
      return (await m.headerContains(key.value)) || (await m.bodyContains(key.value));
    case 'internaldate':
      return compareDay(utcDayOf(message.internalDate), key.day, key.comparison);
    case 'sentdate': {
      const parsed = parseHeaderDate(headerValue(await m.fields(), 'DATE') ?? '');
      const day = parsed ? parsed.day : utcDayOf(message.internalDate);
      return compareDay(day, key.day, key.comparison);
    }
    case 'age': {
      const age = (m.now - message.internalDate.getTime()) / 1000;
      return key.comparison === 'older' ? age >= key.seconds : age <= key.seconds;
    }
    case 'size':
      return key.comparison === 'larger' ? message.size > key.size : message.size < key.size;
    case 'modseq':
      return message.modseq >= key.modseq;
    case 'not':
      return !(await matches(key.key, m));
    case 'or':
      return (await matches(key.left, m)) || (await matches(key.right, m));
    case 'and':
      for (const inner of key.keys) if (!(await matches(inner, m))) return false;
      return true;
  }
}
