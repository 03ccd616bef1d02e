// NOOP (RFC 3501 §6.1.2) and CHECK (§6.4.1): both ask for the selected
// mailbox's news. The session reads the change feed before every tagged
// response when it was told of a change; these two read it unconditionally,
// for clients that poll.

import { anyState, defineCommand, selectedState } from './types.ts';

export const noopCommand = defineCommand({
  name: 'NOOP',
  states: anyState,
  parse(args) {
    args.end();
  },
  async run(session) {
    if (session.selected) await session.syncSelected({ expunges: true, force: true });
  },
});

export const checkCommand = defineCommand({
  name: 'CHECK',
  states: selectedState,
  parse(args) {
    args.end();
  },
  async run(session) {
    await session.syncSelected({ expunges: true, force: true });
  },
});
