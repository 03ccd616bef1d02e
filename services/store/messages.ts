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

import type { Database, Statement } from 'better-sqlite3';
import { applyFlags, deletedBit, keywordList, keywordsText, parseFlags, seenBit, type FlagSet } from './flags.ts';
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
}

const pageSize = 500;
const recordColumns = 'm.id, m.uid, m.modseq, m.flags, m.keywords, m.internal_date, m.size, m.body_id, b.file';

function toRecord(row: RecordRow): MessageRecord {
  return { id: row.id, uid: row.uid, modseq: row.modseq, flags: row.flags, keywords: row.keywords, internalDate: row.internal_date, size: row.size, bodyId: row.body_id, file: row.file };
}

export class MessageTable {
  private readonly byRange: Statement;
  private readonly byRangeChanged: Statement;

  constructor(private readonly db: Database) {
    this.byRange = db.prepare(`SELECT ${recordColumns} FROM messages m JOIN bodies b ON b.id = m.body_id WHERE m.mailbox_id = ? AND m.uid BETWEEN ? AND ? ORDER BY m.uid LIMIT ?`);
    this.byRangeChanged = db.prepare(`SELECT ${recordColumns} FROM messages m JOIN bodies b ON b.id = m.body_id WHERE m.mailbox_id = ? AND m.uid BETWEEN ? AND ? AND m.modseq > ? ORDER BY m.uid LIMIT ?`);
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
   * stay open while the caller does asynchronous work between items.
   */
  *records(mailboxId: number, ranges: UidRanges, changedSince?: number): Generator<MessageRecord> {
    for (const [start, end] of ranges) {
      let from = start;
      while (from <= end) {
        const rows = (changedSince === undefined ? this.byRange.all(mailboxId, from, end, pageSize) : this.byRangeChanged.all(mailboxId, from, end, changedSince, pageSize)) as RecordRow[];
        for (const row of rows) yield toRecord(row);
        if (rows.length < pageSize) break;
        from = rows[rows.length - 1]!.uid + 1;
      }
    }
  }

  /** A snapshot of the records, for work that writes while it walks them. */
  recordList(mailboxId: number, ranges: UidRanges): MessageRecord[] {
    return [...this.records(mailboxId, ranges)];
  }

  /** STORE (RFC 3501 §6.4.6, RFC 7162 §3.1.3): one MODSEQ for every message it changes. */
  setFlags(mailbox: Mailbox, ranges: UidRanges, operation: 'add' | 'remove' | 'replace', flags: readonly string[], unchangedSince?: number): FlagChange[] {
    const change = parseFlags(flags);
    const results: FlagChange[] = [];
    let modseq: number | undefined;
    let unseenDelta = 0;
    const update = this.db.prepare('UPDATE messages SET flags = ?, keywords = ?, modseq = ? WHERE id = ?');
    for (const record of this.recordList(mailbox.id, ranges)) {
      if (unchangedSince !== undefined && record.modseq > unchangedSince) {
        results.push({ uid: record.uid, modseq: record.modseq, flags: record.flags, keywords: record.keywords, status: 'modified' });
        continue;
      }
      const next = applyFlags({ bits: record.flags, keywords: keywordList(record.keywords) }, operation, change);
      const nextKeywords = keywordsText(next.keywords);
      if (next.bits === record.flags && nextKeywords === record.keywords) {
        results.push({ uid: record.uid, modseq: record.modseq, flags: record.flags, keywords: record.keywords, status: 'unchanged' });
        continue;
      }
      modseq ??= this.allocate(mailbox.id, 0).modseq;
      update.run(next.bits, nextKeywords, modseq, record.id);
      unseenDelta += (record.flags & seenBit ? 0 : 1) - (next.bits & seenBit ? 0 : 1);
      results.push({ uid: record.uid, modseq, flags: next.bits, keywords: nextKeywords, status: 'updated' });
    }
    if (unseenDelta) this.db.prepare('UPDATE mailboxes SET unseen = unseen - ? WHERE id = ?').run(unseenDelta, mailbox.id);
    this.rememberKeywords(mailbox.id, change.keywords);
    return results;
  }

  /**
   * COPY/MOVE (RFC 3501 §6.4.7, RFC 6851, RFC 4315 COPYUID): new rows in the
   * destination sharing the bodies, flags kept. With `move`, the sources are
   * expunged (tombstones) in the same transaction.
   */
  copy(source: Mailbox, ranges: UidRanges, destination: Mailbox, accountAddress: string, move: boolean): { source: number[]; destination: number[]; expungeModseq?: number; modseq?: number } {
    if (destination.noselect) throw new MailError('noselect', `${destination.name} only holds other mailboxes and cannot hold messages`);
    const records = this.recordList(source.id, ranges);
    if (records.length === 0) return { source: [], destination: [] };
    const bytes = records.reduce((sum, r) => sum + r.size, 0);
    if (!move || source.accountId !== destination.accountId) this.checkQuota(destination.accountId, accountAddress, bytes);
    const unseen = records.filter((r) => !(r.flags & seenBit)).length;
    const { firstUid, modseq } = this.allocate(destination.id, records.length, { messages: records.length, unseen, size: bytes });
    const insert = this.db.prepare('INSERT INTO messages (mailbox_id, uid, modseq, body_id, flags, keywords, internal_date, size) VALUES (?, ?, ?, ?, ?, ?, ?, ?)');
    const addRef = this.db.prepare('UPDATE bodies SET refs = refs + 1 WHERE id = ?');
    const keywords = new Set<string>();
    records.forEach((record, i) => {
      insert.run(destination.id, firstUid + i, modseq, record.bodyId, record.flags, record.keywords, record.internalDate, record.size);
      addRef.run(record.bodyId);
      for (const keyword of keywordList(record.keywords)) keywords.add(keyword);
    });
    this.rememberKeywords(destination.id, [...keywords]);
    this.db.prepare('UPDATE accounts SET used_bytes = used_bytes + ? WHERE id = ?').run(bytes, destination.accountId);
    const result = { source: records.map((r) => r.uid), destination: records.map((_, i) => firstUid + i), modseq };
    if (!move) return result;
    const expungeModseq = this.remove(source, records);
    return { ...result, expungeModseq };
  }

  /** EXPUNGE (RFC 3501 §6.4.3) / UID EXPUNGE (RFC 4315 §2.1): messages with \Deleted, within `ranges` when given. */
  expunge(mailbox: Mailbox, ranges?: UidRanges): { uids: number[]; modseq?: number } {
    const records = ranges
      ? this.recordList(mailbox.id, ranges).filter((r) => r.flags & deletedBit)
      : (this.db.prepare(`SELECT ${recordColumns} FROM messages m JOIN bodies b ON b.id = m.body_id WHERE m.mailbox_id = ? AND (m.flags & 8) != 0 ORDER BY m.uid`).all(mailbox.id) as RecordRow[]).map(toRecord);
    if (records.length === 0) return { uids: [] };
    return { uids: records.map((r) => r.uid), modseq: this.remove(mailbox, records) };
  }

  /** Deletes rows, leaves tombstones, releases their bodies and quota. Returns the tombstones' MODSEQ. */
  remove(mailbox: Mailbox, records: readonly MessageRecord[]): number {
    const bytes = records.reduce((sum, r) => sum + r.size, 0);
    const unseen = records.filter((r) => !(r.flags & seenBit)).length;
    const { modseq } = this.allocate(mailbox.id, 0, { messages: -records.length, unseen: -unseen, size: -bytes });
    const remove = this.db.prepare('DELETE FROM messages WHERE id = ?');
    const tombstone = this.db.prepare('INSERT OR REPLACE INTO expunged (mailbox_id, uid, modseq) VALUES (?, ?, ?)');
    const release = this.db.prepare('UPDATE bodies SET refs = refs - 1 WHERE id = ?');
    for (const record of records) {
      remove.run(record.id);
      tombstone.run(mailbox.id, record.uid, modseq);
      release.run(record.bodyId);
    }
    this.db.prepare('UPDATE accounts SET used_bytes = max(used_bytes - ?, 0) WHERE id = ?').run(bytes, mailbox.accountId);
    return modseq;
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

  /** The change feed: messages new or changed, and tombstones, with MODSEQ above `since`, in MODSEQ order. */
  changes(mailboxId: number, since: number): ChangeEntry[] {
    const rows = this.db
      .prepare(
        `SELECT 'message' AS kind, uid, modseq, flags, keywords FROM messages WHERE mailbox_id = @id AND modseq > @since
         UNION ALL
         SELECT 'expunge' AS kind, uid, modseq, NULL, NULL FROM expunged WHERE mailbox_id = @id AND modseq > @since
         ORDER BY modseq, uid`,
      )
      .all({ id: mailboxId, since }) as { kind: 'message' | 'expunge'; uid: number; modseq: number; flags: number | null; keywords: string | null }[];
    return rows.map((r) => (r.kind === 'message' ? { kind: r.kind, uid: r.uid, modseq: r.modseq, flags: r.flags!, keywords: r.keywords! } : { kind: r.kind, uid: r.uid, modseq: r.modseq }));
  }

  /** Tombstones of UIDs in `ranges` expunged after `since` (QRESYNC VANISHED (EARLIER)). */
  expungedSince(mailboxId: number, since: number, ranges: UidRanges): number[] {
    const query = this.db.prepare('SELECT uid FROM expunged WHERE mailbox_id = ? AND modseq > ? AND uid BETWEEN ? AND ? ORDER BY uid').pluck();
    return ranges.flatMap(([start, end]) => query.all(mailboxId, since, start, end) as number[]);
  }
}
