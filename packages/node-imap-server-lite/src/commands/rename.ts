// RENAME (RFC 3501 §6.3.5): the children move with their parent (the
// backend's job); renaming INBOX moves its messages and leaves it empty.

import { no } from '../errors.ts';
import { authenticatedStates, defineCommand } from './types.ts';

export const renameCommand = defineCommand({
  name: 'RENAME',
  states: authenticatedStates,
  parse(args, session) {
    const from = args.mailbox('existing mailbox', session.separator);
    let to = args.mailbox('new mailbox', session.separator);
    args.end();
    while (to.endsWith(session.separator)) to = to.slice(0, -1);
    return { from, to };
  },
  async run(session, { from, to }) {
    if (to === 'INBOX') throw no('INBOX already exists', 'ALREADYEXISTS');
    if (to === '' || to.split(session.separator).some((level) => level === '') || /[*%]/.test(to)) throw no('That is not a valid mailbox name', 'CANNOT');
    if (from !== 'INBOX' && to.startsWith(from + session.separator)) throw no('A mailbox cannot be moved into itself', 'CANNOT');
    await session.backend.renameMailbox(session.context(), from, to);
  },
});
