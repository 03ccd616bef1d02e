// CLOSE (RFC 3501 §6.4.2) expunges \Deleted messages without EXPUNGE
// responses (unless the mailbox is read-only) and leaves the selected state;
// UNSELECT (RFC 3691) only leaves it.

import { defineCommand, selectedState } from './types.ts';

export const closeCommand = defineCommand({
  name: 'CLOSE',
  states: selectedState,
  parse(args) {
    args.end();
  },
  async run(session) {
    const view = session.requireSelected();
    if (!view.readOnly) await session.backend.expunge(session.context(), view.handle);
    await session.leaveSelected();
  },
});

export const unselectCommand = defineCommand({
  name: 'UNSELECT',
  states: selectedState,
  parse(args) {
    args.end();
  },
  async run(session) {
    await session.leaveSelected();
  },
});
