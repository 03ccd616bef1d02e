// The IMAP backend on the mail store: what node-imap-server-lite asks of
// storage, answered from SQLite rows, the stored MIME structure and byte ranges
// of the immutable message files.
//
// Invariants a reader must keep:
// - A mailbox handle is the mailbox id with its UIDVALIDITY: a rename by
//   another session does not break an open mailbox (RFC 2180 §3.4); a deleted
//   one (gone, turned \Noselect, or deleted and created again under the same
//   id with a new UIDVALIDITY) fails every call with NONEXISTENT, its change
//   feed included, so that the library ends the session with BYE (RFC 2180
//   §3.3). The store announces a DELETE as a change, so a session learns of
//   it at its next command or at once in IDLE.
// - No message body is read to answer FLAGS, ENVELOPE or BODYSTRUCTURE; only
//   BODY[...] and text SEARCH open files, as streams of exact length. The
//   library reads every stream it is given to the end or destroys it; a
//   destroyed stream closes its file.
// - The library sees store failures as BackendError kinds; anything else
//   becomes NO [SERVERBUG] in the library and is logged there.

import { closeSync, openSync, readSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { pipeline, Transform } from 'node:stream';
import {
  BackendError,
  type AppendMessage,
  type AuthRequest,
  type AuthResult,
  type ByteSource,
  type CopyResult,
  type FetchedMessage,
  type FetchOptions,
  type ImapBackend,
  type MailboxChange,
  type MailboxInfo,
  type MailboxStatus,
  type OpenedMailbox,
  type QuotaRoot,
  type SearchQuery,
  type SearchResult,
  type SectionRequest,
  type SortCriterion,
  type SessionContext,
  type SpecialUse,
  type StoredMessage,
  type StoreRequest,
  type UidSet,
} from 'node-imap-server-lite';
import { uidSetFromSorted } from 'node-imap-server-lite';
import type { Logger } from '../core/log.ts';
import { bodyStructureToImap, envelopeToImap, partialRange, replaceNul, resolveSection, type MessageStructure } from '../mime/index.ts';
import { flagNames } from '../store/flags.ts';
import type { Account, Mailbox, MessageRecord, Store } from '../store/index.ts';
import { MailError } from '../store/index.ts';
import { MailboxNameError } from '../store/mailbox-names.ts';
import { receiveMessage, type BodyAnalyzer } from '../store/receive.ts';
import { IndexedSearch } from './search.ts';

/** Sections up to this size are read in one go rather than streamed. */
const smallSection = 256 * 1024;

/**
 * Ranges up to this size are read synchronously. An asynchronous read is three
 * trips through libuv's thread pool (open, read, close), and that pool is the
 * one deliveries fsync their files in: a FETCH queued behind fsyncs waited
 * longer than the read takes. A short read of a file the page cache holds takes
 * microseconds; a cold one on an SD card blocks for about a millisecond, as
 * Dovecot's reads do.
 */
const syncReadLimit = 64 * 1024;

/** [start, end) of a file in one synchronous read; undefined when the file is gone (collected after an expunge). */
function readSmall(file: string, start: number, end: number): Buffer | undefined {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch {
    return undefined;
  }
  try {
    const bytes = Buffer.allocUnsafe(end - start);
    const read = readSync(fd, bytes, 0, bytes.length, start);
    if (read < bytes.length) bytes.fill(0, read);
    return bytes;
  } finally {
    closeSync(fd);
  }
}

/** What a message whose body is already gone (expunged and collected) looks like: empty, not an error. */
const vanishedStructure: MessageStructure = { v: 1, size: 0, root: { header: 0, body: 0, end: 0, lines: 0 } };

export interface ImapUser {
  account: Account;
}

/** An open mailbox: its id, and the UIDVALIDITY it had when it was opened. */
export interface MailboxHandle {
  readonly id: number;
  readonly uidValidity: number;
}

export interface StoreBackendOptions {
  store: Store;
  createAnalyzer: () => BodyAnalyzer;
  maxMessageBytes: number;
  logger: Logger;
  /** Called for each failed login (the ban service listens). */
  onAuthFailure?: (event: { service: string; username: string; remoteAddress: string; reason: string }) => void;
}

const errorKinds = {
  nonexistent: 'NONEXISTENT',
  exists: 'ALREADYEXISTS',
  noselect: 'NOSELECT',
  cannot: 'CANNOT',
  overquota: 'OVERQUOTA',
  useattr: 'USEATTR',
  toobig: 'TOOBIG',
} as const;

/** Store errors as the library's BackendError; other errors pass through unchanged. */
function translate(error: unknown): unknown {
  if (error instanceof MailError) return new BackendError(errorKinds[error.kind], error.message);
  if (error instanceof MailboxNameError) return new BackendError('CANNOT', error.message);
  return error;
}

function guard<T>(work: () => T): T {
  try {
    return work();
  } catch (error) {
    throw translate(error);
  }
}

function nulFilter(): Transform {
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      callback(null, replaceNul(chunk));
    },
  });
}

export class StoreBackend implements ImapBackend<ImapUser, MailboxHandle> {
  private readonly mail: Store['mail'];
  private readonly accounts: Store['accounts'];
  private readonly indexed: IndexedSearch;

  constructor(private readonly options: StoreBackendOptions) {
    this.mail = options.store.mail;
    this.accounts = options.store.accounts;
    this.indexed = new IndexedSearch(options.store.db, options.store.mail.files);
  }

  /** The open mailbox as it is now; NONEXISTENT once it was deleted (even if a mailbox was made again in its place). */
  private mailbox(handle: MailboxHandle): Mailbox {
    const mailbox = this.mail.mailboxes.byId(handle.id);
    if (!mailbox || mailbox.noselect || mailbox.uidValidity !== handle.uidValidity) throw new BackendError('NONEXISTENT', 'the mailbox was deleted');
    return mailbox;
  }

  // ---- authentication ----

  async authenticate(request: AuthRequest): Promise<AuthResult<ImapUser>> {
    const refuse = (reason: string): AuthResult<ImapUser> => {
      this.options.onAuthFailure?.({ service: 'imap', username: request.username, remoteAddress: request.remoteAddress, reason });
      return { ok: false, reason: 'credentials' };
    };
    // No master users: PLAIN's authorization identity, if given, must be the user itself.
    if (request.authorizationId && request.authorizationId.toLowerCase() !== request.username.toLowerCase()) return refuse('authorization identity differs');
    const account = await this.accounts.authenticate(request.username, request.password);
    if (!account) return refuse('bad credentials');
    return { ok: true, user: { account } };
  }

  // ---- mailboxes ----

  async listMailboxes(ctx: SessionContext<ImapUser>): Promise<readonly MailboxInfo[]> {
    const accountId = ctx.user.account.id;
    const subscribed = this.mail.mailboxes.subscriptions(accountId);
    const list: MailboxInfo[] = this.mail.listMailboxes(accountId).map((m) => ({
      name: m.name,
      specialUse: m.specialUse,
      subscribed: subscribed.has(m.name),
      noselect: m.noselect,
    }));
    const existing = new Set(list.map((m) => m.name));
    for (const name of subscribed) if (!existing.has(name)) list.push({ name, subscribed: true, nonexistent: true });
    return list;
  }

  async createMailbox(ctx: SessionContext<ImapUser>, name: string, options: { specialUse?: SpecialUse }): Promise<void> {
    guard(() => this.mail.createMailbox(ctx.user.account.id, name, options.specialUse ?? null));
  }

  async deleteMailbox(ctx: SessionContext<ImapUser>, name: string): Promise<void> {
    // The bodies it held go with the serve process's garbage timer (after the grace period).
    guard(() => this.mail.deleteMailbox(ctx.user.account.id, name));
  }

  async renameMailbox(ctx: SessionContext<ImapUser>, from: string, to: string): Promise<void> {
    guard(() => this.mail.renameMailbox(ctx.user.account.id, ctx.user.account.address, from, to));
  }

  async setSubscribed(ctx: SessionContext<ImapUser>, name: string, subscribed: boolean): Promise<void> {
    guard(() => (subscribed ? this.mail.mailboxes.subscribe(ctx.user.account.id, name) : this.mail.mailboxes.unsubscribe(ctx.user.account.id, name)));
  }

  async status(ctx: SessionContext<ImapUser>, name: string): Promise<MailboxStatus> {
    const mailbox = guard(() => this.mail.mailboxes.selectable(ctx.user.account.id, name));
    return { ...this.mail.mailboxes.status(mailbox), deletedStorage: () => this.deletedOctets(mailbox.id) };
  }

  /** STATUS DELETED-STORAGE (RFC 9208 §4.1.4): the octets EXPUNGE would free, the RFC822.SIZE of each \Deleted message. */
  private deletedOctets(mailboxId: number): number {
    return this.mail.messages.deletedBytes(mailboxId);
  }

  async openMailbox(ctx: SessionContext<ImapUser>, name: string, options: { readOnly: boolean }): Promise<OpenedMailbox<MailboxHandle>> {
    const opened = guard(() => this.mail.mailboxes.open(ctx.user.account.id, name, options.readOnly));
    const { mailbox } = opened;
    return {
      handle: { id: mailbox.id, uidValidity: mailbox.uidValidity },
      uidValidity: mailbox.uidValidity,
      uidNext: mailbox.uidNext,
      highestModseq: mailbox.highestModseq,
      uids: opened.uids,
      recent: opened.recentFrom < mailbox.uidNext ? [[opened.recentFrom, mailbox.uidNext - 1]] : [],
      keywords: opened.keywords,
      firstUnseenUid: opened.firstUnseenUid,
    };
  }

  changes(_ctx: SessionContext<ImapUser>, handle: MailboxHandle, sinceModseq: number): Iterable<MailboxChange> {
    // A deleted mailbox has no feed: NONEXISTENT makes the library say BYE. Checked
    // now, not when the feed is first read, so that the library sees it at the call.
    this.mailbox(handle);
    return this.feed(handle.id, sinceModseq);
  }

  /** The store's paged feed as the library's changes, one at a time. */
  private *feed(mailboxId: number, sinceModseq: number): Generator<MailboxChange> {
    for (const c of this.mail.messages.changes(mailboxId, sinceModseq)) {
      yield c.kind === 'message' ? { kind: 'message', uid: c.uid, modseq: c.modseq, flags: flagNames(c.flags!, c.keywords!) } : { kind: 'expunge', uid: c.uid, modseq: c.modseq };
    }
  }

  /** QRESYNC VANISHED (EARLIER) from the tombstone index; null once tombstones that old were pruned. */
  vanished(_ctx: SessionContext<ImapUser>, handle: MailboxHandle, sinceModseq: number, uids: UidSet): UidSet | null {
    this.mailbox(handle);
    const expunged = this.mail.messages.expungedSince(handle.id, sinceModseq, uids);
    return expunged && uidSetFromSorted(expunged);
  }

  async claimRecent(_ctx: SessionContext<ImapUser>, handle: MailboxHandle, uids: UidSet): Promise<UidSet> {
    if (uids.length === 0) return [];
    const last = uids[uids.length - 1]![1];
    const first = this.mail.mailboxes.claimRecent(handle.id, last);
    const won: [number, number][] = [];
    for (const [start, end] of uids) if (end >= first) won.push([Math.max(start, first), end]);
    return won;
  }

  watch(ctx: SessionContext<ImapUser>, handle: MailboxHandle, onChange: () => void): () => void {
    return this.mail.events.onAccount(ctx.user.account.id, (change) => {
      if (change.mailboxId === handle.id) onChange();
    });
  }

  // ---- messages ----

  *fetch(_ctx: SessionContext<ImapUser>, handle: MailboxHandle, uids: UidSet, options: FetchOptions): Iterable<FetchedMessage> {
    this.mailbox(handle);
    // Structure and kept header come with the rows when anything will need them.
    const body = options.want.sections ? 'header' : options.want.envelope || options.want.bodyStructure ? 'structure' : 'none';
    for (const record of this.mail.messages.records(handle.id, uids, options.changedSince, body)) yield this.fetched(record);
  }

  private fetched(record: MessageRecord): FetchedMessage {
    let structure: MessageStructure | undefined;
    const load = () =>
      (structure ??= ((record.structure !== undefined ? JSON.parse(record.structure) : this.mail.structureOf(record.bodyId)) as MessageStructure | undefined) ?? vanishedStructure);
    return {
      uid: record.uid,
      modseq: record.modseq,
      flags: flagNames(record.flags, record.keywords),
      internalDate: new Date(record.internalDate),
      size: record.size,
      envelope: () => envelopeToImap(load().root.envelope),
      bodyStructure: () => bodyStructureToImap(load().root, { extensible: true }),
      section: (request) => this.section(record, load(), request),
    };
  }

  /**
   * The octets [start, end) of the message: from the header kept in the row
   * when the range lies inside it (migration 9; the same raw bytes as the
   * file), else read from the file.
   */
  private async readRange(record: MessageRecord, start: number, end: number): Promise<Buffer | undefined> {
    const kept = record.header;
    if (kept && end <= kept.length) return kept.subarray(start, end);
    if (end - start <= syncReadLimit) return readSmall(this.mail.files.absolute(record.file), start, end);
    const handle = await open(this.mail.files.absolute(record.file), 'r').catch(() => undefined);
    if (!handle) return undefined;
    const bytes = Buffer.allocUnsafe(end - start);
    try {
      const { bytesRead } = await handle.read(bytes, 0, bytes.length, start);
      if (bytesRead < bytes.length) bytes.fill(0, bytesRead);
    } finally {
      await handle.close();
    }
    return bytes;
  }

  private async section(record: MessageRecord, structure: MessageStructure, request: SectionRequest): Promise<ByteSource> {
    const data = resolveSection(structure, { part: [...request.part], ...(request.text ? { text: request.text } : {}), ...(request.fields ? { fields: [...request.fields] } : {}) });
    if (data.kind === 'header-fields') {
      const header = await this.readRange(record, data.start, data.end);
      if (!header) return { length: 0, stream: Buffer.alloc(0) };
      let bytes = data.filter(header);
      if (request.range) {
        const { from, to } = partialRange(bytes.length, request.range.offset, request.range.count);
        bytes = bytes.subarray(from, to);
      }
      return { length: bytes.length, stream: data.nul ? Buffer.from(replaceNul(bytes)) : bytes };
    }
    let { start, end } = data;
    if (request.range) {
      const { from, to } = partialRange(end - start, request.range.offset, request.range.count);
      end = start + to;
      start = start + from;
    }
    if (end <= start) return { length: 0, stream: Buffer.alloc(0) };
    if (end - start <= smallSection) {
      // One read (or none: the kept header) beats a stream for the headers and short bodies most FETCHes ask for.
      const bytes = await this.readRange(record, start, end);
      if (!bytes) return { length: 0, stream: Buffer.alloc(0) };
      return { length: bytes.length, stream: data.nul ? Buffer.from(replaceNul(bytes)) : bytes };
    }
    // Opened now, so that a garbage collection later cannot take the file away mid-stream.
    const handle = await open(this.mail.files.absolute(record.file), 'r').catch(() => undefined);
    if (!handle) return { length: 0, stream: Buffer.alloc(0) };
    // Destroying the stream handed out (the client went away) closes the file:
    // the read stream closes its handle, and pipeline() destroys it with the filter.
    const stream = handle.createReadStream({ start, end: end - 1, highWaterMark: 64 * 1024 });
    if (!data.nul) return { length: end - start, stream };
    const filtered = nulFilter();
    pipeline(stream, filtered, () => {});
    return { length: end - start, stream: filtered };
  }

  store(_ctx: SessionContext<ImapUser>, handle: MailboxHandle, uids: UidSet, request: StoreRequest): Iterable<StoredMessage> {
    const mailbox = this.mailbox(handle);
    // Committed here, in full; the library then reads the compact result one message at a time.
    const results = guard(() => this.mail.setFlags(mailbox, uids, request.operation, request.flags, request.unchangedSince));
    return (function* () {
      for (const r of results) yield { uid: r.uid, modseq: r.modseq, flags: flagNames(r.flags, r.keywords), status: r.status };
    })();
  }

  async copy(ctx: SessionContext<ImapUser>, handle: MailboxHandle, uids: UidSet, destination: string, options: { move: boolean }): Promise<CopyResult> {
    const source = this.mailbox(handle);
    const result = guard(() => this.mail.copy(source, uids, destination, ctx.user.account, options.move));
    return { uidValidity: result.uidValidity, source: uidSetFromSorted(result.source), destination: uidSetFromSorted(result.destination) };
  }

  async append(ctx: SessionContext<ImapUser>, mailboxName: string, message: AppendMessage): Promise<{ uidValidity: number; uid: number }> {
    const account = ctx.user.account;
    const refuse = (error: unknown): never => {
      message.content.destroy();
      throw translate(error);
    };
    // Refused before a byte is written: a missing mailbox ([TRYCREATE]), a full quota, an oversize message.
    try {
      this.mail.mailboxes.selectable(account.id, mailboxName);
      this.mail.messages.checkQuota(account.id, account.address, message.size);
    } catch (error) {
      refuse(error);
    }
    if (message.size > this.options.maxMessageBytes) refuse(new MailError('toobig', `the message is larger than ${this.options.maxMessageBytes} bytes`));
    let received;
    try {
      received = await receiveMessage(this.mail.files, this.options.createAnalyzer(), message.content, { maxBytes: this.options.maxMessageBytes }, {
        commit: (body) => this.mail.appendGrouped(account, mailboxName, body, message.flags, (message.internalDate ?? new Date()).getTime()),
      });
    } catch (error) {
      throw translate(error);
    }
    if (!received.ok) throw new BackendError('TOOBIG', `the message is larger than ${this.options.maxMessageBytes} bytes`);
    return { uidValidity: received.committed.mailbox.uidValidity, uid: received.committed.uid };
  }

  async expunge(_ctx: SessionContext<ImapUser>, handle: MailboxHandle, uids?: UidSet): Promise<UidSet> {
    const mailbox = this.mailbox(handle);
    // Not collected here: a body stays for a grace period anyway, and the serve
    // process's timer marks and removes them (a scan per EXPUNGE cost 4 % of the CPU).
    const expunged = guard(() => this.mail.expunge(mailbox, uids));
    return uidSetFromSorted(expunged);
  }

  // ---- search and sort: from the search index (search.ts); undefined leaves them to the library ----

  async search(_ctx: SessionContext<ImapUser>, handle: MailboxHandle, query: SearchQuery): Promise<SearchResult | undefined> {
    this.mailbox(handle);
    return this.indexed.search(handle.id, query);
  }

  async sort(_ctx: SessionContext<ImapUser>, handle: MailboxHandle, criteria: readonly SortCriterion[], query: SearchQuery): Promise<readonly number[] | undefined> {
    this.mailbox(handle);
    return this.indexed.sort(handle.id, criteria, query);
  }

  // ---- quota (RFC 9208): one root per account, "" ----

  /**
   * RFC 9208 §5: only STORAGE. The store limits octets per account but not the
   * number of messages, so MESSAGE (QUOTA=RES-MESSAGE) would promise a limit
   * that does not exist.
   */
  readonly quotaResources = ['STORAGE'] as const;

  private quotaRoot(account: Account): QuotaRoot | undefined {
    const { usedBytes, quotaBytes } = this.mail.usage(account.id);
    if (quotaBytes === 0) return undefined;
    return { name: '', resources: [{ name: 'STORAGE', usage: Math.ceil(usedBytes / 1024), limit: Math.floor(quotaBytes / 1024) }] };
  }

  async getQuotaRoots(ctx: SessionContext<ImapUser>, mailbox: string): Promise<readonly QuotaRoot[]> {
    guard(() => this.mail.mailboxes.selectable(ctx.user.account.id, mailbox));
    const root = this.quotaRoot(ctx.user.account);
    return root ? [root] : [];
  }

  async getQuota(ctx: SessionContext<ImapUser>, root: string): Promise<QuotaRoot | undefined> {
    return root === '' ? this.quotaRoot(ctx.user.account) : undefined;
  }
}
