// SORT and UID SORT (RFC 5256 §3) with the DISPLAYFROM/DISPLAYTO keys
// (RFC 5957). The backend may sort; otherwise the library searches, reads
// each match's ENVELOPE and sorts (search/sort.ts).

import type { SortCriterion, SortKey } from '../backend.ts';
import { ParseError } from '../protocol/parser.ts';
import { runSearch } from '../search/match.ts';
import { parseSearchProgram, type SearchContext } from '../search/query.ts';
import { compareRows, sortRow, type SortRow } from '../search/sort.ts';
import { checkCharset, writeSearch } from './search.ts';
import { defineCommand, selectedState } from './types.ts';

const sortKeys = new Set<SortKey>(['ARRIVAL', 'CC', 'DATE', 'FROM', 'SIZE', 'SUBJECT', 'TO', 'DISPLAYFROM', 'DISPLAYTO']);

function sortCommandFor(uid: boolean) {
  return defineCommand({
    name: uid ? 'UID SORT' : 'SORT',
    states: selectedState,
    expunges: uid,
    parse(args, session) {
      const view = session.requireSelected();
      const list = args.list('sort criteria');
      const criteria: SortCriterion[] = [];
      while (!list.atEnd()) {
        let name = list.atom('sort key').toUpperCase();
        let reverse = false;
        if (name === 'REVERSE') {
          reverse = true;
          name = list.atom('sort key').toUpperCase();
        }
        if (!sortKeys.has(name as SortKey)) throw new ParseError(`unknown sort key ${name.slice(0, 30)}`);
        criteria.push({ key: name as SortKey, reverse });
      }
      if (criteria.length === 0) throw new ParseError('SORT needs at least one criterion');
      // RFC 5256 §3: the charset is not optional here, and has no CHARSET keyword.
      checkCharset(args.astring('charset'));
      const context: SearchContext = { view, saved: session.savedSearch, usesModseq: false };
      const key = parseSearchProgram(args, context);
      return { criteria, key, usesModseq: context.usesModseq };
    },
    async run(session, { criteria, key, usesModseq }) {
      const view = session.requireSelected();
      const ctx = session.context();
      if (usesModseq) await session.enableCondstore();
      const found = await runSearch(session, view, key, false);
      let ordered: readonly number[] | undefined;
      if (session.backend.sort) ordered = await session.backend.sort(ctx, view.handle, criteria, { key, scope: found.uids });
      if (!ordered) {
        const rows: SortRow[] = [];
        if (found.uids.length > 0) {
          const messages = await session.backend.fetch(ctx, view.handle, found.uids, { want: { envelope: true } });
          for await (const message of messages) {
            const seq = view.seqOf(message.uid);
            if (seq > 0) rows.push(await sortRow(message, seq, criteria));
          }
        }
        ordered = rows.sort(compareRows(criteria)).map((row) => row.uid);
      }
      const numbers = uid ? ordered.filter((u) => view.seqOf(u) > 0) : ordered.map((u) => view.seqOf(u)).filter((seq) => seq > 0);
      await writeSearch(session, numbers, undefined, 'SORT');
    },
  });
}

export const sortCommand = sortCommandFor(false);
export const uidSortCommand = sortCommandFor(true);
