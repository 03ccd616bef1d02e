// APPEND (RFC 3501 §6.3.11) with UIDPLUS's APPENDUID (RFC 4315 §3), the
// APPENDLIMIT (RFC 7889, enforced by the reader before "+") and UTF8=ACCEPT's
// `UTF8 (~{n})` form (RFC 6855 §4).
//
// The message is never held: the reader delivers APPEND as soon as the
// literal's size is known, and the octets stream into the backend as they
// arrive. For a synchronizing literal the "+" is sent only when the backend
// starts reading, so a refusal (no such mailbox, \Noselect, quota) costs the
// client nothing; octets that arrive anyway are discarded by the reader.

import { BackendError } from '../backend.ts';
import { bad, no } from '../errors.ts';
import { ParseError, type StreamNode } from '../protocol/parser.ts';
import { authenticatedStates, defineCommand } from './types.ts';

export const appendCommand = defineCommand({
  name: 'APPEND',
  states: authenticatedStates,
  parse(args, session) {
    const mailbox = args.mailbox('mailbox', session.separator);
    let flags: string[] = [];
    let date: Date | undefined;
    const flagList = args.optionalList();
    if (flagList) while (!flagList.atEnd()) flags.push(flagList.flag('flag'));
    if (args.peek()?.kind === 'string') date = args.dateTime('date-time');
    let message: StreamNode;
    if (args.peekAtom() === 'UTF8') {
      args.atom('UTF8');
      const inner = args.list('UTF8 message');
      message = inner.stream('message');
      inner.end();
    } else {
      message = args.stream('message');
      if (message.literal.binary) throw new ParseError('literal8 needs the UTF8 (~{n}) form; BINARY is not supported');
    }
    args.end();
    flags = [...new Set(flags.filter((flag) => flag !== '\\Recent'))];
    if (flags.includes('\\*')) throw new ParseError('\\* is not a flag');
    return { mailbox, flags, date, message };
  },
  async run(session, { mailbox, flags, date, message }) {
    const ctx = session.context();
    try {
      const result = await session.backend.append(ctx, mailbox, { content: message.literal.stream, size: message.literal.size, flags, internalDate: date });
      return { code: `APPENDUID ${result.uidValidity} ${result.uid}`, text: 'APPEND completed' };
    } catch (error) {
      if (error instanceof ParseError) throw bad(error.message);
      if (error instanceof BackendError && error.kind === 'NONEXISTENT') throw no(`Mailbox ${mailbox} does not exist`, 'TRYCREATE');
      if (error instanceof BackendError && error.kind === 'NOSELECT') throw no(`Mailbox ${mailbox} holds only other mailboxes and cannot hold messages`, 'CANNOT');
      throw error;
    }
  },
});
