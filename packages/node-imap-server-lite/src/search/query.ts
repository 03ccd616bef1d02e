// SEARCH keys (RFC 3501 §6.4.4; MODSEQ, RFC 7162 §3.1.5; OLDER/YOUNGER,
// RFC 5032; "$", RFC 5182) parsed into the backend's SearchKey.
//
// Everything that only this session can know is resolved here, at the time
// the command runs: message numbers and "$" become UID sets against the
// current view, RECENT/NEW/OLD become the UIDs this session holds as \Recent.
// The backend then sees only keys about stored messages.

import type { SearchKey } from '../backend.ts';
import type { ArgReader } from '../protocol/args.ts';
import { canonicalFlag } from '../protocol/args.ts';
import { ParseError } from '../protocol/parser.ts';
import { looksLikeSequenceSet, parseSequenceSet } from '../protocol/sequence.ts';
import type { SelectedMailbox } from '../session/selected.ts';
import { uidSetFromUids, type UidSet } from '../uid-set.ts';

const maxDepth = 100;

export interface SearchContext {
  view: SelectedMailbox;
  saved: UidSet | null;
  /** Set when a MODSEQ key was used (the response then carries the highest MODSEQ). */
  usesModseq: boolean;
}

const flagKeys: Record<string, [string, boolean]> = {
  ANSWERED: ['\\Answered', true],
  UNANSWERED: ['\\Answered', false],
  DELETED: ['\\Deleted', true],
  UNDELETED: ['\\Deleted', false],
  DRAFT: ['\\Draft', true],
  UNDRAFT: ['\\Draft', false],
  FLAGGED: ['\\Flagged', true],
  UNFLAGGED: ['\\Flagged', false],
  SEEN: ['\\Seen', true],
  UNSEEN: ['\\Seen', false],
};
const headerKeys = new Set(['BCC', 'CC', 'FROM', 'SUBJECT', 'TO']);
const dateKeys: Record<string, ['internaldate' | 'sentdate', 'before' | 'on' | 'since']> = {
  BEFORE: ['internaldate', 'before'],
  ON: ['internaldate', 'on'],
  SINCE: ['internaldate', 'since'],
  SENTBEFORE: ['sentdate', 'before'],
  SENTON: ['sentdate', 'on'],
  SENTSINCE: ['sentdate', 'since'],
};

/** All remaining arguments, ANDed (RFC 3501 §6.4.4: several keys are an intersection). */
export function parseSearchProgram(args: ArgReader, context: SearchContext): SearchKey {
  const keys: SearchKey[] = [];
  while (!args.atEnd()) keys.push(parseKey(args, context, 0));
  if (keys.length === 0) throw new ParseError('SEARCH needs at least one key');
  return keys.length === 1 ? keys[0]! : { type: 'and', keys };
}

function text(args: ArgReader, what: string): string {
  return args.astringBytes(what).toString('utf8');
}

function recentUids(view: SelectedMailbox): UidSet {
  return uidSetFromUids(view.recent);
}

function parseKey(args: ArgReader, context: SearchContext, depth: number): SearchKey {
  if (depth > maxDepth) throw new ParseError('search keys are nested too deeply');
  const node = args.peek();
  if (node?.kind === 'list') {
    const inner = args.list('search keys');
    const keys: SearchKey[] = [];
    while (!inner.atEnd()) keys.push(parseKey(inner, context, depth + 1));
    if (keys.length === 0) throw new ParseError('an empty parenthesized search key');
    return keys.length === 1 ? keys[0]! : { type: 'and', keys };
  }
  const raw = args.atom('search key');
  const name = raw.toUpperCase();
  const flagKey = flagKeys[name];
  if (flagKey) return { type: 'flag', flag: flagKey[0], set: flagKey[1] };
  if (headerKeys.has(name)) return { type: 'header', field: name, value: text(args, name) };
  const dateKey = dateKeys[name];
  if (dateKey) return { type: dateKey[0], comparison: dateKey[1], day: args.date(name) };
  switch (name) {
    case 'ALL':
      return { type: 'all' };
    case 'BODY':
      return { type: 'body', value: text(args, name) };
    case 'TEXT':
      return { type: 'text', value: text(args, name) };
    case 'HEADER': {
      const field = args.astringBytes('header field name').toString('latin1');
      if (!/^[\x21-\x39\x3b-\x7e]+$/.test(field)) throw new ParseError('HEADER needs a header field name');
      return { type: 'header', field: field.toUpperCase(), value: text(args, 'header value') };
    }
    case 'KEYWORD':
    case 'UNKEYWORD':
      return { type: 'flag', flag: canonicalFlag(args.atom('keyword')), set: name === 'KEYWORD' };
    case 'LARGER':
    case 'SMALLER':
      return { type: 'size', comparison: name === 'LARGER' ? 'larger' : 'smaller', size: args.number(name, Number.MAX_SAFE_INTEGER) };
    case 'RECENT':
      return { type: 'uid', uids: recentUids(context.view) };
    case 'OLD':
      return { type: 'not', key: { type: 'uid', uids: recentUids(context.view) } };
    case 'NEW':
      return { type: 'and', keys: [{ type: 'uid', uids: recentUids(context.view) }, { type: 'flag', flag: '\\Seen', set: false }] };
    case 'NOT':
      return { type: 'not', key: parseKey(args, context, depth + 1) };
    case 'OR': {
      const left = parseKey(args, context, depth + 1);
      const right = parseKey(args, context, depth + 1);
      return { type: 'or', left, right };
    }
    case 'UID':
      return { type: 'uid', uids: context.view.resolveUids(args.sequenceSet('UID set'), context.saved) };
    case 'OLDER':
    case 'YOUNGER':
      return { type: 'age', comparison: name === 'OLDER' ? 'older' : 'younger', seconds: args.number(name) };
    case 'MODSEQ': {
      // MODSEQ ["/flags/<flag>" ("priv" / "shared" / "all")] <mod-sequence>: the
      // entry only narrows to one flag's changes; one MODSEQ per message covers it.
      if (args.peek()?.kind === 'string') {
        args.string('entry name');
        const type = args.atom('entry type').toUpperCase();
        if (type !== 'PRIV' && type !== 'SHARED' && type !== 'ALL') throw new ParseError('the MODSEQ entry type is priv, shared or all');
      }
      context.usesModseq = true;
      return { type: 'modseq', modseq: args.modseq('MODSEQ', true) };
    }
  }
  if (looksLikeSequenceSet(raw)) {
    return { type: 'uid', uids: context.view.resolveSequence(parseSequenceSet(raw, true), context.saved, false) };
  }
  throw new ParseError(`unknown search key ${raw.slice(0, 30)}`);
}

/** The UIDs a key cannot reach beyond, to narrow what the fallback matcher reads. */
export function scopeOf(key: SearchKey, all: UidSet, intersect: (a: UidSet, b: UidSet) => UidSet): UidSet {
  if (key.type === 'uid') return intersect(key.uids, all);
  if (key.type === 'and') return key.keys.reduce((scope, inner) => scopeOf(inner, scope, intersect), all);
  return all;
}
