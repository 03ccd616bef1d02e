// FETCH and UID FETCH (RFC 3501 §6.4.5, §6.4.8) with CONDSTORE's MODSEQ item
// and CHANGEDSINCE modifier (RFC 7162 §3.1.4) and QRESYNC's VANISHED modifier
// (RFC 7162 §3.2.6).
//
// - Messages are fetched one at a time from the backend's iterator and each
//   response is written (literal bodies piped from the backend's streams,
//   with their exact length) before the next message is asked for: the socket
//   paces the backend.
// - BODY[...] and RFC822/RFC822.TEXT set \Seen in a read-write mailbox. That is
//   done first, in one backend STORE; messages whose flags changed get FLAGS in
//   their FETCH response even when the client did not ask for it.
// - A message expunged by another session but still numbered here is skipped;
//   the command still answers OK (with [EXPUNGEISSUED]), never an error, since
//   clients treat an error as a reason to resync everything. The change feed
//   is read before fetching, so that such messages are known.
// - No EXPUNGE is sent during FETCH (RFC 3501 §7.4.1); UID FETCH may carry them.

import { bad } from '../errors.ts';
import { bodyFromStructure } from '../fetch/body.ts';
import { parseFetchItems, type FetchItem } from '../fetch/items.ts';
import { formatDateTime } from '../protocol/dates.ts';
import { discardBodies, releaseSource, ResponseBuilder } from '../protocol/encode.ts';
import { ParseError } from '../protocol/parser.ts';
import type { SequenceSet } from '../protocol/sequence.ts';
import { formatUidSet, uidSetFromSorted, uidSetHas } from '../uid-set.ts';
import { vanishedSince } from './select.ts';
import { defineCommand, selectedState } from './types.ts';

interface FetchArgs {
  set: SequenceSet;
  items: FetchItem[];
  changedSince: number | undefined;
  vanished: boolean;
}

function fetchCommandFor(uid: boolean) {
  return defineCommand({
    name: uid ? 'UID FETCH' : 'FETCH',
    states: selectedState,
    expunges: uid,
    parse(args): FetchArgs {
      const set = args.sequenceSet('sequence set');
      const items = parseFetchItems(args);
      let changedSince: number | undefined;
      let vanished = false;
      const modifiers = args.optionalList();
      if (modifiers) {
        while (!modifiers.atEnd()) {
          const name = modifiers.atom('fetch modifier').toUpperCase();
          if (name === 'CHANGEDSINCE') changedSince = modifiers.modseq('CHANGEDSINCE', true);
          else if (name === 'VANISHED') vanished = true;
          else throw new ParseError(`unknown FETCH modifier ${name.slice(0, 30)}`);
        }
      }
      args.end();
      return { set, items, changedSince, vanished };
    },
    async run(session, args) {
      const view = session.requireSelected();
      const ctx = session.context();
      // Learn of other sessions' changes first, so that a message expunged
      // elsewhere is known as such (and UID FETCH may report it at once).
      await session.syncSelected({ expunges: uid });
      if (args.vanished && (!uid || !session.qresync || args.changedSince === undefined)) {
        throw bad('VANISHED needs UID FETCH, CHANGEDSINCE and ENABLE QRESYNC (RFC 7162 §3.2.6)', 'CLIENTBUG');
      }
      const uids = uid ? view.resolveUids(args.set, session.savedSearch) : view.resolveSequence(args.set, session.savedSearch, true);
      const items = [...args.items];
      const has = (type: string) => items.some((item) => item.type === type);
      if (uid && !has('UID')) items.unshift({ type: 'UID' });
      if (args.changedSince !== undefined && !has('MODSEQ')) items.push({ type: 'MODSEQ' });
      if (has('MODSEQ')) await session.enableCondstore();
      if (uids.length === 0) return;

      // \Seen first, in one call, so that the FETCH responses show it.
      const seen = new Map<number, { flags: readonly string[]; modseq: number }>();
      if (!view.readOnly && items.some((item) => item.type === 'section' && item.setsSeen)) {
        for await (const stored of await session.backend.store(ctx, view.handle, uids, { operation: 'add', flags: ['\\Seen'] })) {
          if (stored.status !== 'updated') continue;
          seen.set(stored.uid, stored);
          view.reported.set(stored.uid, stored.modseq);
        }
      }

      if (args.vanished && session.backend.vanished) {
        const gone = await vanishedSince(session, view, args.changedSince!, uids);
        if (gone.length > 0) await session.untagged(`VANISHED (EARLIER) ${formatUidSet(gone)}`);
      } else if (args.vanished) {
        const vanished: number[] = [];
        for await (const change of await session.backend.changes(ctx, view.handle, args.changedSince!)) {
          if (change.kind === 'expunge' && uidSetHas(uids, change.uid) && view.seqOf(change.uid) === 0) vanished.push(change.uid);
        }
        if (vanished.length > 0) await session.untagged(`VANISHED (EARLIER) ${formatUidSet(uidSetFromSorted(vanished.sort((a, b) => a - b)))}`);
      }

      const want = {
        envelope: has('ENVELOPE'),
        bodyStructure: has('BODYSTRUCTURE') || has('BODY'),
        sections: has('section'),
      };
      /** Messages expunged elsewhere that the backend could still return. */
      const returned = new Set<number>();
      const messages = await session.backend.fetch(ctx, view.handle, uids, { changedSince: args.changedSince, want });
      for await (const message of messages) {
        const seq = view.seqOf(message.uid);
        if (seq === 0) continue;
        if (view.pendingExpunge.has(message.uid)) returned.add(message.uid);
        const update = seen.get(message.uid);
        const flags = update?.flags ?? message.flags;
        const modseq = update?.modseq ?? message.modseq;
        if (has('FLAGS') || update) await session.announceKeywords(view, flags);
        const response = new ResponseBuilder().raw(`* ${seq} FETCH (`);
        let first = true;
        const next = (text: string) => {
          response.raw(first ? text : ' ' + text);
          first = false;
        };
        const renderItem = async (item: FetchItem): Promise<void> => {
          switch (item.type) {
            case 'UID':
              return next(`UID ${message.uid}`);
            case 'FLAGS':
              return next(`FLAGS (${(view.isRecent(message.uid) ? ['\\Recent', ...flags] : flags).join(' ')})`);
            case 'INTERNALDATE':
              return next(`INTERNALDATE "${formatDateTime(message.internalDate)}"`);
            case 'RFC822.SIZE':
              return next(`RFC822.SIZE ${message.size}`);
            case 'MODSEQ':
              return next(`MODSEQ (${modseq})`);
            case 'ENVELOPE':
              next('ENVELOPE ');
              response.value(await message.envelope());
              return;
            case 'BODYSTRUCTURE':
              next('BODYSTRUCTURE ');
              response.value(await message.bodyStructure());
              return;
            case 'BODY':
              next('BODY ');
              response.value(bodyFromStructure(await message.bodyStructure()));
              return;
            case 'section': {
              const source = await message.section(item.section);
              next(`${item.label} `);
              const length = item.section.range ? Math.min(source.length, item.section.range.count) : source.length;
              if (length > 0) {
                response.literal(length, source.stream);
              } else {
                releaseSource(source.stream);
                response.raw('""');
              }
              return;
            }
          }
        };
        const rendered = new Set(items.map((item) => item.type));
        try {
          for (const item of items) await renderItem(item);
        } catch (error) {
          // Sections opened for this response so far will never be written: release them now.
          discardBodies(response.parts);
          throw error;
        }
        // RFC 3501 §6.4.5: flags changed by the implicit \Seen are reported;
        // with CONDSTORE, UID and MODSEQ go with them (RFC 7162 §3.1).
        if (update) {
          if (!rendered.has('FLAGS')) next(`FLAGS (${(view.isRecent(message.uid) ? ['\\Recent', ...flags] : flags).join(' ')})`);
          if (session.condstore && !rendered.has('UID')) next(`UID ${message.uid}`);
          if (session.condstore && !rendered.has('MODSEQ')) next(`MODSEQ (${modseq})`);
        }
        await session.send(response.raw(')').end());
      }
      for (const pending of view.pendingExpunge) {
        if (!returned.has(pending) && uidSetHas(uids, pending)) {
          return { code: 'EXPUNGEISSUED', text: 'Some messages were expunged by another session; they are gone' };
        }
      }
    },
  });
}

export const fetchCommand = fetchCommandFor(false);
export const uidFetchCommand = fetchCommandFor(true);
