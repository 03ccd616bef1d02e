// LOGOUT (RFC 3501 §6.1.3): BYE, then the tagged OK, then the connection
// closes. A barrier: nothing the client pipelined after it is read.

import { anyState, defineCommand } from './types.ts';

export const logoutCommand = defineCommand({
  name: 'LOGOUT',
  states: anyState,
  parse(args) {
    args.end();
  },
  async run(session, _args, { tag }) {
    session.state = 'logout';
    await session.untagged('BYE Logging out');
    await session.tagged(tag, 'OK', undefined, 'LOGOUT completed');
    session.close();
    return { handled: true };
  },
});
