// STATUS (RFC 3501 §6.3.10). Asking for HIGHESTMODSEQ is a CONDSTORE-enabling
// command (RFC 7162 §3.1). A \Noselect or missing mailbox is answered NO.

import { parseStatusItems, writeStatus } from '../session/status.ts';
import { authenticatedStates, defineCommand } from './types.ts';

export const statusCommand = defineCommand({
  name: 'STATUS',
  states: authenticatedStates,
  parse(args, session) {
    const mailbox = args.mailbox('mailbox', session.separator);
    const items = parseStatusItems(args.list('status items'), session);
    args.end();
    return { mailbox, items };
  },
  async run(session, { mailbox, items }) {
    if (items.includes('HIGHESTMODSEQ')) await session.enableCondstore();
    await writeStatus(session, mailbox, items);
  },
});
