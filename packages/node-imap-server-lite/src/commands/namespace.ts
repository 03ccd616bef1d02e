// NAMESPACE (RFC 2342): one personal namespace, "" with the server's
// separator; no other users' or shared namespaces.

import { ResponseBuilder } from '../protocol/encode.ts';
import { authenticatedStates, defineCommand } from './types.ts';

export const namespaceCommand = defineCommand({
  name: 'NAMESPACE',
  states: authenticatedStates,
  parse(args) {
    args.end();
  },
  async run(session) {
    await session.send(new ResponseBuilder().raw('* NAMESPACE (("" ').string(session.separator).raw(')) NIL NIL').end());
  },
});
