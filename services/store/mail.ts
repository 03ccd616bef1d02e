// The mail store: mailboxes (mailboxes.ts), messages (messages.ts) and their
// body files (body-files.ts), behind one facade that opens the transaction of
// each operation and announces it afterwards.
//
// Invariants a reader must keep:
// - Each public method that changes mail is one IMMEDIATE transaction; events
//   are emitted after it commits, never from inside it. `deliverGrouped` and
//   `appendGrouped` are a savepoint in the group committer's transaction
//   (group-commit.ts) instead, and emit once that transaction is durable.
// - A message row is committed only after its body file is durable; a body row
//   is deleted (refs = 0) before its file is unlinked (collectGarbage).
// - All-or-none: a delivery to several accounts commits every copy or none.

import type { Database } from 'better-sqlite3';
import { UserError } from '../core/errors.ts';
import type { Account, AccountsTable } from './accounts.ts';
import type { BodyFiles, StoredFile } from './body-files.ts';
import { parseFlags } from './flags.ts';
import { GroupCommitter } from './group-commit.ts';
import { MailError } from './mail-errors.ts';
import type { MailChangeKind, MailEvents } from './mail-events.ts';
import { normalizeMailboxName, type SpecialUse } from './mailbox-names.ts';
import { MailboxTable, type Mailbox } from './mailboxes.ts';
import { MessageTable, type UidRanges } from './messages.ts';
import { indexNewBody, type SearchRecord } from './search-index.ts';
import { relaxed } from './statements.ts';
import type { OutboundOrigin } from './outbound.ts';

export { MailError } from './mail-errors.ts';
export type { Mailbox, MailboxStatus, OpenedMailbox } from './mailboxes.ts';
export type { ChangeEntry, FlagChange, MessageRecord, UidRanges } from './messages.ts';

/** Tombstones kept per mailbox: a client this many expunges behind resynchronises in full (QRESYNC still answers correctly). */
export const tombstonesKept = 20_000;

/** How long an expunged message's body stays readable for sessions not yet told of the expunge. */
export const expungedBodyGraceMs = 10 * 60 * 1000;

export const systemFlags = { seen: 1, answered: 2, flagged: 4, deleted: 8, draft: 16 } as const;

/** What the index keeps of a message's headers, for listing, SORT and SEARCH. */
export interface MessageSummary {
  subject: string;
  from: string;
  sentAt: number | null;
  messageId: string | null;
  /** What the search index keeps of the message, made by the analyzer while it streamed in; absent when it was too large (left to the backfill). */
  index?: SearchRecord;
  /** The raw octets of the message's own header, blank line included, when short enough to keep in the row (migration 9). */
  header?: Uint8Array;
}

/** A durable body file and what was learnt while writing it. */
export interface ReceivedBody {
  file: StoredFile;
  structure: unknown;
  summary: MessageSummary;
}

export interface DeliveryTarget {
  account: Account;
  /** Defaults to INBOX; a missing or \Noselect mailbox falls back to INBOX (a Sieve fileinto to a deleted folder must not lose mail). */
  mailbox?: string;
  flags?: readonly string[];
  /** Delivered even when the quota cannot hold it: reports to a local sender (as Postfix's bounces), never mail from outside. */
  ignoreQuota?: boolean;
}

/** A copy for an address outside: kept durably with the message until the outbound queue sends it. */
export interface OutboundCopy {
  sender: string;
  recipient: string;
  origin: OutboundOrigin;
}

export interface Delivered {
  accountId: number;
  mailboxId: number;
  mailbox: string;
  uid: number;
  modseq: number;
}

export interface MessageRow {
  uid: number;
  modseq: number;
  flags: number;
  keywords: string[];
  internalDate: number;
  size: number;
  file: string;
  subject: string;
  from: string;
  sentAt: number | null;
  messageId: string | null;
}

/** Kept for callers that handle a full mailbox at delivery specially (SMTP answers 452 4.2.2). */
export class QuotaExceededError extends UserError {
  constructor(
    readonly account: string,
    message: string,
  ) {
    super(message);
    this.name = 'QuotaExceededError';
  }
}

export class MailStore {
  readonly mailboxes: MailboxTable;
  readonly messages: MessageTable;
  /** Body id → when collectGarbage first saw it unreferenced. */
  private readonly unreferencedSince = new Map<number, number>();

  constructor(
    private readonly db: Database,
    accounts: AccountsTable,
    readonly files: BodyFiles,
    readonly events: MailEvents,
    /** Deliveries and APPENDs that share one transaction and one sync (group-commit.ts). */
    readonly committer: GroupCommitter = new GroupCommitter(db),
  ) {
    this.mailboxes = new MailboxTable(db);
    this.messages = new MessageTable(db);
    accounts.onCreate.push((account) => this.mailboxes.createDefaults(account.id));
    accounts.onRemove.push((account) => this.removeAccountMail(account.id));
  }

  private announce(mailbox: Mailbox, modseq: number | undefined, kind: MailChangeKind): void {
    if (modseq !== undefined) this.events.emit({ accountId: mailbox.accountId, mailboxId: mailbox.id, modseq, kind });
  }

  // ---- mailboxes ----

  listMailboxes(accountId: number): Mailbox[] {
    return this.mailboxes.list(accountId);
  }

  findMailbox(accountId: number, name: string): Mailbox | undefined {
    return this.mailboxes.find(accountId, name);
  }

  createMailbox(accountId: number, name: string, specialUse: SpecialUse | null = null): Mailbox {
    return this.mailboxes.create(accountId, name, specialUse);
  }

  deleteMailbox(accountId: number, name: string): void {
    const mailbox = this.mailboxes.delete(accountId, name, (m) => this.messages.removeAll(m));
    this.events.emit({ accountId, mailboxId: mailbox.id, modseq: mailbox.highestModseq + 1, kind: 'mailbox' });
  }

  /** RENAME; for INBOX the messages move to a new mailbox and INBOX stays, empty (RFC 3501 §6.3.5). */
  renameMailbox(accountId: number, account: string, from: string, to: string): void {
    if (normalizeMailboxName(from) !== 'INBOX') return this.mailboxes.rename(accountId, from, to);
    const moved = this.db.transaction(() => {
      const inbox = this.mailboxes.selectable(accountId, 'INBOX');
      const target = this.mailboxes.create(accountId, to);
      const all: UidRanges = [[1, 0xffffffff]];
      const result = this.messages.copy(inbox, all, target, account, true);
      return { inbox, target, result };
    }).immediate();
    this.announce(moved.target, moved.result.modseq, 'append');
    this.announce(moved.inbox, moved.result.expungeModseq, 'expunge');
  }

  // ---- delivery and append ----

  /**
   * Stores one durable body in each target's mailbox and keeps the outside
   * copies, in one transaction: all targets get the message or none does.
   * Throws QuotaExceededError (nothing stored) when a quota cannot hold it.
   */
  deliver(body: ReceivedBody, targets: DeliveryTarget[], internalDate: number = Date.now(), outbound: OutboundCopy[] = []): Delivered[] {
    const delivered = this.db.transaction(() => this.deliverRows(body, targets, internalDate, outbound)).immediate();
    this.announceDelivered(delivered);
    return delivered;
  }

  /**
   * `deliver` through the group committer (group-commit.ts): the rows go in
   * the next shared transaction, in a savepoint of their own, and the promise
   * resolves once that transaction is durable. Rejects with
   * QuotaExceededError (nothing stored), any other error of its own (nothing
   * stored), or NotDurableError (the rows may exist: the file must stay).
   */
  async deliverGrouped(body: ReceivedBody, targets: DeliveryTarget[], internalDate: number = Date.now(), outbound: OutboundCopy[] = []): Promise<Delivered[]> {
    const delivered = await this.committer.run(() => this.deliverRows(body, targets, internalDate, outbound));
    this.announceDelivered(delivered);
    return delivered;
  }

  private announceDelivered(delivered: Delivered[]): void {
    for (const d of delivered) this.events.emit({ accountId: d.accountId, mailboxId: d.mailboxId, modseq: d.modseq, kind: 'append' });
  }

  /** The rows of one delivery; runs inside a transaction or savepoint that the caller opened. */
  private deliverRows(body: ReceivedBody, targets: DeliveryTarget[], internalDate: number, outbound: OutboundCopy[]): Delivered[] {
    const bodyId = this.insertBody(body, targets.length + outbound.length);
    const now = Date.now();
    for (const copy of outbound) {
      this.db
        .prepare('INSERT INTO outbound (body_id, sender, recipient, origin, state, next_attempt_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)')
        .run(bodyId, copy.sender, copy.recipient, copy.origin, 'queued', now, now);
    }
    return targets.map((target): Delivered => {
      const account = target.account;
      try {
        if (!target.ignoreQuota) this.messages.checkQuota(account.id, account.address, body.file.size);
      } catch (error) {
        if (error instanceof MailError && error.kind === 'overquota') throw new QuotaExceededError(account.address, error.message);
        throw error;
      }
      const wanted = target.mailbox ? this.mailboxes.find(account.id, target.mailbox) : undefined;
      const mailbox = wanted && !wanted.noselect ? wanted : this.mailboxes.selectable(account.id, 'INBOX');
      const { uid, modseq } = this.messages.insert(mailbox, bodyId, body.file.size, parseFlags(target.flags ?? []), internalDate);
      return { accountId: account.id, mailboxId: mailbox.id, mailbox: mailbox.name, uid, modseq };
    });
  }

  /** IMAP APPEND: into the named mailbox only (no fallback); `nonexistent`, `noselect`, `overquota` are MailErrors. */
  append(account: Account, mailboxName: string, body: ReceivedBody, flags: readonly string[], internalDate: number): { mailbox: Mailbox; uid: number; modseq: number } {
    const result = this.db.transaction(() => this.appendRow(account, mailboxName, body, flags, internalDate)).immediate();
    this.announce(result.mailbox, result.modseq, 'append');
    return result;
  }

  /** `append` through the group committer; rejects as `deliverGrouped` does. */
  async appendGrouped(account: Account, mailboxName: string, body: ReceivedBody, flags: readonly string[], internalDate: number): Promise<{ mailbox: Mailbox; uid: number; modseq: number }> {
    const result = await this.committer.run(() => this.appendRow(account, mailboxName, body, flags, internalDate));
    this.announce(result.mailbox, result.modseq, 'append');
    return result;
  }

  private appendRow(account: Account, mailboxName: string, body: ReceivedBody, flags: readonly string[], internalDate: number): { mailbox: Mailbox; uid: number; modseq: number } {
    const mailbox = this.mailboxes.selectable(account.id, mailboxName);
    this.messages.checkQuota(account.id, account.address, body.file.size);
    const bodyId = this.insertBody(body, 1);
    return { mailbox, ...this.messages.insert(mailbox, bodyId, body.file.size, parseFlags(flags), internalDate) };
  }

  private insertBody(body: ReceivedBody, refs: number): number {
    const { summary } = body;
    const id = this.db
      .prepare('INSERT INTO bodies (file, size, structure, sent_at, subject, from_text, message_id, refs, header) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id')
      .pluck()
      .get(body.file.file, body.file.size, JSON.stringify(body.structure), summary.sentAt, summary.subject, summary.from, summary.messageId, refs, summary.header ?? null) as number;
    // The search index rows, in the same transaction (search-index.ts).
    indexNewBody(this.db, id, summary.index);
    return id;
  }

  // ---- changes to messages ----

  setFlags(mailbox: Mailbox, ranges: UidRanges, operation: 'add' | 'remove' | 'replace', flags: readonly string[], unchangedSince?: number) {
    const results = relaxed(this.db, () => this.messages.setFlags(mailbox, ranges, operation, flags, unchangedSince));
    this.announce(mailbox, results.modseq, 'flags');
    return results;
  }

  copy(source: Mailbox, ranges: UidRanges, destinationName: string, account: Account, move: boolean) {
    const done = relaxed(this.db, () => {
      const destination = this.mailboxes.find(account.id, destinationName);
      if (!destination) throw new MailError('nonexistent', `there is no mailbox ${destinationName}`);
      return { destination, result: this.messages.copy(this.mailboxes.byId(source.id) ?? source, ranges, destination, account.address, move) };
    });
    this.announce(done.destination, done.result.modseq, 'append');
    this.announce(source, done.result.expungeModseq, 'expunge');
    return { uidValidity: done.destination.uidValidity, ...done.result };
  }

  expunge(mailbox: Mailbox, ranges?: UidRanges): number[] {
    const result = relaxed(this.db, () => this.messages.expunge(mailbox, ranges));
    this.announce(mailbox, result.modseq, 'expunge');
    return result.uids;
  }

  /**
   * The POP3 UPDATE state (RFC 1939 §6) in one transaction: messages retrieved
   * get \Seen, messages marked deleted are expunged (tombstones, so IMAP
   * sessions see them go). UIDs that no longer exist are skipped.
   */
  applyMaildropChanges(mailbox: Mailbox, retrieved: UidRanges, deleted: UidRanges): { expunged: number[] } {
    const done = relaxed(this.db, () => {
      const flagModseq = retrieved.length ? this.messages.setFlags(mailbox, retrieved, 'add', ['\\Seen']).modseq : undefined;
      const removed = deleted.length ? this.messages.removeRanges(mailbox, deleted, false) : { uids: [] };
      return { flagModseq, expungeModseq: removed.modseq, expunged: removed.uids };
    });
    this.announce(mailbox, done.flagModseq, 'flags');
    this.announce(mailbox, done.expungeModseq, 'expunge');
    return { expunged: done.expunged };
  }

  // ---- reading ----

  /** Bytes in use and the quota (0 = none) of an account. */
  usage(accountId: number): { usedBytes: number; quotaBytes: number } {
    const row = this.db.prepare('SELECT used_bytes, quota_bytes FROM accounts WHERE id = ?').get(accountId) as { used_bytes: number; quota_bytes: number } | undefined;
    if (!row) throw new UserError('that user no longer exists');
    return { usedBytes: row.used_bytes, quotaBytes: row.quota_bytes };
  }

  /** True when `bytes` more would still fit in the account's quota. */
  fits(accountId: number, bytes: number): boolean {
    const { usedBytes, quotaBytes } = this.usage(accountId);
    return quotaBytes === 0 || usedBytes + bytes <= quotaBytes;
  }

  /** The stored structure (JSON) of a body. */
  structureOf(bodyId: number): unknown {
    const text = this.db.prepare('SELECT structure FROM bodies WHERE id = ?').pluck().get(bodyId) as string | undefined;
    return text === undefined ? undefined : JSON.parse(text);
  }

  listMessages(mailboxId: number, options: { limit?: number; afterUid?: number } = {}): MessageRow[] {
    const rows = this.db
      .prepare(
        `SELECT m.uid, m.modseq, m.flags, m.keywords, m.internal_date, m.size, b.file, b.subject, b.from_text, b.sent_at, b.message_id
         FROM messages m JOIN bodies b ON b.id = m.body_id
         WHERE m.mailbox_id = ? AND m.uid > ? ORDER BY m.uid LIMIT ?`,
      )
      .all(mailboxId, options.afterUid ?? 0, options.limit ?? -1) as {
      uid: number;
      modseq: number;
      flags: number;
      keywords: string;
      internal_date: number;
      size: number;
      file: string;
      subject: string;
      from_text: string;
      sent_at: number | null;
      message_id: string | null;
    }[];
    return rows.map((r) => ({
      uid: r.uid,
      modseq: r.modseq,
      flags: r.flags,
      keywords: r.keywords ? r.keywords.split(' ') : [],
      internalDate: r.internal_date,
      size: r.size,
      file: r.file,
      subject: r.subject,
      from: r.from_text,
      sentAt: r.sent_at,
      messageId: r.message_id,
    }));
  }

  // ---- removal and garbage ----

  private removeAccountMail(accountId: number): void {
    for (const mailbox of this.mailboxes.list(accountId)) {
      this.messages.removeAll(mailbox);
      this.db.prepare('DELETE FROM expunged WHERE mailbox_id = ?').run(mailbox.id);
      this.db.prepare('DELETE FROM mailbox_keywords WHERE mailbox_id = ?').run(mailbox.id);
      this.db.prepare('DELETE FROM mailboxes WHERE id = ?').run(mailbox.id);
    }
    this.db.prepare('DELETE FROM subscriptions WHERE account_id = ?').run(accountId);
  }

  /**
   * Deletes bodies no message refers to: the row first, then the file. A body
   * is deleted only once it has been seen unreferenced for `graceMs`: a session
   * that has not yet been told of an expunge may still FETCH the message
   * (RFC 3501 §7.4.1), and its file must still be there.
   */
  async collectGarbage(options: { graceMs?: number } = {}): Promise<number> {
    const graceMs = options.graceMs ?? expungedBodyGraceMs;
    const now = Date.now();
    const rows = this.db.prepare('SELECT id, file FROM bodies WHERE refs = 0').all() as { id: number; file: string }[];
    const unreferenced = new Set(rows.map((r) => r.id));
    for (const id of this.unreferencedSince.keys()) if (!unreferenced.has(id)) this.unreferencedSince.delete(id);
    let removed = 0;
    for (const row of rows) {
      const since = this.unreferencedSince.get(row.id) ?? now;
      this.unreferencedSince.set(row.id, since);
      if (now - since < graceMs) continue;
      this.db.prepare('DELETE FROM bodies WHERE id = ? AND refs = 0').run(row.id);
      this.unreferencedSince.delete(row.id);
      await this.files.remove(row.file);
      removed += 1;
    }
    return removed;
  }

  /**
   * Keeps at most `keep` tombstones per mailbox (the newest); older ones go,
   * and the mailbox remembers up to which MODSEQ, so that QRESYNC from before
   * it falls back to reporting every unknown UID as vanished (messages.ts).
   * A session with the mailbox open learns of expunges only from tombstones
   * (its change feed), so while sessions may be open, pass a `horizon` taken
   * longer ago than a session can stay silent (tombstonePruner does).
   * Bookkeeping only: relaxed commit.
   */
  pruneTombstones(keep: number = tombstonesKept, horizon?: ReadonlyMap<number, number>): number {
    return relaxed(this.db, () => this.messages.pruneTombstones(keep, horizon));
  }

  /**
   * A pruning run to call on a timer of at least `sessionSilenceMs` while
   * sessions are open: each run prunes only what was already there at the
   * previous run (that run's HIGHESTMODSEQ of each mailbox), so a tombstone
   * goes only after every session has had time to see it: a session that
   * sends no command is logged out within the IMAP inactivity timeout
   * (RFC 3501 §5.4: 30 minutes and a little), and IDLE reads the feed at once.
   * The first run only takes the snapshot.
   */
  tombstonePruner(keep: number = tombstonesKept): () => number {
    let horizon: Map<number, number> | undefined;
    return () => {
      const pruned = horizon ? this.pruneTombstones(keep, horizon) : 0;
      horizon = this.messages.modseqSnapshot();
      return pruned;
    };
  }

  /** At start: drop unreferenced bodies, then files that no row names and leftovers in tmp/. */
  sweep(): { tmpRemoved: number; orphansRemoved: number; bodiesRemoved: number } {
    const bodiesRemoved = this.db.prepare('DELETE FROM bodies WHERE refs = 0').run().changes;
    const known = this.db.prepare('SELECT 1 FROM bodies WHERE file = ?');
    const swept = this.files.sweep((file) => known.get(file) !== undefined);
    return { ...swept, bodiesRemoved };
  }
}
