// COPY, UID COPY (RFC 3501 §6.4.7) and MOVE, UID MOVE (RFC 6851), with
// COPYUID (RFC 4315 §3).
//
// - UIDs that no longer exist are skipped; if none is left the command
//   answers OK with no effect (iOS: a NO brings deleted mail back).
// - A missing destination is NO [TRYCREATE]; a \Noselect one is NO [CANNOT]
//   with a message saying it holds only folders (Outlook files mail there).
// - MOVE sends COPYUID untagged, then the EXPUNGEs (or VANISHED) of the moved
//   messages, then the tagged OK (RFC 6851 §4.3).

import { BackendError } from '../backend.ts';
import { no } from '../errors.ts';
import type { SequenceSet } from '../protocol/sequence.ts';
import { formatUidSet, uidSetIsEmpty } from '../uid-set.ts';
import { defineCommand, selectedState } from './types.ts';

function copyCommandFor(move: boolean, uid: boolean) {
  const verb = move ? 'MOVE' : 'COPY';
  return defineCommand({
    name: uid ? `UID ${verb}` : verb,
    states: selectedState,
    parse(args, session): { set: SequenceSet; destination: string } {
      const set = args.sequenceSet('sequence set');
      const destination = args.mailbox('destination mailbox', session.separator);
      args.end();
      return { set, destination };
    },
    async run(session, { set, destination }) {
      const view = session.requireSelected();
      if (move && view.readOnly) throw no('The mailbox is read-only', 'CANNOT');
      const uids = uid ? view.resolveUids(set, session.savedSearch) : view.resolveSequence(set, session.savedSearch, true);
      if (uids.length === 0) return { text: `${verb} completed; no messages` };
      let result;
      try {
        result = await session.backend.copy(session.context(), view.handle, uids, destination, { move });
      } catch (error) {
        if (error instanceof BackendError && error.kind === 'NONEXISTENT') throw no(`Mailbox ${destination} does not exist`, 'TRYCREATE');
        if (error instanceof BackendError && error.kind === 'NOSELECT') throw no(`Mailbox ${destination} holds only other mailboxes and cannot hold messages`, 'CANNOT');
        throw error;
      }
      if (uidSetIsEmpty(result.source)) return { text: `${verb} completed; the messages no longer exist` };
      const copyUid = `COPYUID ${result.uidValidity} ${formatUidSet(result.source)} ${formatUidSet(result.destination)}`;
      if (!move) return { code: copyUid, text: 'COPY completed' };
      await session.untagged(`OK [${copyUid}] Moved`);
      await session.announceExpunged(result.source);
      return { text: 'MOVE completed' };
    },
  });
}

export const copyCommand = copyCommandFor(false, false);
export const uidCopyCommand = copyCommandFor(false, true);
export const moveCommand = copyCommandFor(true, false);
export const uidMoveCommand = copyCommandFor(true, true);
