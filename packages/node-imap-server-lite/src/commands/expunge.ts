// EXPUNGE (RFC 3501 §6.4.3) and UID EXPUNGE (RFC 4315 §2.1): the backend
// removes messages with \Deleted (only within the UID set for UID EXPUNGE);
// the session tells the client (EXPUNGE, or VANISHED with QRESYNC) and
// compacts its view once. Once CONDSTORE is on, the tagged OK carries the
// HIGHESTMODSEQ the client is now up to date with (RFC 7162 §3.2.7).

import type { UidSet } from '../uid-set.ts';
import { no } from '../errors.ts';
import type { Session } from '../session/session.ts';
import { defineCommand, selectedState, type CommandResult } from './types.ts';

async function expunge(session: Session, uids: UidSet | undefined): Promise<CommandResult | void> {
  const view = session.requireSelected();
  if (view.readOnly) throw no('The mailbox is read-only', 'CANNOT');
  const expunged = await session.backend.expunge(session.context(), view.handle, uids);
  await session.announceExpunged(expunged);
  if (!session.condstore) return;
  await session.syncSelected({ expunges: true, force: true });
  return { code: `HIGHESTMODSEQ ${view.modseq}`, text: 'EXPUNGE completed' };
}

export const expungeCommand = defineCommand({
  name: 'EXPUNGE',
  states: selectedState,
  parse(args) {
    args.end();
  },
  async run(session) {
    return expunge(session, undefined);
  },
});

export const uidExpungeCommand = defineCommand({
  name: 'UID EXPUNGE',
  states: selectedState,
  parse(args) {
    const set = args.sequenceSet('UID set');
    args.end();
    return set;
  },
  async run(session, set) {
    const view = session.requireSelected();
    const uids = view.resolveUids(set, session.savedSearch);
    if (uids.length === 0) return;
    return expunge(session, uids);
  },
});
