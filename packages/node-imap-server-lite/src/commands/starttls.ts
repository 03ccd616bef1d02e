// STARTTLS (RFC 3501 §6.2.1): only on a plain connection, and only when the
// application gave a TLS context. The tagged OK is written in clear, then the
// socket is upgraded; anything the client pipelined after STARTTLS is thrown
// away unread, so that an attacker cannot inject commands that would run
// inside the TLS session.

import { bad } from '../errors.ts';
import { defineCommand } from './types.ts';

export const starttlsCommand = defineCommand({
  name: 'STARTTLS',
  states: ['not-authenticated'],
  capability: 'STARTTLS',
  parse(args) {
    args.end();
  },
  async run(session, _args, { tag }) {
    if (session.tlsActive || !session.options.tls) throw bad('TLS is already active');
    await session.tagged(tag, 'OK', undefined, 'Begin TLS negotiation now');
    await session.writer.idle();
    await session.upgradeToTls();
    return { handled: true };
  },
});
