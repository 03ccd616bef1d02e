// STORE and UID STORE (RFC 3501 §6.4.6) with .SILENT, and CONDSTORE's
// UNCHANGEDSINCE modifier and MODIFIED response code (RFC 7162 §3.1.3).
//
// - UIDs that no longer exist are skipped: the command answers OK with no
//   effect for them (iOS treats a NO as "undo the delete" and shows the mail
//   again).
// - New keywords are announced with `* FLAGS` before the FETCH responses that
//   use them.
// - Changes made here are remembered in the view (`reported`), so that the
//   change feed does not echo them back as unsolicited FETCHes.
// - With .SILENT no FETCH is sent, except, once CONDSTORE is on, the MODSEQ of
//   each changed message (RFC 7162 §3.1.3).
// - [MODIFIED] names sequence numbers for STORE and UIDs for UID STORE.
// - No EXPUNGE is sent during STORE (RFC 3501 §7.4.1); UID STORE may carry them.

import { no } from '../errors.ts';
import { systemFlags } from '../protocol/args.ts';
import { ParseError } from '../protocol/parser.ts';
import type { SequenceSet } from '../protocol/sequence.ts';
import { formatUidSet, uidSetFromUids } from '../uid-set.ts';
import { defineCommand, selectedState } from './types.ts';

interface StoreArgs {
  set: SequenceSet;
  unchangedSince: number | undefined;
  operation: 'add' | 'remove' | 'replace';
  silent: boolean;
  flags: string[];
}

const systemFlagSet = new Set<string>(systemFlags);

function storeCommandFor(uid: boolean) {
  return defineCommand({
    name: uid ? 'UID STORE' : 'STORE',
    states: selectedState,
    expunges: uid,
    parse(args): StoreArgs {
      const set = args.sequenceSet('sequence set');
      let unchangedSince: number | undefined;
      const modifiers = args.optionalList();
      if (modifiers) {
        while (!modifiers.atEnd()) {
          const name = modifiers.atom('store modifier').toUpperCase();
          if (name !== 'UNCHANGEDSINCE') throw new ParseError(`unknown STORE modifier ${name.slice(0, 30)}`);
          unchangedSince = modifiers.modseq('UNCHANGEDSINCE', true);
        }
      }
      const item = args.atom('store item').toUpperCase();
      const match = /^([+-]?)FLAGS(\.SILENT)?$/.exec(item);
      if (!match) throw new ParseError(`unknown STORE item ${item.slice(0, 30)}`);
      const flags = args.flags('flags');
      args.end();
      if (flags.includes('\\*')) throw new ParseError('\\* is not a flag');
      return {
        set,
        unchangedSince,
        operation: match[1] === '+' ? 'add' : match[1] === '-' ? 'remove' : 'replace',
        silent: match[2] !== undefined,
        // \Recent cannot be stored (RFC 3501 §2.3.2): ignored.
        flags: [...new Set(flags.filter((flag) => flag !== '\\Recent'))],
      };
    },
    async run(session, args) {
      const view = session.requireSelected();
      if (view.readOnly) throw no('The mailbox is read-only', 'CANNOT');
      if (args.unchangedSince !== undefined) await session.enableCondstore();
      const uids = uid ? view.resolveUids(args.set, session.savedSearch) : view.resolveSequence(args.set, session.savedSearch, true);
      if (uids.length === 0) return;
      const fresh = args.flags.filter((flag) => !systemFlagSet.has(flag) && !view.keywords.has(flag));
      if (fresh.length > 0 && args.operation !== 'remove') {
        for (const flag of fresh) view.keywords.add(flag);
        await session.sendFlags(view);
      }
      const modified: number[] = [];
      const results = await session.backend.store(session.context(), view.handle, uids, {
        operation: args.operation,
        flags: args.flags,
        unchangedSince: args.unchangedSince,
      });
      for await (const stored of results) {
        const seq = view.seqOf(stored.uid);
        if (seq === 0) continue;
        if (stored.status === 'modified') {
          modified.push(uid ? stored.uid : seq);
          continue;
        }
        if (stored.status === 'updated') view.reported.set(stored.uid, stored.modseq);
        if (!args.silent) {
          await session.sendFlagsFetch(view, seq, stored.uid, stored.flags, stored.modseq, uid);
        } else if (session.condstore && stored.status === 'updated') {
          await session.untagged(`${seq} FETCH (UID ${stored.uid} MODSEQ (${stored.modseq}))`);
        }
      }
      if (modified.length > 0) return { code: `MODIFIED ${formatUidSet(uidSetFromUids(modified))}`, text: 'Some messages were modified since UNCHANGEDSINCE' };
    },
  });
}

export const storeCommand = storeCommandFor(false);
export const uidStoreCommand = storeCommandFor(true);
