// The storage backend interface: everything the library asks of the
// application. The library parses IMAP, keeps the session and the selected
// mailbox's sequence numbers, and writes responses; the backend keeps mail.
//
// Contract, for whoever implements it:
// - Mailbox names are full names in UTF-8 (NFC is the backend's choice), with
//   the server's hierarchy separator (option `separator`, "/" by default).
//   "INBOX" is always spelt "INBOX": the library upper-cases it in any case,
//   and the backend receives and returns it that way. Wire encodings (modified
//   UTF-7) never reach the backend.
// - UID sets are sorted, merged ranges (uid-set.ts), never expanded arrays: a
//   mailbox may hold 100,000 messages. A set may name UIDs that do not exist
//   (any more); those are skipped silently, never an error.
// - Flags are strings. System flags are spelt \Seen \Answered \Flagged \Deleted
//   \Draft (the library canonicalises the case); anything else is a keyword.
//   \Recent is never a stored flag: the backend only decides which session
//   claims a message as recent (openMailbox, claimRecent), the library shows it.
// - UIDs and MODSEQs are allocated together, atomically, per mailbox; every
//   change to a message (new, flags, expunge) gets a MODSEQ greater than any
//   before it, and `changes()` replays them in MODSEQ order. Expunged messages
//   leave a tombstone (uid, modseq) so that QRESYNC can report VANISHED.
// - Every call that changes a mailbox wakes the sessions that `watch()` it,
//   after the change is durable. A missed or merged wake-up loses nothing,
//   because sessions read `changes()` since the last MODSEQ they showed.
// - Failures the user should see are thrown as BackendError with a kind; any
//   other exception becomes `NO [SERVERBUG]` and an `error` event.
// - Methods that return many items may return an array, any iterable or an
//   async iterable; the library consumes them one at a time.
// - Message octets are handed over as `{ length, stream }` with an exact length,
//   opened when asked for, so the library writes `{length}` and then pipes.

import type { Readable } from 'node:stream';
import type { ImapValue } from './protocol/encode.ts';
import type { UidSet } from './uid-set.ts';

export type { ImapValue } from './protocol/encode.ts';
export type { UidRange, UidSet } from './uid-set.ts';

/** An array, an iterable or an async iterable. */
export type Items<T> = Iterable<T> | AsyncIterable<T>;
type MaybePromise<T> = T | Promise<T>;

/** Who is asking; passed to every call made for a logged-in session. */
export interface SessionContext<User> {
  /** The connection id, as in the library's log lines. */
  readonly id: string;
  readonly user: User;
  readonly remoteAddress: string;
  /** TLS, or a connection the `isSecure` option trusts (loopback by default). */
  readonly secure: boolean;
}

// ---- authentication ----

export interface AuthRequest {
  /** LOGIN (RFC 3501 §6.2.3) or AUTHENTICATE PLAIN (RFC 4616). */
  mechanism: 'LOGIN' | 'PLAIN';
  /** The authentication identity, as the client sent it. */
  username: string;
  password: string;
  /** PLAIN's authorization identity, when the client gave one different from the username. */
  authorizationId?: string;
  sessionId: string;
  remoteAddress: string;
  secure: boolean;
}

export type AuthResult<User> =
  | { ok: true; user: User }
  /** `unavailable` answers `NO [UNAVAILABLE]` and is not counted as a failed login. */
  | { ok: false; reason?: 'credentials' | 'disabled' | 'unavailable' };

// ---- mailboxes ----

/** RFC 6154 mailbox roles. */
export type SpecialUse = '\\All' | '\\Archive' | '\\Drafts' | '\\Flagged' | '\\Junk' | '\\Sent' | '\\Trash';

export interface MailboxInfo {
  name: string;
  specialUse?: SpecialUse | null;
  subscribed: boolean;
  /** Exists only to hold children: LIST shows \Noselect, SELECT/APPEND/COPY are refused. */
  noselect?: boolean;
  /** A subscription whose mailbox does not exist (LIST shows \NonExistent with SUBSCRIBED). */
  nonexistent?: boolean;
}

export interface MailboxStatus {
  messages: number;
  /** Messages no session has claimed as \Recent yet. */
  recent: number;
  uidNext: number;
  uidValidity: number;
  unseen: number;
  highestModseq: number;
  /** Total octets of the messages (STATUS SIZE, RFC 9051 / RFC 8438). */
  size?: number;
  /** Messages with \Deleted (STATUS DELETED, RFC 9051). */
  deleted?: number;
  /**
   * Octets an EXPUNGE would free (STATUS DELETED-STORAGE, RFC 9208 §4.1.4),
   * asked for only when a client wants it. Required when the backend declares
   * the STORAGE quota resource (RFC 9208 §5.1).
   */
  deletedStorage?: () => number | Promise<number>;
}

export interface OpenedMailbox<Mailbox> {
  /** Whatever identifies the open mailbox to the backend; passed back on every call about it. */
  handle: Mailbox;
  uidValidity: number;
  uidNext: number;
  /** At least 1 (RFC 7162 §3.1.2.1). */
  highestModseq: number;
  /** Every UID in the mailbox, ascending. */
  uids: Uint32Array | readonly number[];
  /**
   * The UIDs that are \Recent for this session: for a read-write open, the
   * ones it claimed (no other session may get them); for a read-only open, the
   * ones nobody has claimed yet, shown without claiming (RFC 3501 §2.3.2).
   */
  recent: UidSet;
  /** Keywords in use in the mailbox, for the FLAGS response; system flags are added by the library. */
  keywords: readonly string[];
  /** The UID of the first message without \Seen, for `[UNSEEN n]`. */
  firstUnseenUid?: number | null;
  /** The backend may insist on read-only (EXAMINE semantics). */
  readOnly?: boolean;
}

/** One entry of a mailbox's change feed, in MODSEQ order. */
export type MailboxChange =
  /** A message that is new or whose flags changed, with its current flags. */
  | { kind: 'message'; uid: number; modseq: number; flags: readonly string[] }
  /** A tombstone: the message was expunged. */
  | { kind: 'expunge'; uid: number; modseq: number };

// ---- messages ----

export interface MessageMeta {
  uid: number;
  modseq: number;
  flags: readonly string[];
  internalDate: Date;
  /** RFC822.SIZE: the exact octet count of the message as FETCH BODY[] returns it. */
  size: number;
}

/** A body section (RFC 3501 §6.4.5 `section`). */
export interface SectionRequest {
  /** MIME part numbers: [] is the whole message, [1, 2] is part 1.2. */
  part: readonly number[];
  /** Absent: the whole part (for [] the whole message). */
  text?: 'HEADER' | 'TEXT' | 'MIME' | 'HEADER.FIELDS' | 'HEADER.FIELDS.NOT';
  /** Upper-cased field names for HEADER.FIELDS and HEADER.FIELDS.NOT. */
  fields?: readonly string[];
  /** `<offset.count>`: the backend returns at most `count` octets from `offset` (none when offset is past the end). */
  range?: { offset: number; count: number };
}

/** Octets with their exact count, known before the first one is read. */
export interface ByteSource {
  length: number;
  stream: Readable | AsyncIterable<Uint8Array> | Buffer;
}

export interface FetchedMessage extends MessageMeta {
  /** RFC 3501 §7.4.2 ENVELOPE as nested values (strings, numbers, null for NIL, arrays for lists). */
  envelope(): MaybePromise<ImapValue>;
  /** BODYSTRUCTURE with extension data; the library derives BODY from it. */
  bodyStructure(): MaybePromise<ImapValue>;
  /** A section's octets; a part the message does not have is an empty source. */
  section(request: SectionRequest): MaybePromise<ByteSource>;
}

export interface FetchOptions {
  /** Only messages whose MODSEQ is greater (RFC 7162 §3.1.4.1 CHANGEDSINCE). */
  changedSince?: number;
  /** What will be asked of each message, so that the backend can load it in one go. */
  want: { envelope?: boolean; bodyStructure?: boolean; sections?: boolean };
}

export interface StoreRequest {
  operation: 'add' | 'remove' | 'replace';
  flags: readonly string[];
  /** RFC 7162 §3.1.3: leave alone messages whose MODSEQ is greater. */
  unchangedSince?: number;
}

export interface StoredMessage {
  uid: number;
  modseq: number;
  flags: readonly string[];
  /**
   * `updated`: the flags changed (modseq is the new one); `unchanged`: they
   * already were so; `modified`: held back by unchangedSince (reported in
   * `[MODIFIED]`).
   */
  status: 'updated' | 'unchanged' | 'modified';
}

export interface AppendMessage {
  /** The message octets; the backend must read it to the end or destroy it. */
  content: Readable;
  /** The exact octet count of `content`. */
  size: number;
  flags: readonly string[];
  /** Defaults to now. */
  internalDate?: Date;
}

export interface CopyResult {
  /** UIDVALIDITY of the destination. */
  uidValidity: number;
  /** The source UIDs copied (for MOVE: moved, hence expunged from the source), ascending. */
  source: UidSet;
  /** The new UIDs, ascending: the i-th source UID became the i-th destination UID. */
  destination: UidSet;
}

// ---- search and sort ----

/** SEARCH keys after the library resolved sequence numbers, "$" and \Recent to UID sets. */
export type SearchKey =
  | { type: 'all' }
  | { type: 'uid'; uids: UidSet }
  | { type: 'flag'; flag: string; set: boolean }
  | { type: 'header'; field: string; value: string }
  | { type: 'body'; value: string }
  | { type: 'text'; value: string }
  | { type: 'internaldate'; comparison: 'before' | 'on' | 'since'; day: number }
  | { type: 'sentdate'; comparison: 'before' | 'on' | 'since'; day: number }
  /** RFC 5032 WITHIN: seconds before now. */
  | { type: 'age'; comparison: 'older' | 'younger'; seconds: number }
  | { type: 'size'; comparison: 'larger' | 'smaller'; size: number }
  | { type: 'modseq'; modseq: number }
  | { type: 'not'; key: SearchKey }
  | { type: 'or'; left: SearchKey; right: SearchKey }
  | { type: 'and'; keys: SearchKey[] };

export interface SearchQuery {
  key: SearchKey;
  /** The messages the session can see; results outside it are dropped. */
  scope: UidSet;
}

export interface SearchResult {
  uids: UidSet;
  /** The highest MODSEQ among the matches, when the query used MODSEQ (RFC 7162 §3.1.5). */
  highestModseq?: number;
}

/** RFC 5256 sort criteria. */
export type SortKey = 'ARRIVAL' | 'CC' | 'DATE' | 'FROM' | 'SIZE' | 'SUBJECT' | 'TO' | 'DISPLAYFROM' | 'DISPLAYTO';
export interface SortCriterion {
  key: SortKey;
  reverse: boolean;
}

// ---- quota ----

/** RFC 9208 §5 resource types. */
export type QuotaResourceName = 'STORAGE' | 'MESSAGE' | 'MAILBOX';

/** RFC 9208 resources; STORAGE is counted in units of 1024 octets. */
export interface QuotaResource {
  name: QuotaResourceName;
  usage: number;
  limit: number;
}

export interface QuotaRoot {
  name: string;
  resources: readonly QuotaResource[];
}

// ---- errors ----

/**
 * What went wrong, named by the RFC 5530 response code the client sees.
 * `NOSELECT` is ours: the mailbox exists only as a parent and cannot hold
 * messages; it is answered `NO [CANNOT]` with a message that says so.
 */
export type BackendErrorKind =
  | 'NONEXISTENT'
  | 'ALREADYEXISTS'
  | 'NOSELECT'
  | 'CANNOT'
  | 'OVERQUOTA'
  | 'LIMIT'
  | 'TOOBIG'
  | 'INUSE'
  | 'UNAVAILABLE'
  | 'NOPERM'
  | 'SERVERBUG'
  | 'USEATTR';

export class BackendError extends Error {
  constructor(
    readonly kind: BackendErrorKind,
    message: string,
  ) {
    super(message);
    this.name = 'BackendError';
  }
}

// ---- the interface ----

export interface ImapBackend<User = unknown, Mailbox = unknown> {
  /** Checks credentials. The library delays failures and reports them (`authFailure`). */
  authenticate(request: AuthRequest): Promise<AuthResult<User>>;

  /** Every mailbox of the user, and subscriptions without a mailbox. The library matches patterns and derives \HasChildren. */
  listMailboxes(ctx: SessionContext<User>): Promise<readonly MailboxInfo[]>;
  /** Creates the mailbox and any missing parents; ALREADYEXISTS when it exists. `USEATTR` when the special use cannot be given. */
  createMailbox(ctx: SessionContext<User>, name: string, options: { specialUse?: SpecialUse }): Promise<void>;
  /** NONEXISTENT when missing. Deleting INBOX is refused by the library before the call. */
  deleteMailbox(ctx: SessionContext<User>, name: string): Promise<void>;
  /**
   * Renames the mailbox and its children (RFC 3501 §6.3.5). Renaming INBOX
   * moves its messages to the new mailbox and leaves INBOX empty.
   */
  renameMailbox(ctx: SessionContext<User>, from: string, to: string): Promise<void>;
  /** SUBSCRIBE/UNSUBSCRIBE. Subscribing a missing mailbox may be refused with NONEXISTENT. */
  setSubscribed(ctx: SessionContext<User>, name: string, subscribed: boolean): Promise<void>;
  status(ctx: SessionContext<User>, name: string): Promise<MailboxStatus>;

  /** SELECT/EXAMINE. A read-write open claims \Recent for this session (backend decides who gets it). */
  openMailbox(ctx: SessionContext<User>, name: string, options: { readOnly: boolean }): Promise<OpenedMailbox<Mailbox>>;
  /** Called when the session leaves the mailbox (CLOSE, UNSELECT, another SELECT, logout). */
  closeMailbox?(ctx: SessionContext<User>, mailbox: Mailbox): Promise<void> | void;
  /**
   * Changes with MODSEQ greater than `sinceModseq`, in MODSEQ order: messages
   * that are new or whose flags changed (once each, with current flags), and
   * tombstones of expunged messages.
   */
  changes(ctx: SessionContext<User>, mailbox: Mailbox, sinceModseq: number): MaybePromise<Items<MailboxChange>>;
  /**
   * QRESYNC (RFC 7162 §3.2.5.2, §3.2.6): the UIDs within `uids` expunged after
   * `sinceModseq`, from an index of tombstones rather than the whole feed.
   * Null when tombstones that old are no longer kept: the library then reports
   * every UID of `uids` the mailbox does not hold as vanished (the RFC lets a
   * server name UIDs that never existed). Without this method the library
   * reads the tombstones from `changes()`.
   */
  vanished?(ctx: SessionContext<User>, mailbox: Mailbox, sinceModseq: number, uids: UidSet): MaybePromise<UidSet | null>;
  /**
   * Offers new UIDs to this session as \Recent; returns those it won (each
   * message is \Recent in exactly one session). Without it, only the messages
   * claimed by openMailbox are \Recent.
   */
  claimRecent?(ctx: SessionContext<User>, mailbox: Mailbox, uids: UidSet): Promise<UidSet>;
  /** Calls `onChange` after every durable change to the mailbox; returns the function that stops it. */
  watch(ctx: SessionContext<User>, mailbox: Mailbox, onChange: () => void): () => void;

  /** The messages named (those that still exist), ascending by UID. */
  fetch(ctx: SessionContext<User>, mailbox: Mailbox, uids: UidSet, options: FetchOptions): MaybePromise<Items<FetchedMessage>>;
  /** Changes flags atomically; yields every existing message of the set. */
  store(ctx: SessionContext<User>, mailbox: Mailbox, uids: UidSet, request: StoreRequest): MaybePromise<Items<StoredMessage>>;
  /** Copies (or moves) to the named mailbox: NONEXISTENT (answered [TRYCREATE]) or NOSELECT when it cannot take them. */
  copy(ctx: SessionContext<User>, mailbox: Mailbox, uids: UidSet, destination: string, options: { move: boolean }): Promise<CopyResult>;
  /** Stores a message; the octets are streamed, never whole in memory. NONEXISTENT is answered [TRYCREATE]. */
  append(ctx: SessionContext<User>, mailbox: string, message: AppendMessage): Promise<{ uidValidity: number; uid: number }>;
  /** Expunges messages with \Deleted (only within `uids` when given, for UID EXPUNGE); returns the UIDs expunged. */
  expunge(ctx: SessionContext<User>, mailbox: Mailbox, uids?: UidSet): Promise<UidSet>;

  /** Answers a search itself, or returns undefined to let the library match messages one by one through fetch(). */
  search?(ctx: SessionContext<User>, mailbox: Mailbox, query: SearchQuery): Promise<SearchResult | undefined>;
  /** UIDs in sort order, or undefined to let the library sort (RFC 5256). */
  sort?(ctx: SessionContext<User>, mailbox: Mailbox, criteria: readonly SortCriterion[], query: SearchQuery): Promise<readonly number[] | undefined>;

  /**
   * The quota resources the backend reports and enforces, each advertised as
   * QUOTA=RES-<name> (RFC 9208 §5). QUOTA is advertised only with this list
   * and both quota methods. STORAGE obliges `MailboxStatus.deletedStorage`;
   * MESSAGE obliges `MailboxStatus.deleted` and a real message limit.
   */
  readonly quotaResources?: readonly QuotaResourceName[];
  /** RFC 9208 GETQUOTAROOT: the roots a mailbox counts against, with their usage; only resources named in `quotaResources`. */
  getQuotaRoots?(ctx: SessionContext<User>, mailbox: string): Promise<readonly QuotaRoot[]>;
  /** RFC 9208 GETQUOTA; undefined for an unknown root. */
  getQuota?(ctx: SessionContext<User>, root: string): Promise<QuotaRoot | undefined>;

  /** The session ends (LOGOUT or disconnect). */
  logout?(ctx: SessionContext<User>): Promise<void> | void;
}
