// node-imap-server-lite: an IMAP4rev1 server protocol library (RFC 3501 and
// the extensions listed in README.md) over a typed, streaming storage backend.
// It parses IMAP, keeps session and selected-mailbox state, and writes
// responses; the application implements ImapBackend (backend.ts).

export { ImapServer, type ListenOptions } from './server.ts';
export type { AuthFailureEvent, AuthSuccessEvent, ImapLogger, ImapServerOptions } from './options.ts';
export * from './backend.ts';
export {
  formatUidSet,
  maxUid,
  uidSet,
  uidSetFromSorted,
  uidSetFromUids,
  uidSetHas,
  uidSetIntersect,
  uidSetIsEmpty,
  uidSetSize,
  uidSetSubtract,
  uidSetUnion,
  uidSetValues,
} from './uid-set.ts';
export { decodeMailboxUtf7, encodeMailboxUtf7 } from './protocol/utf7.ts';
export { formatDateTime, parseDateTime } from './protocol/dates.ts';
export { bodyFromStructure } from './fetch/body.ts';
export type { Session } from './session/session.ts';
// The fallback matcher's text and sort semantics, for a backend that answers
// SEARCH and SORT itself and must agree with it exactly (Mailnest's index).
export { addressSearchText } from './search/addresses.ts';
export { bodyText, decodeEncodedWords, parseHeader, splitHeader, type HeaderField } from './search/mime-text.ts';
export { baseSubject, compareRows, sortKeys, sortRow, type SortRow } from './search/sort.ts';
export { compareDay, encodedHints, maxBodyBytes, maxHeaderBytes } from './search/match.ts';
export { parseHeaderDate, utcDayOf } from './protocol/dates.ts';
