// SELECT and EXAMINE (RFC 3501 §6.3.1, §6.3.2) with the CONDSTORE parameter
// (RFC 7162 §3.1.8) and QRESYNC (RFC 7162 §3.2.5).
//
// Order of the responses: FLAGS, PERMANENTFLAGS, EXISTS, RECENT, UNSEEN,
// UIDVALIDITY, UIDNEXT, HIGHESTMODSEQ (always sent, RFC 7162 §3.1.2.1, since
// CONDSTORE is advertised), then with QRESYNC the VANISHED (EARLIER) and FETCH
// responses that bring the client's cache up to date, then the tagged OK with
// READ-WRITE or READ-ONLY. Selecting closes the mailbox selected before, even
// when the new one fails (RFC 3501 §6.3.1); with QRESYNC enabled the client is
// told so by `OK [CLOSED]` (RFC 7162 §3.2.11).

import { BackendError } from '../backend.ts';
import { bad, no } from '../errors.ts';
import type { ArgReader } from '../protocol/args.ts';
import { ParseError } from '../protocol/parser.ts';
import { parseSequenceSet } from '../protocol/sequence.ts';
import { SelectedMailbox } from '../session/selected.ts';
import type { Session } from '../session/session.ts';
import { formatUidSet, uidSet, uidSetFromSorted, uidSetHas, uidSetSubtract, type UidSet } from '../uid-set.ts';
import { authenticatedStates, defineCommand } from './types.ts';

interface QresyncParams {
  uidValidity: number;
  modseq: number;
  knownUids: UidSet | null;
}

interface SelectArgs {
  mailbox: string;
  condstore: boolean;
  qresync: QresyncParams | null;
}

function parseQresync(list: ArgReader): QresyncParams {
  const uidValidity = list.number('UIDVALIDITY');
  if (uidValidity === 0) throw new ParseError('UIDVALIDITY must be at least 1');
  const modseq = list.modseq('mod-sequence', false);
  let knownUids: UidSet | null = null;
  if (!list.atEnd() && list.peek()?.kind === 'atom') {
    const set = parseSequenceSet(list.atom('known UIDs'), false);
    if (set.ranges.some(([a, b]) => a === '*' || b === '*')) throw new ParseError('known UIDs cannot use "*"');
    knownUids = uidSet(set.ranges as [number, number][]);
  }
  // The sequence match data (RFC 7162 §3.2.5.2) only narrows VANISHED; the
  // exact answer from the change feed makes it unnecessary. Checked, then ignored.
  const match = list.optionalList();
  if (match) {
    match.sequenceSet('known sequence set');
    match.sequenceSet('known UID set');
    match.end();
  }
  list.end();
  return { uidValidity, modseq, knownUids };
}

function selection(name: 'SELECT' | 'EXAMINE', readOnly: boolean) {
  return defineCommand({
    name,
    states: authenticatedStates,
    parse(args, session): SelectArgs {
      const mailbox = args.mailbox('mailbox', session.separator);
      let condstore = false;
      let qresync: QresyncParams | null = null;
      const params = args.optionalList();
      if (params) {
        while (!params.atEnd()) {
          const param = params.atom('select parameter').toUpperCase();
          if (param === 'CONDSTORE') condstore = true;
          else if (param === 'QRESYNC') qresync = parseQresync(params.list('QRESYNC parameters'));
          else throw new ParseError(`unknown ${name} parameter ${param.slice(0, 30)}`);
        }
      }
      args.end();
      return { mailbox, condstore, qresync };
    },
    async run(session, args) {
      if (args.qresync && !session.qresync) throw bad('QRESYNC must be enabled first (ENABLE QRESYNC)', 'CLIENTBUG');
      if (session.selected) {
        await session.leaveSelected();
        if (session.qresync) await session.untagged('OK [CLOSED] Previous mailbox closed');
      }
      if (args.condstore) session.condstore = true;
      return open(session, args, readOnly);
    },
  });
}

async function open(session: Session, args: SelectArgs, readOnlyWanted: boolean) {
  const ctx = session.context();
  let opened;
  try {
    opened = await session.backend.openMailbox(ctx, args.mailbox, { readOnly: readOnlyWanted });
  } catch (error) {
    if (error instanceof BackendError && error.kind === 'NOSELECT') throw no(`${args.mailbox} holds only other mailboxes and cannot be selected`, 'CANNOT');
    throw error;
  }
  const readOnly = readOnlyWanted || opened.readOnly === true;
  const view = new SelectedMailbox(opened.handle, args.mailbox, readOnly, opened.uidValidity, Math.max(1, opened.highestModseq), opened.uids, opened.keywords.filter((flag) => !flag.startsWith('\\')));
  for (const [start, end] of opened.recent) for (let uid = start; uid <= end; uid++) if (view.seqOf(uid) > 0) view.recent.add(uid);
  session.enterSelected(view);

  await session.sendFlags(view);
  await session.untagged(`${view.count} EXISTS`);
  await session.announceRecent(view);
  const firstUnseen = opened.firstUnseenUid ? view.seqOf(opened.firstUnseenUid) : 0;
  if (firstUnseen > 0) await session.untagged(`OK [UNSEEN ${firstUnseen}] First unseen`);
  await session.untagged(`OK [UIDVALIDITY ${view.uidValidity}] UIDs valid`);
  await session.untagged(`OK [UIDNEXT ${Math.max(opened.uidNext, view.lastUid + 1)}] Predicted next UID`);
  await session.untagged(`OK [HIGHESTMODSEQ ${view.modseq}] Highest`);
  if (args.qresync && args.qresync.uidValidity === view.uidValidity) await resync(session, view, args.qresync, Math.max(opened.uidNext, view.lastUid + 1));
  return { code: readOnly ? 'READ-ONLY' : 'READ-WRITE', text: `${readOnly ? 'EXAMINE' : 'SELECT'} completed` };
}

/** RFC 7162 §3.2.5: what changed since the client's MODSEQ, as VANISHED (EARLIER) and FETCH. */
async function resync(session: Session, view: SelectedMailbox, params: QresyncParams, uidNext: number): Promise<void> {
  if (params.modseq >= view.modseq) return;
  const ctx = session.context();
  const known: UidSet = params.knownUids ?? (uidNext > 1 ? [[1, uidNext - 1]] : []);
  // Tombstones from the backend's index when it has one; the feed below then only gives flag changes.
  const fromIndex = session.backend.vanished ? await vanishedSince(session, view, params.modseq, known) : undefined;
  const feed = await session.backend.changes(ctx, view.handle, params.modseq);
  const vanished: number[] = [];
  const changed = new Map<number, { flags: readonly string[]; modseq: number }>();
  for await (const change of feed) {
    if (change.modseq > view.modseq) continue; // newer than the snapshot: the next sync tells it
    if (params.knownUids && !uidSetHas(params.knownUids, change.uid)) continue;
    if (change.kind === 'expunge') {
      if (!fromIndex && view.seqOf(change.uid) === 0) vanished.push(change.uid);
    } else if (view.seqOf(change.uid) > 0) {
      changed.set(change.uid, change);
    }
  }
  const gone = fromIndex ?? uidSetFromSorted(vanished.sort((a, b) => a - b));
  if (gone.length > 0) await session.untagged(`VANISHED (EARLIER) ${formatUidSet(gone)}`);
  for (const uid of [...changed.keys()].sort((a, b) => a - b)) {
    const change = changed.get(uid)!;
    await session.sendFlagsFetch(view, view.seqOf(uid), uid, change.flags, change.modseq, true);
  }
}

/**
 * VANISHED (EARLIER) from the backend's tombstone index, without the UIDs this
 * session still numbers (those are told by EXPUNGE/VANISHED in their turn).
 * When the backend no longer has tombstones that old, every UID of `within`
 * that the mailbox does not hold is reported: RFC 7162 §3.2.5.2 and §3.2.6 let
 * a server name UIDs the client never had, and a client must not keep a
 * message the server cannot vouch for.
 */
export async function vanishedSince(session: Session, view: SelectedMailbox, sinceModseq: number, within: UidSet): Promise<UidSet> {
  const expunged = await session.backend.vanished!(session.context(), view.handle, sinceModseq, within);
  return uidSetSubtract(expunged ?? within, view.allUids());
}

export const selectCommand = selection('SELECT', false);
export const examineCommand = selection('EXAMINE', true);
