// DELETE (RFC 3501 §6.3.4). INBOX cannot be deleted. Deleting the selected
// mailbox is allowed; the session notices through its change feed.

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
  async run(session, mailbox) {
    if (mailbox === 'INBOX') throw no('INBOX cannot be deleted', 'CANNOT');
    await session.backend.deleteMailbox(session.context(), mailbox);
  },
});
