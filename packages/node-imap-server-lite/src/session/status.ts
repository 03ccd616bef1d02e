// STATUS items (RFC 3501 §6.3.10, RFC 7162 HIGHESTMODSEQ, RFC 8438 SIZE,
// RFC 9051 DELETED, RFC 7889 APPENDLIMIT, RFC 9208 §4.1.4 DELETED-STORAGE),
// shared by STATUS and LIST-STATUS (RFC 5819). DELETED-STORAGE exists where
// QUOTA=RES-STORAGE is advertised (RFC 9208 §5.1 requires it there).

import { CommandError } from '../errors.ts';
import type { ArgReader } from '../protocol/args.ts';
import { ResponseBuilder } from '../protocol/encode.ts';
import { ParseError } from '../protocol/parser.ts';
import { quotaResources } from './capabilities.ts';
import type { Session } from './session.ts';

const items = ['MESSAGES', 'RECENT', 'UIDNEXT', 'UIDVALIDITY', 'UNSEEN', 'HIGHESTMODSEQ', 'SIZE', 'DELETED', 'APPENDLIMIT', 'DELETED-STORAGE'] as const;
export type StatusItem = (typeof items)[number];
const known = new Set<string>(items);

export function parseStatusItems(list: ArgReader, session: Session): StatusItem[] {
  const result: StatusItem[] = [];
  while (!list.atEnd()) {
    const item = list.atom('status item').toUpperCase();
    if (!known.has(item) || (item === 'DELETED-STORAGE' && !quotaResources(session.options).includes('STORAGE'))) throw new ParseError(`unknown STATUS item ${item.slice(0, 30)}`);
    if (!result.includes(item as StatusItem)) result.push(item as StatusItem);
  }
  if (result.length === 0) throw new ParseError('STATUS needs at least one item');
  return result;
}

/** `* STATUS name (item value ...)` for one mailbox, in the order the items were asked. */
export async function writeStatus(session: Session, name: string, wanted: readonly StatusItem[]): Promise<void> {
  const status = await session.backend.status(session.context(), name);
  const values: Record<StatusItem, number | null> = {
    MESSAGES: status.messages,
    RECENT: status.recent,
    UIDNEXT: status.uidNext,
    UIDVALIDITY: status.uidValidity,
    UNSEEN: status.unseen,
    HIGHESTMODSEQ: status.highestModseq,
    SIZE: status.size ?? 0,
    DELETED: status.deleted ?? 0,
    APPENDLIMIT: session.options.appendLimit,
    'DELETED-STORAGE': null,
  };
  if (wanted.includes('DELETED-STORAGE')) {
    if (!status.deletedStorage) throw new CommandError('NO', 'SERVERBUG', 'The backend declares the STORAGE quota resource but cannot tell DELETED-STORAGE');
    values['DELETED-STORAGE'] = await status.deletedStorage();
  }
  const response = new ResponseBuilder().raw('* STATUS ');
  session.writeMailbox(response, name).raw(' (');
  response.raw(wanted.map((item) => `${item} ${values[item] ?? 'NIL'}`).join(' '));
  await session.send(response.raw(')').end());
}
