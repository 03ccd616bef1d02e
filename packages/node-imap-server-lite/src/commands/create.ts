// CREATE (RFC 3501 §6.3.3) with CREATE-SPECIAL-USE (RFC 6154 §3):
// `CREATE name (USE (\Sent))`. A trailing separator means "a mailbox meant to
// hold children" and is dropped; the backend creates missing parents.

import type { SpecialUse } from '../backend.ts';
import { bad, no } from '../errors.ts';
import { ParseError } from '../protocol/parser.ts';
import { authenticatedStates, defineCommand } from './types.ts';

const specialUses = new Map<string, SpecialUse>(['\\All', '\\Archive', '\\Drafts', '\\Flagged', '\\Junk', '\\Sent', '\\Trash'].map((use) => [use.toUpperCase(), use as SpecialUse]));

export const createCommand = defineCommand({
  name: 'CREATE',
  states: authenticatedStates,
  parse(args, session) {
    let mailbox = args.mailbox('mailbox', session.separator);
    let specialUse: SpecialUse | undefined;
    const params = args.optionalList();
    if (params) {
      while (!params.atEnd()) {
        const param = params.atom('create parameter').toUpperCase();
        if (param !== 'USE') throw new ParseError(`unknown CREATE parameter ${param.slice(0, 20)}`);
        const uses = params.list('special uses');
        while (!uses.atEnd()) {
          const use = uses.atom('special use');
          const known = specialUses.get(use.toUpperCase());
          if (!known) throw no(`${use.slice(0, 20)} is not a special use this server knows`, 'USEATTR');
          if (specialUse && specialUse !== known) throw no('A mailbox can have one special use here', 'USEATTR');
          specialUse = known;
        }
      }
    }
    args.end();
    while (mailbox.endsWith(session.separator)) mailbox = mailbox.slice(0, -1);
    if (mailbox === '') throw bad('The mailbox name is empty');
    return { mailbox, specialUse };
  },
  async run(session, { mailbox, specialUse }) {
    if (mailbox === 'INBOX') throw no('INBOX always exists', 'ALREADYEXISTS');
    if (mailbox.split(session.separator).some((level) => level === '')) throw no('A mailbox name cannot have an empty level', 'CANNOT');
    if (/[*%]/.test(mailbox)) throw no('A mailbox name cannot contain * or %', 'CANNOT');
    await session.backend.createMailbox(session.context(), mailbox, specialUse ? { specialUse } : {});
  },
});
