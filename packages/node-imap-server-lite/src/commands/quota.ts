// GETQUOTA, GETQUOTAROOT and SETQUOTA (RFC 9208 §4.1). Quotas are the
// application's policy: SETQUOTA is refused (QUOTASET is not advertised).
// Offered only when the backend implements both quota methods.

import { no } from '../errors.ts';
import { ResponseBuilder } from '../protocol/encode.ts';
import type { QuotaRoot } from '../backend.ts';
import type { Session } from '../session/session.ts';
import { authenticatedStates, defineCommand } from './types.ts';

async function writeQuota(session: Session, root: QuotaRoot): Promise<void> {
  const response = new ResponseBuilder().raw('* QUOTA ').string(root.name).raw(' (');
  response.raw(root.resources.map((resource) => `${resource.name} ${Math.floor(resource.usage)} ${Math.floor(resource.limit)}`).join(' '));
  await session.send(response.raw(')').end());
}

export const getQuotaCommand = defineCommand({
  name: 'GETQUOTA',
  states: authenticatedStates,
  capability: 'QUOTA',
  parse(args) {
    const root = args.astring('quota root');
    args.end();
    return root;
  },
  async run(session, rootName) {
    const root = await session.backend.getQuota!(session.context(), rootName);
    if (!root) throw no(`No quota root ${rootName.slice(0, 60)}`, 'NONEXISTENT');
    await writeQuota(session, root);
  },
});

export const getQuotaRootCommand = defineCommand({
  name: 'GETQUOTAROOT',
  states: authenticatedStates,
  capability: 'QUOTA',
  parse(args, session) {
    const mailbox = args.mailbox('mailbox', session.separator);
    args.end();
    return mailbox;
  },
  async run(session, mailbox) {
    const roots = await session.backend.getQuotaRoots!(session.context(), mailbox);
    const line = new ResponseBuilder().raw('* QUOTAROOT ');
    session.writeMailbox(line, mailbox);
    for (const root of roots) line.raw(' ').string(root.name);
    await session.send(line.end());
    for (const root of roots) await writeQuota(session, root);
  },
});

export const setQuotaCommand = defineCommand({
  name: 'SETQUOTA',
  states: authenticatedStates,
  capability: 'QUOTA',
  parse(args) {
    args.astring('quota root');
    args.list('resource limits');
    args.end();
  },
  async run() {
    throw no('Quotas are set by the administrator', 'NOPERM');
  },
});
