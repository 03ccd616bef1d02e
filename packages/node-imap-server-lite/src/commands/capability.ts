// CAPABILITY (RFC 3501 §6.1.1): the list depends on the connection (capabilities.ts).

import { anyState, defineCommand } from './types.ts';

export const capabilityCommand = defineCommand({
  name: 'CAPABILITY',
  states: anyState,
  parse(args) {
    args.end();
  },
  async run(session) {
    await session.untagged(`CAPABILITY ${session.capabilities().join(' ')}`);
  },
});
