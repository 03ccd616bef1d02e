// Messages in mailboxes: insertion with UID/MODSEQ allocation, flag changes,
// copy and move, expunge with tombstones, and the change feed by MODSEQ.
//
// Invariants a reader must keep:
// - Every change takes its MODSEQ from one `UPDATE mailboxes ... RETURNING` in
//   the same transaction as the rows it touches; one command's changes share
//   one MODSEQ (RFC 7162 §3.1 allows it), and it is greater than all before.
// - An expunged message leaves a tombstone (uid, modseq) in `expunged`.
// - Counters (mailbox messages/unseen/size, account used_bytes) and body
//   reference counts change in the same transaction as the rows.
// - These methods run inside a transaction opened by the caller (MailStore),
//   which emits events after commit.
// - Nothing here loads a whole mailbox: STORE walks its ranges a page at a
//   time and keeps only a compact result (typed arrays), COPY/MOVE/EXPUNGE are
//   set-based SQL over the UID ranges, and the change feed is read a page at a
//   time in (MODSEQ, UID) order, so no statement stays open across an await
//   (the one connection is shared by every session).
// - Tombstones with a MODSEQ at or below a mailbox's `tombstones_pruned_modseq`
//   may be gone (pruneTombstones); `expungedSince` answers null for a MODSEQ
//   below it, so that QRESYNC falls back to "anything not here may have
//   vanished" (RFC 7162 §3.2.5.2, §3.2.6).

import type { Database, Statement } from 'better-sqlite3';
import { applyFlags, keywordList, keywordsText, parseFlags, seenBit, type FlagSet } from './flags.ts';
import { MailError } from './mail-errors.ts';
import type { Mailbox } from './mailboxes.ts';

/** Sorted, merged, inclusive UID ranges. */
export type UidRanges = readonly (readonly [number, number])[];

export interface MessageRecord {
  id: number;
  uid: number;
  modseq: number;
  flags: number;
  keywords: string;
  internalDate: number;
  size: number;
  bodyId: number;
  file: string;
  /** The stored structure (JSON), when asked for (`records(..., body)`). */
  structure?: string;
  /** The raw header block kept in the row (migration 9), when asked for and kept; otherwise null or absent. */
  header?: Buffer | null;
}

export interface FlagChange {
  uid: number;
  modseq: number;
  flags: number;
  keywords: string;
  status: 'updated' | 'unchanged' | 'modified';
}

export interface ChangeEntry {
  kind: 'message' | 'expunge';
  uid: number;
  modseq: number;
  flags?: number;
  keywords?: string;
}

interface RecordRow {
  id: number;
  uid: number;
  modseq: number;
  flags: number;
  keywords: string;
  internal_date: number;
  size: number;
  body_id: number;
  file: string;
  structure?: string;
  header?: Buffer | null;
}

const pageSize = 500;
const recordColumns = 'm.id, m.uid, m.modseq, m.flags, m.keywords, m.internal_date, m.size, m.body_id, b.file';

function toRecord(row: RecordRow): MessageRecord {
  const record: MessageRecord = { id: row.id, uid: row.uid, modseq: row.modseq, flags: row.flags, keywords: row.keywords, internalDate: row.internal_date, size: row.size, bodyId: row.body_id, file: row.file };
  if (row.structure !== undefined) {
    record.structure = row.structure;
    record.header = row.header ?? null;
  }
  return record;
}

/** `(flags & 8) != 0` spelt as the partial index messages_deleted is, so that SQLite uses it. */
const deletedTerm = '(flags & 8) != 0';

/**
 * The result of a STORE, compact: a STORE 1:* on 100,000 messages keeps
 * about 2 MB here instead of 100,000 objects, and the objects the library
 * reads are made one at a time as it iterates.
 */
export class FlagChangeList implements Iterable<FlagChange> {
  private uids = new Uint32Array(64);
  private modseqs = new Float64Array(64);
  private bits = new Uint8Array(64);
  private statuses = new Uint8Array(64);
  private keywordTexts: string[] = [];
  length = 0;
  /** The MODSEQ of the messages this STORE changed, if it changed any. */
  modseq: number | undefined;

  push(uid: number, modseq: number, flags: number, keywords: string, status: FlagChange['status']): void {
    if (this.length === this.uids.length) {
      const grow = <T extends Uint32Array | Float64Array | Uint8Array>(array: T, make: (n: number) => T): T => {
        const next = make(array.length * 2);
        next.set(array);
        return next;
      };
      this.uids = grow(this.uids, (n) => new Uint32Array(n));
      this.modseqs = grow(this.modseqs, (n) => new Float64Array(n));
      this.bits = grow(this.bits, (n) => new Uint8Array(n));
      this.statuses = grow(this.statuses, (n) => new Uint8Array(n));
    }
    const i = this.length++;
    this.uids[i] = uid;
    this.modseqs[i] = modseq;
    this.bits[i] = flags;
    this.statuses[i] = status === 'updated' ? 0 : status === 'unchanged' ? 1 : 2;
    // Most messages share a keyword text: the array holds references to a few strings.
    this.keywordTexts.push(keywords);
  }

  at(i: number): FlagChange {
    const code = this.statuses[i]!;
    return { uid: this.uids[i]!, modseq: this.modseqs[i]!, flags: this.bits[i]!, keywords: this.keywordTexts[i]!, status: code === 0 ? 'updated' : code === 1 ? 'unchanged' : 'modified' };
  }

  *[Symbol.iterator](): Iterator<FlagChange> {
    for (let i = 0; i < this.length; i++) yield this.at(i);
  }

  /** For tests and small results. */
  toArray(): FlagChange[] {
    return [...this];
  }
}

/** The ranges cut to UIDs below `uidNext`. */
function belowUid(ranges: UidRanges, uidNext: number): UidRanges {
  const cut: [number, number][] = [];
  for (const [start, end] of ranges) if (start < uidNext) cut.push([start, Math.min(end, uidNext - 1)]);
  return cut;
}

/** What `records` joins from the body row: nothing, the structure, or the structure and the kept header. */
export type BodyColumns = 'none' | 'structure' | 'header';

export class MessageTable {
  /** [changedSince?][columns] → statement. */
  private readonly byRange: Record<'all' | 'changed', Record<BodyColumns, Statement>>;

  constructor(private readonly db: Database) {
    const columns: Record<BodyColumns, string> = { none: recordColumns, structure: `${recordColumns}, b.structure, NULL AS header`, header: `${recordColumns}, b.structure, b.header` };
    const make = (changed: boolean) =>
      Object.fromEntries(
        (Object.keys(columns) as BodyColumns[]).map((key) => [
          key,
          db.prepare(`SELECT ${columns[key]} FROM messages m JOIN bodies b ON b.id = m.body_id WHERE m.mailbox_id = ? AND m.uid BETWEEN ? AND ?${changed ? ' AND m.modseq > ?' : ''} ORDER BY m.uid LIMIT ?`),
        ]),
      ) as Record<BodyColumns, Statement>;
    this.byRange = { all: make(false), changed: make(true) };
  }

  /** Reserves `count` UIDs and one new MODSEQ; adjusts the counters by the given deltas. */
  allocate(mailboxId: number, count: number, delta: { messages?: number; unseen?: number; size?: number } = {}): { firstUid: number; modseq: number } {
    const row = this.db
      .prepare(
        `UPDATE mailboxes SET uid_next = uid_next + ?, highest_modseq = highest_modseq + 1,
           messages = messages + ?, unseen = unseen + ?, size = size + ?
         WHERE id = ? RETURNING uid_next - ? AS firstUid, highest_modseq AS modseq`,
      )
      .get(count, delta.messages ?? 0, delta.unseen ?? 0, delta.size ?? 0, mailboxId, count) as { firstUid: number; modseq: number } | undefined;
    if (!row) throw new MailError('nonexistent', 'the mailbox no longer exists');
    return row;
  }

  private rememberKeywords(mailboxId: number, keywords: readonly string[]): void {
    const insert = this.db.prepare('INSERT OR IGNORE INTO mailbox_keywords (mailbox_id, keyword) VALUES (?, ?)');
    for (const keyword of keywords) insert.run(mailboxId, keyword);
  }

  /** Fails with `overquota` unless `bytes` more fit in the account. */
  checkQuota(accountId: number, address: string, bytes: number): void {
    const usage = this.db.prepare('SELECT quota_bytes, used_bytes FROM accounts WHERE id = ?').get(accountId) as { quota_bytes: number; used_bytes: number } | undefined;
    if (!usage) throw new MailError('nonexistent', `the user ${address} no longer exists`);
    if (usage.quota_bytes > 0 && usage.used_bytes + bytes > usage.quota_bytes) {
      throw new MailError('overquota', `the mailbox of ${address} is full (${usage.used_bytes} of ${usage.quota_bytes} bytes used; this needs ${bytes} more)`);
    }
  }

  /** Inserts one new message; the caller checked quota. */
  insert(mailbox: Mailbox, bodyId: number, size: number, flags: FlagSet, internalDate: number): { uid: number; modseq: number } {
    if (mailbox.noselect) throw new MailError('noselect', `${mailbox.name} cannot hold messages`);
    const { firstUid: uid, modseq } = this.allocate(mailbox.id, 1, { messages: 1, unseen: flags.bits & seenBit ? 0 : 1, size });
    this.db
      .prepare('INSERT INTO messages (mailbox_id, uid, modseq, body_id, flags, keywords, internal_date, size) VALUES (?, ?, ?, ?, ?, ?, ?, ?)')
      .run(mailbox.id, uid, modseq, bodyId, flags.bits, keywordsText(flags.keywords), internalDate, size);
    this.rememberKeywords(mailbox.id, flags.keywords);
    this.db.prepare('UPDATE accounts SET used_bytes = used_bytes + ? WHERE id = ?').run(size, mailbox.accountId);
    return { uid, modseq };
  }

  /**
   * Messages of the ranges that exist, ascending by UID, read a page at a time:
   * the one SQLite connection is shared by every session, so no statement may
   * stay open while the caller does asynchronous work between items. With
   * `body`, each record also carries the body's structure (and kept header):
   * one join instead of a query per message, and the header's octets only
   * when a section will be read.
   */
  *records(mailboxId: number, ranges: UidRanges, changedSince?: number, body: BodyColumns = 'none'): Generator<MessageRecord> {
    const plain = this.byRange[changedSince === undefined ? 'all' : 'changed'][body];
    for (const [start, end] of ranges) {
      let from = start;
      while (from <= end) {
        const rows = (changedSince === undefined ? plain.all(mailboxId, from, end, pageSize) : plain.all(mailboxId, from, end, changedSince, pageSize)) as RecordRow[];
        for (const row of rows) yield toRecord(row);
        if (rows.length < pageSize) break;
        from = rows[rows.length - 1]!.uid + 1;
      }
    }
  }

  /** A snapshot of the records, for work that writes while it walks them (small sets: POP3's maildrop). */
  recordList(mailboxId: number, ranges: UidRanges): MessageRecord[] {
    return [...this.records(mailboxId, ranges)];
  }

  /**
   * STORE (RFC 3501 §6.4.6, RFC 7162 §3.1.3): one MODSEQ for every message it
   * changes. Walks the ranges a page at a time (a page is read whole before it
   * is written, so no statement is open during the updates); only the compact
   * result grows with the range.
   */
  setFlags(mailbox: Mailbox, ranges: UidRanges, operation: 'add' | 'remove' | 'replace', flags: readonly string[], unchangedSince?: number): FlagChangeList {
    const change = parseFlags(flags);
    const results = new FlagChangeList();
    let unseenDelta = 0;
    // System flags only (what most clients send: \Seen, \Deleted): no keyword lists to build.
    const bitsOnly = change.keywords.length === 0 && operation !== 'replace';
    const update = this.db.prepare('UPDATE messages SET flags = ?, keywords = ?, modseq = ? WHERE id = ?');
    const page = this.db.prepare('SELECT id, uid, modseq, flags, keywords FROM messages WHERE mailbox_id = ? AND uid BETWEEN ? AND ? ORDER BY uid LIMIT ?');
    for (const [start, end] of ranges) {
      let from = start;
      while (from <= end) {
        const rows = page.all(mailbox.id, from, end, pageSize) as { id: number; uid: number; modseq: number; flags: number; keywords: string }[];
        for (const record of rows) {
          if (unchangedSince !== undefined && record.modseq > unchangedSince) {
            results.push(record.uid, record.modseq, record.flags, record.keywords, 'modified');
            continue;
          }
          let nextBits: number;
          let nextKeywords: string;
          if (bitsOnly) {
            nextBits = operation === 'add' ? record.flags | change.bits : record.flags & ~change.bits;
            nextKeywords = record.keywords;
          } else {
            const next = applyFlags({ bits: record.flags, keywords: keywordList(record.keywords) }, operation, change);
            nextBits = next.bits;
            nextKeywords = keywordsText(next.keywords);
          }
          if (nextBits === record.flags && nextKeywords === record.keywords) {
            results.push(record.uid, record.modseq, record.flags, record.keywords, 'unchanged');
            continue;
          }
          results.modseq ??= this.allocate(mailbox.id, 0).modseq;
          update.run(nextBits, nextKeywords, results.modseq, record.id);
          unseenDelta += (record.flags & seenBit ? 0 : 1) - (nextBits & seenBit ? 0 : 1);
          results.push(record.uid, results.modseq, nextBits, nextKeywords, 'updated');
        }
        if (rows.length < pageSize) break;
        from = rows[rows.length - 1]!.uid + 1;
      }
    }
    if (unseenDelta) this.db.prepare('UPDATE mailboxes SET unseen = unseen - ? WHERE id = ?').run(unseenDelta, mailbox.id);
    this.rememberKeywords(mailbox.id, change.keywords);
    return results;
  }

  /** Octets of the \Deleted messages (STATUS DELETED-STORAGE), from the partial index messages_deleted. */
  deletedBytes(mailboxId: number): number {
    return this.tally(mailboxId, [[1, 0xffffffff]], true).bytes;
  }

  /** Count, octets and unseen count of the messages in `ranges` (only \Deleted ones with `deletedOnly`). */
  private tally(mailboxId: number, ranges: UidRanges, deletedOnly: boolean): { count: number; bytes: number; unseen: number } {
    const query = this.db.prepare(
      `SELECT count(*) AS count, coalesce(sum(size), 0) AS bytes, coalesce(sum((flags & 1) = 0), 0) AS unseen FROM messages WHERE mailbox_id = ? AND uid BETWEEN ? AND ?${deletedOnly ? ` AND ${deletedTerm}` : ''}`,
    );
    const total = { count: 0, bytes: 0, unseen: 0 };
    for (const [start, end] of ranges) {
      const row = query.get(mailboxId, start, end) as typeof total;
      total.count += row.count;
      total.bytes += row.bytes;
      total.unseen += row.unseen;
    }
    return total;
  }

  /** The UIDs that exist in `ranges`, ascending (only \Deleted ones with `deletedOnly`). */
  private uidsIn(mailboxId: number, ranges: UidRanges, deletedOnly: boolean): number[] {
    const query = this.db.prepare(`SELECT uid FROM messages WHERE mailbox_id = ? AND uid BETWEEN ? AND ?${deletedOnly ? ` AND ${deletedTerm}` : ''} ORDER BY uid`).pluck();
    const uids: number[] = [];
    for (const [start, end] of ranges) for (const uid of query.all(mailboxId, start, end) as number[]) uids.push(uid);
    return uids;
  }

  /**
   * COPY/MOVE (RFC 3501 §6.4.7, RFC 6851, RFC 4315 COPYUID): new rows in the
   * destination sharing the bodies, flags kept, in set-based SQL per range (no
   * record is loaded into JavaScript). With `move`, the sources are expunged
   * (tombstones) in the same transaction.
   */
  copy(source: Mailbox, ranges: UidRanges, destination: Mailbox, accountAddress: string, move: boolean): { source: number[]; destination: number[]; expungeModseq?: number; modseq?: number } {
    if (destination.noselect) throw new MailError('noselect', `${destination.name} only holds other mailboxes and cannot hold messages`);
    // Only the messages there before this copy: a COPY/MOVE into the same mailbox must
    // not pick up (or, for MOVE, expunge) the rows it is adding above UIDNEXT.
    ranges = belowUid(ranges, source.uidNext);
    const tally = this.tally(source.id, ranges, false);
    if (tally.count === 0) return { source: [], destination: [] };
    if (!move || source.accountId !== destination.accountId) this.checkQuota(destination.accountId, accountAddress, tally.bytes);
    const sourceUids = this.uidsIn(source.id, ranges, false);
    const { firstUid, modseq } = this.allocate(destination.id, tally.count, { messages: tally.count, unseen: tally.unseen, size: tally.bytes });
    // The i-th source UID (ascending) becomes firstUid + i (RFC 4315 §3: COPYUID pairs them in order).
    const insert = this.db.prepare(
      `INSERT INTO messages (mailbox_id, uid, modseq, body_id, flags, keywords, internal_date, size)
       SELECT @destination, @base + row_number() OVER (ORDER BY uid) - 1, @modseq, body_id, flags, keywords, internal_date, size
       FROM messages WHERE mailbox_id = @source AND uid BETWEEN @start AND @end ORDER BY uid`,
    );
    const addRefs = this.db.prepare(
      `UPDATE bodies SET refs = refs + (SELECT count(*) FROM messages m WHERE m.body_id = bodies.id AND m.mailbox_id = @source AND m.uid BETWEEN @start AND @end)
       WHERE id IN (SELECT body_id FROM messages WHERE mailbox_id = @source AND uid BETWEEN @start AND @end)`,
    );
    const keywordTexts = this.db.prepare("SELECT DISTINCT keywords FROM messages WHERE mailbox_id = ? AND uid BETWEEN ? AND ? AND keywords != ''").pluck();
    const keywords = new Set<string>();
    let base = firstUid;
    for (const [start, end] of ranges) {
      addRefs.run({ source: source.id, start, end });
      base += insert.run({ destination: destination.id, base, modseq, source: source.id, start, end }).changes;
      for (const text of keywordTexts.all(source.id, start, end) as string[]) for (const keyword of keywordList(text)) keywords.add(keyword);
    }
    this.rememberKeywords(destination.id, [...keywords]);
    this.db.prepare('UPDATE accounts SET used_bytes = used_bytes + ? WHERE id = ?').run(tally.bytes, destination.accountId);
    const destinationUids = Array.from({ length: tally.count }, (_, i) => firstUid + i);
    const result = { source: sourceUids, destination: destinationUids, modseq };
    if (!move) return result;
    const expungeModseq = this.removeRanges(source, ranges, false).modseq;
    return { ...result, expungeModseq };
  }

  /** EXPUNGE (RFC 3501 §6.4.3) / UID EXPUNGE (RFC 4315 §2.1): messages with \Deleted, within `ranges` when given. */
  expunge(mailbox: Mailbox, ranges?: UidRanges): { uids: number[]; modseq?: number } {
    return this.removeRanges(mailbox, ranges ?? [[1, 0xffffffff]], true);
  }

  /**
   * Deletes the rows of `ranges` (only \Deleted ones with `deletedOnly`),
   * leaves tombstones, releases their bodies and quota, in set-based SQL.
   * Returns the UIDs removed and the tombstones' MODSEQ.
   */
  removeRanges(mailbox: Mailbox, ranges: UidRanges, deletedOnly: boolean): { uids: number[]; modseq?: number } {
    const tally = this.tally(mailbox.id, ranges, deletedOnly);
    if (tally.count === 0) return { uids: [] };
    const uids = this.uidsIn(mailbox.id, ranges, deletedOnly);
    const { modseq } = this.allocate(mailbox.id, 0, { messages: -tally.count, unseen: -tally.unseen, size: -tally.bytes });
    const only = deletedOnly ? ` AND ${deletedTerm}` : '';
    const release = this.db.prepare(
      `UPDATE bodies SET refs = refs - (SELECT count(*) FROM messages m WHERE m.body_id = bodies.id AND m.mailbox_id = @mailbox AND m.uid BETWEEN @start AND @end${only.replace('flags', 'm.flags')})
       WHERE id IN (SELECT body_id FROM messages WHERE mailbox_id = @mailbox AND uid BETWEEN @start AND @end${only})`,
    );
    const tombstone = this.db.prepare(`INSERT OR REPLACE INTO expunged (mailbox_id, uid, modseq) SELECT mailbox_id, uid, @modseq FROM messages WHERE mailbox_id = @mailbox AND uid BETWEEN @start AND @end${only}`);
    const remove = this.db.prepare(`DELETE FROM messages WHERE mailbox_id = @mailbox AND uid BETWEEN @start AND @end${only}`);
    for (const [start, end] of ranges) {
      release.run({ mailbox: mailbox.id, start, end });
      tombstone.run({ mailbox: mailbox.id, start, end, modseq });
      remove.run({ mailbox: mailbox.id, start, end });
    }
    this.db.prepare('UPDATE accounts SET used_bytes = max(used_bytes - ?, 0) WHERE id = ?').run(tally.bytes, mailbox.accountId);
    return { uids, modseq };
  }

  /** Removes every message of a mailbox without tombstones (the mailbox is going away). */
  removeAll(mailbox: Mailbox): void {
    const bytes = (this.db.prepare('SELECT coalesce(sum(size), 0) FROM messages WHERE mailbox_id = ?').pluck().get(mailbox.id) as number) ?? 0;
    this.db
      .prepare('UPDATE bodies SET refs = refs - (SELECT count(*) FROM messages m WHERE m.body_id = bodies.id AND m.mailbox_id = @id) WHERE id IN (SELECT body_id FROM messages WHERE mailbox_id = @id)')
      .run({ id: mailbox.id });
    this.db.prepare('DELETE FROM messages WHERE mailbox_id = ?').run(mailbox.id);
    this.db.prepare('UPDATE accounts SET used_bytes = max(used_bytes - ?, 0) WHERE id = ?').run(bytes, mailbox.accountId);
  }

  /**
   * The change feed: messages new or changed, and tombstones, with MODSEQ above
   * `since`, in (MODSEQ, UID) order, read a page at a time (keyset paging on
   * the indexes messages_modseq and expunged_modseq), so that a STORE 1:* on a
   * large mailbox never becomes one array. A change committed while the feed
   * is being read has a higher MODSEQ and is still reached.
   */
  *changes(mailboxId: number, since: number): Generator<ChangeEntry> {
    const page = this.db.prepare(
      `SELECT kind, uid, modseq, flags, keywords FROM (
         SELECT 0 AS kind, uid, modseq, flags, keywords FROM messages WHERE mailbox_id = @id AND (modseq, uid) > (@modseq, @uid) AND modseq > @since
         UNION ALL
         SELECT 1 AS kind, uid, modseq, NULL, NULL FROM expunged WHERE mailbox_id = @id AND (modseq, uid) > (@modseq, @uid) AND modseq > @since
       ) ORDER BY modseq, uid LIMIT @limit`,
    );
    let modseq = since;
    let uid = 0;
    for (;;) {
      const rows = page.all({ id: mailboxId, since, modseq, uid, limit: pageSize }) as { kind: 0 | 1; uid: number; modseq: number; flags: number | null; keywords: string | null }[];
      for (const r of rows) yield r.kind === 0 ? { kind: 'message', uid: r.uid, modseq: r.modseq, flags: r.flags!, keywords: r.keywords! } : { kind: 'expunge', uid: r.uid, modseq: r.modseq };
      if (rows.length < pageSize) return;
      const last = rows[rows.length - 1]!;
      modseq = last.modseq;
      uid = last.uid;
    }
  }

  /**
   * Tombstones of UIDs in `ranges` expunged after `since`, ascending (QRESYNC
   * VANISHED (EARLIER), RFC 7162 §3.2.5.2, §3.2.6), from the tombstone index;
   * null when tombstones after `since` may have been pruned: the caller must
   * then treat every UID it knows of that is not in the mailbox as vanished.
   */
  /** Each mailbox's HIGHESTMODSEQ now: a later pruneTombstones horizon. */
  modseqSnapshot(): Map<number, number> {
    const rows = this.db.prepare('SELECT id, highest_modseq FROM mailboxes').raw().all() as [number, number][];
    return new Map(rows);
  }

  expungedSince(mailboxId: number, since: number, ranges: UidRanges): number[] | null {
    const pruned = this.db.prepare('SELECT tombstones_pruned_modseq FROM mailboxes WHERE id = ?').pluck().get(mailboxId) as number | undefined;
    if (pruned !== undefined && since < pruned) return null;
    const query = this.db.prepare('SELECT uid FROM expunged WHERE mailbox_id = ? AND uid BETWEEN ? AND ? AND modseq > ? ORDER BY uid').pluck();
    const uids: number[] = [];
    for (const [start, end] of ranges) for (const uid of query.all(mailboxId, start, end, since) as number[]) uids.push(uid);
    return uids;
  }

  /**
   * Drops the oldest tombstones of every mailbox that has more than `keep`,
   * and records per mailbox up to which MODSEQ they are gone. Returns how many
   * went. With `horizon` (mailbox id → MODSEQ), none above a mailbox's horizon
   * goes, and mailboxes without one keep all. Runs in the caller's transaction.
   */
  pruneTombstones(keep: number, horizon?: ReadonlyMap<number, number>): number {
    const crowded = this.db.prepare('SELECT mailbox_id FROM expunged GROUP BY mailbox_id HAVING count(*) > ?').pluck().all(keep) as number[];
    let removed = 0;
    for (const mailboxId of crowded) {
      // The MODSEQ of the (keep+1)-th newest tombstone: it and every older one go.
      let cutoff = this.db.prepare('SELECT modseq FROM expunged WHERE mailbox_id = ? ORDER BY modseq DESC, uid DESC LIMIT 1 OFFSET ?').pluck().get(mailboxId, keep) as number | undefined;
      if (cutoff === undefined) continue;
      if (horizon) {
        const limit = horizon.get(mailboxId);
        if (limit === undefined) continue;
        cutoff = Math.min(cutoff, limit);
      }
      removed += this.db.prepare('DELETE FROM expunged WHERE mailbox_id = ? AND modseq <= ?').run(mailboxId, cutoff).changes;
      this.db.prepare('UPDATE mailboxes SET tombstones_pruned_modseq = max(tombstones_pruned_modseq, ?) WHERE id = ?').run(cutoff, mailboxId);
    }
    return removed;
  }
}
