// SORT keys (RFC 5256 §3, DISPLAYFROM/DISPLAYTO from RFC 5957) computed from
// a message's ENVELOPE and metadata, for when the backend leaves SORT to the
// library. Strings compare with i;ascii-casemap (ASCII letters folded);
// ties fall back to the message number (RFC 5256 §3: "ties ... by sequence").

import type { FetchedMessage, ImapValue, SortCriterion } from '../backend.ts';
import { parseHeaderDate } from '../protocol/dates.ts';
import { decodeEncodedWords } from './mime-text.ts';

function asText(value: ImapValue | undefined): string {
  if (typeof value === 'string') return value;
  if (Buffer.isBuffer(value)) return value.toString('utf8');
  return '';
}

function casemap(text: string): string {
  return text.replace(/[a-z]+/g, (letters) => letters.toUpperCase());
}

/** RFC 5256 §2.1: the subject without Re:, Fwd:, [blob] prefixes, (fwd) trailers and [Fwd: ...] wrappers. */
export function baseSubject(raw: string): string {
  let subject = decodeEncodedWords(raw).replace(/[\t\r\n]+/g, ' ').replace(/ {2,}/g, ' ');
  for (let guard = 0; guard < 100; guard++) {
    const before = subject;
    // (2) trailers
    let trimmed = subject;
    for (;;) {
      const next = trimmed.replace(/(?:\s|\(fwd\))+$/i, '');
      if (next === trimmed) break;
      trimmed = next;
    }
    subject = trimmed;
    // (3)-(5) leaders and blobs
    for (;;) {
      const leader = /^(?:\s+|(?:\[[^[\]]*\]\s*)*(?:re|fwd?)\s*(?:\[[^[\]]*\]\s*)?:)/i.exec(subject);
      if (leader && leader[0].length > 0) {
        subject = subject.slice(leader[0].length);
        continue;
      }
      const blob = /^\[[^[\]]*\]\s*/.exec(subject);
      if (blob && subject.length > blob[0].length) {
        subject = subject.slice(blob[0].length);
        continue;
      }
      break;
    }
    // (6) [fwd: ...]
    const forward = /^\[fwd:(.*)\]$/i.exec(subject);
    if (forward) subject = forward[1]!;
    if (subject === before) break;
  }
  return casemap(subject.trim());
}

type Address = readonly ImapValue[];

/** The first address, or a group's name (RFC 5256 §3 uses whatever comes first). */
function firstAddress(list: ImapValue | undefined): Address | undefined {
  if (!Array.isArray(list)) return undefined;
  for (const item of list as readonly ImapValue[]) {
    if (Array.isArray(item) && item[2] !== null) return item as Address;
  }
  return undefined;
}

function addrMailbox(list: ImapValue | undefined): string {
  return casemap(asText(firstAddress(list)?.[2]));
}

function display(list: ImapValue | undefined): string {
  const address = firstAddress(list);
  if (!address) return '';
  // RFC 5957 §3: the display name, else the address; a group shows its name.
  const name = decodeEncodedWords(asText(address[0])).trim();
  if (name) return casemap(name);
  const host = asText(address[3]);
  return casemap(host ? `${asText(address[2])}@${host}` : asText(address[2]));
}

export interface SortRow {
  uid: number;
  seq: number;
  keys: (string | number)[];
}

export async function sortRow(message: FetchedMessage, seq: number, criteria: readonly SortCriterion[]): Promise<SortRow> {
  const needsEnvelope = criteria.some((c) => c.key !== 'ARRIVAL' && c.key !== 'SIZE');
  const envelope = needsEnvelope ? ((await message.envelope()) as readonly ImapValue[]) : [];
  return { uid: message.uid, seq, keys: sortKeys(envelope, message.internalDate.getTime(), message.size, criteria) };
}

/** The sort keys of one message from its ENVELOPE, INTERNALDATE (ms) and RFC822.SIZE; synchronous, for a backend that precomputes them. */
export function sortKeys(envelope: readonly ImapValue[], internalDate: number, size: number, criteria: readonly SortCriterion[]): (string | number)[] {
  return criteria.map((criterion): string | number => {
    switch (criterion.key) {
      case 'ARRIVAL':
        return internalDate;
      case 'SIZE':
        return size;
      case 'DATE':
        return parseHeaderDate(asText(envelope[0]))?.time ?? internalDate;
      case 'SUBJECT':
        return baseSubject(asText(envelope[1]));
      case 'FROM':
        return addrMailbox(envelope[2]);
      case 'TO':
        return addrMailbox(envelope[5]);
      case 'CC':
        return addrMailbox(envelope[6]);
      case 'DISPLAYFROM':
        return display(envelope[2]);
      case 'DISPLAYTO':
        return display(envelope[5]);
    }
  });
}

export function compareRows(criteria: readonly SortCriterion[]) {
  return (a: SortRow, b: SortRow): number => {
    for (let i = 0; i < criteria.length; i++) {
      const x = a.keys[i]!;
      const y = b.keys[i]!;
      const order = x < y ? -1 : x > y ? 1 : 0;
      if (order !== 0) return criteria[i]!.reverse ? -order : order;
    }
    return a.seq - b.seq;
  };
}
