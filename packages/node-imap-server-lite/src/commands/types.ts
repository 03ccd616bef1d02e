// What a command is: the states it is valid in, its argument schema (a parse
// function over an ArgReader) and its handler. One file per command (or per
// family: SELECT/EXAMINE, COPY/MOVE), one table (index.ts) from name to command.
//
// A handler returns the tagged response (OK by default) or throws
// CommandError/ParseError/BackendError; it writes untagged responses itself.
// It never writes the tagged response, except the few that must control what
// happens after it (LOGOUT, STARTTLS), which return `{ handled: true }`.

import type { ArgReader } from '../protocol/args.ts';
import type { MessageLiteral } from '../protocol/reader.ts';
import type { Session } from '../session/session.ts';

export type SessionState = 'not-authenticated' | 'authenticated' | 'selected' | 'logout';

export const anyState: readonly SessionState[] = ['not-authenticated', 'authenticated', 'selected'];
export const authenticatedStates: readonly SessionState[] = ['authenticated', 'selected'];
export const selectedState: readonly SessionState[] = ['selected'];

export interface CommandResult {
  status?: 'OK' | 'NO' | 'BAD';
  code?: string;
  text?: string;
  /** The handler wrote its tagged response itself. */
  handled?: boolean;
}

export interface CommandInput {
  tag: string;
  /** APPEND's streamed message literal. */
  message?: MessageLiteral;
}

export interface ImapCommand<Args = unknown> {
  /** As in the table: "FETCH", "UID FETCH". */
  name: string;
  states: readonly SessionState[];
  /**
   * Whether EXPUNGE responses may be sent before this command's tagged
   * response. RFC 3501 §7.4.1 forbids it during FETCH, STORE and SEARCH
   * (sequence numbers in their responses would shift under the client); the
   * UID forms are exempt.
   */
  expunges?: boolean;
  /** The capability that offers the command; without it the command is unknown. */
  capability?: string;
  parse(args: ArgReader, session: Session): Args;
  run(session: Session, args: Args, input: CommandInput): Promise<CommandResult | void>;
}

export function defineCommand<Args>(command: ImapCommand<Args>): ImapCommand<Args> {
  return command;
}
