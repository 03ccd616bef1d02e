// DELETE (RFC 3501 §6.3.4). INBOX cannot be deleted.
//
// Deleting the selected mailbox: for other sessions the backend's change feed
// reports it gone and they end with BYE (RFC 2180 §3.3). The session that
// deletes its own selected mailbox gets its tagged OK first, then the same
// BYE, since nothing it believes about the mailbox holds any more (Dovecot
// does the same).

import { no } from '../errors.ts';
import { authenticatedStates, defineCommand } from './types.ts';

export const deleteCommand = defineCommand({
  name: 'DELETE',
  states: authenticatedStates,
  parse(args, session) {
    const mailbox = args.mailbox('mailbox', session.separator);
    args.end();
    return mailbox;
  },
  async run(session, mailbox, { tag }) {
    if (mailbox === 'INBOX') throw no('INBOX cannot be deleted', 'CANNOT');
    const ownSelected = session.selected?.name === mailbox;
    await session.backend.deleteMailbox(session.context(), mailbox);
    if (!ownSelected) return;
    await session.leaveSelected();
    await session.tagged(tag, 'OK', undefined, 'DELETE completed').catch(() => {});
    await session.shutdown('The selected mailbox was deleted');
    return { handled: true };
  },
});
