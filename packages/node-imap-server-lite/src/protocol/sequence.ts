// Sequence sets as the client writes them (RFC 3501 §9 `sequence-set`), before
// they are resolved against the selected mailbox: numbers, "*" and ranges in
// either order, plus "$" (RFC 5182 SEARCHRES) for the saved search result.
//
// Resolution is the selected mailbox's job (selected.ts); here the set is only
// read. "*" stays symbolic until then, because its value (the last message, or
// the highest UID) is known only against the mailbox.

import { ParseError } from './parser.ts';

export type SeqNumber = number | '*';

export interface SequenceSet {
  /** Ranges as written; a single number n is [n, n]. Not sorted, may overlap, may be reversed. */
  ranges: [SeqNumber, SeqNumber][];
  /** "$": the saved search result (RFC 5182). When set, ranges is empty. */
  saved: boolean;
}

const maxNumber = 0xffffffff;

function parseNumber(text: string): SeqNumber {
  if (text === '*') return '*';
  if (!/^[1-9]\d{0,9}$/.test(text)) throw new ParseError(`"${text}" is not a message number`);
  const value = Number(text);
  if (value > maxNumber) throw new ParseError(`${text} is larger than the largest message number`);
  return value;
}

export function parseSequenceSet(text: string, allowSaved: boolean): SequenceSet {
  if (text === '$') {
    if (!allowSaved) throw new ParseError('"$" is not a sequence set here');
    return { ranges: [], saved: true };
  }
  if (text === '' || text.length > 1_000_000) throw new ParseError('a sequence set is empty or too long');
  const ranges: [SeqNumber, SeqNumber][] = [];
  for (const part of text.split(',')) {
    const colon = part.indexOf(':');
    if (colon < 0) {
      const n = parseNumber(part);
      ranges.push([n, n]);
    } else {
      ranges.push([parseNumber(part.slice(0, colon)), parseNumber(part.slice(colon + 1))]);
    }
  }
  return { ranges, saved: false };
}

/** True when the text reads as a sequence set (a SEARCH key that is a bare set). */
export function looksLikeSequenceSet(text: string): boolean {
  return text === '$' || /^(?:[0-9]+|\*)(?::(?:[0-9]+|\*))?(?:,(?:[0-9]+|\*)(?::(?:[0-9]+|\*))?)*$/.test(text);
}
