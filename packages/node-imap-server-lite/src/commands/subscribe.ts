// SUBSCRIBE and UNSUBSCRIBE (RFC 3501 §6.3.6, §6.3.7).

import { authenticatedStates, defineCommand } from './types.ts';

function subscription(name: 'SUBSCRIBE' | 'UNSUBSCRIBE', subscribed: boolean) {
  return defineCommand({
    name,
    states: authenticatedStates,
    parse(args, session) {
      const mailbox = args.mailbox('mailbox', session.separator);
      args.end();
      return mailbox;
    },
    async run(session, mailbox) {
      await session.backend.setSubscribed(session.context(), mailbox, subscribed);
    },
  });
}

export const subscribeCommand = subscription('SUBSCRIBE', true);
export const unsubscribeCommand = subscription('UNSUBSCRIBE', false);
