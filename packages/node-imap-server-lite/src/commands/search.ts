// SEARCH and UID SEARCH (RFC 3501 §6.4.4) with ESEARCH's RETURN options MIN,
// MAX, COUNT, ALL (RFC 4731), SEARCHRES's SAVE (RFC 5182) and CONDSTORE's
// MODSEQ key and result (RFC 7162 §3.1.5). CHARSET may be UTF-8 or US-ASCII.
//
// No EXPUNGE is sent during SEARCH (RFC 3501 §7.4.1): the numbers in the
// answer must hold when the client reads them. UID SEARCH may carry them.

import type { SearchKey } from '../backend.ts';
import { no } from '../errors.ts';
import type { ArgReader } from '../protocol/args.ts';
import { ParseError } from '../protocol/parser.ts';
import { runSearch } from '../search/match.ts';
import { parseSearchProgram, type SearchContext } from '../search/query.ts';
import type { Session } from '../session/session.ts';
import { formatUidSet, uidSetFromSorted, uidSetValues, type UidSet } from '../uid-set.ts';
import { defineCommand, selectedState } from './types.ts';

type ReturnOption = 'MIN' | 'MAX' | 'COUNT' | 'ALL' | 'SAVE';

interface SearchArgs {
  /** RETURN (...) given: the answer is an ESEARCH response (unless only SAVE). */
  returns: Set<ReturnOption> | null;
  key: SearchKey;
  usesModseq: boolean;
}

/** UTF-8 and US-ASCII (a subset) are the charsets search strings may be in; others are NO [BADCHARSET]. */
export function checkCharset(charset: string): void {
  const name = charset.toUpperCase();
  if (name !== 'UTF-8' && name !== 'US-ASCII') throw no(`Charset ${name.slice(0, 30)} is not supported`, 'BADCHARSET (UTF-8 US-ASCII)');
}

/** `[CHARSET name]` before the search keys. */
export function parseCharset(args: ArgReader): void {
  if (args.peekAtom() !== 'CHARSET') return;
  args.atom('CHARSET');
  checkCharset(args.astring('charset'));
}

function searchCommandFor(uid: boolean) {
  return defineCommand({
    name: uid ? 'UID SEARCH' : 'SEARCH',
    states: selectedState,
    expunges: uid,
    parse(args, session): SearchArgs {
      const view = session.requireSelected();
      let returns: Set<ReturnOption> | null = null;
      if (args.peekAtom() === 'RETURN') {
        args.atom('RETURN');
        const list = args.list('return options');
        returns = new Set();
        while (!list.atEnd()) {
          const option = list.atom('return option').toUpperCase();
          if (option !== 'MIN' && option !== 'MAX' && option !== 'COUNT' && option !== 'ALL' && option !== 'SAVE') throw new ParseError(`unknown SEARCH return option ${option.slice(0, 30)}`);
          returns.add(option);
        }
        // RFC 4731 §3.1: RETURN () means RETURN (ALL).
        if (returns.size === 0) returns.add('ALL');
      }
      parseCharset(args);
      const context: SearchContext = { view, saved: session.savedSearch, usesModseq: false };
      const key = parseSearchProgram(args, context);
      return { returns, key, usesModseq: context.usesModseq };
    },
    async run(session, args, { tag }) {
      const view = session.requireSelected();
      if (args.usesModseq) await session.enableCondstore();
      let result;
      try {
        result = await runSearch(session, view, args.key, args.usesModseq);
      } catch (error) {
        // RFC 5182 §2.1: a failed SEARCH ... RETURN (SAVE) leaves an empty result.
        if (args.returns?.has('SAVE')) session.savedSearch = [];
        throw error;
      }
      const numbers = uid ? [...uidSetValues(result.uids)] : [...uidSetValues(result.uids)].map((u) => view.seqOf(u)).filter((seq) => seq > 0);
      const modseqSuffix = args.usesModseq && numbers.length > 0 ? await reportedModseq(session, result, args.returns) : undefined;
      if (!args.returns) {
        await writeSearch(session, numbers, modseqSuffix);
        return;
      }
      const returns = args.returns;
      if (returns.has('SAVE')) session.savedSearch = saved(result.uids, returns);
      if (returns.size === 1 && returns.has('SAVE')) return;
      await writeEsearch(session, tag, uid, numbers, returns, modseqSuffix);
    },
  });
}

/**
 * RFC 7162 §3.1.5 with RFC 4731: the MODSEQ of a result is the highest MODSEQ
 * of the messages the result reports; with only MIN and/or MAX, of those.
 */
async function reportedModseq(session: Session, result: { uids: UidSet; highestModseq?: number }, returns: Set<ReturnOption> | null): Promise<number | undefined> {
  let uids = result.uids;
  const narrowed = returns !== null && !returns.has('ALL') && !returns.has('COUNT') && (returns.has('MIN') || returns.has('MAX'));
  if (narrowed) uids = saved(result.uids, returns);
  else if (result.highestModseq !== undefined) return result.highestModseq;
  const view = session.requireSelected();
  let highest: number | undefined;
  for await (const message of await session.backend.fetch(session.context(), view.handle, uids, { want: {} })) {
    if (highest === undefined || message.modseq > highest) highest = message.modseq;
  }
  return highest;
}

/** RFC 5182 §2.1: with MIN and/or MAX but neither ALL nor COUNT, only those are saved. */
function saved(uids: UidSet, returns: Set<ReturnOption>): UidSet {
  if (returns.has('ALL') || returns.has('COUNT') || (!returns.has('MIN') && !returns.has('MAX'))) return uids;
  if (uids.length === 0) return [];
  const picked: number[] = [];
  if (returns.has('MIN')) picked.push(uids[0]![0]);
  if (returns.has('MAX')) picked.push(uids[uids.length - 1]![1]);
  return uidSetFromSorted(picked.sort((a, b) => a - b));
}

/** `* SEARCH n n n`, with `(MODSEQ m)` after a MODSEQ search (RFC 7162 §3.1.5). */
export async function writeSearch(session: Session, numbers: readonly number[], modseq: number | undefined, name = 'SEARCH'): Promise<void> {
  let line = `* ${name}`;
  for (const n of numbers) line += ` ${n}`;
  if (modseq !== undefined) line += ` (MODSEQ ${modseq})`;
  await session.send([Buffer.from(line + '\r\n', 'latin1')]);
}

async function writeEsearch(session: Session, tag: string, uid: boolean, numbers: readonly number[], returns: Set<ReturnOption>, modseq: number | undefined): Promise<void> {
  let line = `* ESEARCH (TAG "${tag.replace(/[\\"]/g, '\\$&')}")${uid ? ' UID' : ''}`;
  const sorted = [...numbers].sort((a, b) => a - b);
  if (returns.has('MIN') && sorted.length > 0) line += ` MIN ${sorted[0]}`;
  if (returns.has('MAX') && sorted.length > 0) line += ` MAX ${sorted[sorted.length - 1]}`;
  if (returns.has('COUNT')) line += ` COUNT ${sorted.length}`;
  if (returns.has('ALL') && sorted.length > 0) {
    line += ` ALL ${formatUidSet(uidSetFromSorted(sorted))}`;
  }
  if (modseq !== undefined) line += ` MODSEQ ${modseq}`;
  await session.send([Buffer.from(line + '\r\n', 'latin1')]);
}

export const searchCommand = searchCommandFor(false);
export const uidSearchCommand = searchCommandFor(true);
