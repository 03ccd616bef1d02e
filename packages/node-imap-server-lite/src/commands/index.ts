// The command table: IMAP command name (with "UID " for the UID forms) to the
// command that implements it. A command missing here is answered BAD.

import { appendCommand } from './append.ts';
import { authenticateCommand } from './authenticate.ts';
import { capabilityCommand } from './capability.ts';
import { closeCommand, unselectCommand } from './close.ts';
import { copyCommand, moveCommand, uidCopyCommand, uidMoveCommand } from './copy.ts';
import { createCommand } from './create.ts';
import { deleteCommand } from './delete.ts';
import { enableCommand } from './enable.ts';
import { expungeCommand, uidExpungeCommand } from './expunge.ts';
import { fetchCommand, uidFetchCommand } from './fetch.ts';
import { idCommand } from './id.ts';
import { idleCommand } from './idle.ts';
import { listCommand, lsubCommand } from './list.ts';
import { loginCommand } from './login.ts';
import { logoutCommand } from './logout.ts';
import { namespaceCommand } from './namespace.ts';
import { checkCommand, noopCommand } from './noop.ts';
import { getQuotaCommand, getQuotaRootCommand, setQuotaCommand } from './quota.ts';
import { renameCommand } from './rename.ts';
import { searchCommand, uidSearchCommand } from './search.ts';
import { examineCommand, selectCommand } from './select.ts';
import { sortCommand, uidSortCommand } from './sort.ts';
import { starttlsCommand } from './starttls.ts';
import { statusCommand } from './status.ts';
import { storeCommand, uidStoreCommand } from './store.ts';
import { subscribeCommand, unsubscribeCommand } from './subscribe.ts';
import type { ImapCommand } from './types.ts';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- each command has its own argument type
const commands: ImapCommand<any>[] = [
  // any state (RFC 3501 §6.1)
  capabilityCommand,
  noopCommand,
  logoutCommand,
  idCommand,
  // not authenticated (§6.2)
  starttlsCommand,
  authenticateCommand,
  loginCommand,
  // authenticated (§6.3)
  enableCommand,
  selectCommand,
  examineCommand,
  createCommand,
  deleteCommand,
  renameCommand,
  subscribeCommand,
  unsubscribeCommand,
  listCommand,
  lsubCommand,
  namespaceCommand,
  statusCommand,
  appendCommand,
  idleCommand,
  getQuotaCommand,
  getQuotaRootCommand,
  setQuotaCommand,
  // selected (§6.4)
  checkCommand,
  closeCommand,
  unselectCommand,
  expungeCommand,
  uidExpungeCommand,
  searchCommand,
  uidSearchCommand,
  sortCommand,
  uidSortCommand,
  fetchCommand,
  uidFetchCommand,
  storeCommand,
  uidStoreCommand,
  copyCommand,
  uidCopyCommand,
  moveCommand,
  uidMoveCommand,
];

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- as above
export const commandTable: ReadonlyMap<string, ImapCommand<any>> = new Map(commands.map((command) => [command.name, command]));
