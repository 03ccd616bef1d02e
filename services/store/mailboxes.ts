// Mailboxes of an account: create, delete, rename, subscriptions, status, and
// what SELECT needs. Messages themselves are in messages.ts.
//
// Invariants a reader must keep:
// - UIDVALIDITY values come from one counter and never repeat, so a mailbox
//   deleted and made again under the same name gets a new one (RFC 3501 §2.3.1.1).
// - A mailbox with children that is deleted keeps its row as \Noselect with its
//   messages gone (RFC 3501 §6.3.4); a \Noselect mailbox holds no messages.
// - Subscriptions are names, kept apart from mailboxes: deleting a mailbox does
//   not unsubscribe it (RFC 3501 §6.3.6); renaming does move them (as clients expect).
// - \Recent: `first_recent_uid` is the first UID no session has claimed; a
//   read-write SELECT (or a session seeing new mail) claims up to UIDNEXT, so
//   every message is \Recent in exactly one session.

import type { Database } from 'better-sqlite3';
import { MailError } from './mail-errors.ts';
import { relaxed } from './statements.ts';
import { defaultMailboxes, MailboxNameError, normalizeMailboxName, parentsOf, separator, specialUses, type SpecialUse } from './mailbox-names.ts';

export interface Mailbox {
  id: number;
  accountId: number;
  name: string;
  specialUse: SpecialUse | null;
  uidValidity: number;
  uidNext: number;
  highestModseq: number;
  firstRecentUid: number;
  noselect: boolean;
  messages: number;
  unseen: number;
  size: number;
  /** Tombstones with a MODSEQ at or below this may have been pruned (migration 9). */
  tombstonesPrunedModseq: number;
}

export interface MailboxStatus {
  messages: number;
  recent: number;
  uidNext: number;
  uidValidity: number;
  unseen: number;
  highestModseq: number;
  size: number;
  deleted: number;
}

export interface OpenedMailbox {
  mailbox: Mailbox;
  uids: Uint32Array;
  /** UIDs at or above this one are \Recent in this session (claimed by a read-write open; only shown by a read-only one). */
  recentFrom: number;
  keywords: string[];
  firstUnseenUid: number | null;
}

interface MailboxRow {
  id: number;
  account_id: number;
  name: string;
  special_use: string | null;
  uid_validity: number;
  uid_next: number;
  highest_modseq: number;
  first_recent_uid: number;
  noselect: number;
  messages: number;
  unseen: number;
  size: number;
  tombstones_pruned_modseq: number;
}

function toMailbox(row: MailboxRow): Mailbox {
  return {
    id: row.id,
    accountId: row.account_id,
    name: row.name,
    specialUse: row.special_use as SpecialUse | null,
    uidValidity: row.uid_validity,
    uidNext: row.uid_next,
    highestModseq: row.highest_modseq,
    firstRecentUid: row.first_recent_uid,
    noselect: row.noselect === 1,
    messages: row.messages,
    unseen: row.unseen,
    size: row.size,
    tombstonesPrunedModseq: row.tombstones_pruned_modseq,
  };
}

function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}

export class MailboxTable {
  constructor(private readonly db: Database) {}

  private nextUidValidity(): number {
    return this.db
      .prepare(
        `INSERT INTO counters (name, value) VALUES ('uid_validity', max(unixepoch(), 1))
         ON CONFLICT(name) DO UPDATE SET value = max(value + 1, unixepoch()) RETURNING value`,
      )
      .pluck()
      .get() as number;
  }

  private insert(accountId: number, name: string, specialUse: SpecialUse | null): Mailbox {
    const row = this.db
      .prepare('INSERT INTO mailboxes (account_id, name, special_use, uid_validity, created_at) VALUES (?, ?, ?, ?, ?) RETURNING *')
      .get(accountId, name, specialUse, this.nextUidValidity(), Date.now()) as MailboxRow;
    return toMailbox(row);
  }

  /** The default set for a new account, subscribed. Runs inside the account's transaction. */
  createDefaults(accountId: number): void {
    for (const mailbox of defaultMailboxes) {
      this.insert(accountId, mailbox.name, mailbox.specialUse);
      this.db.prepare('INSERT OR IGNORE INTO subscriptions (account_id, name) VALUES (?, ?)').run(accountId, mailbox.name);
    }
  }

  list(accountId: number): Mailbox[] {
    const rows = this.db.prepare(`SELECT * FROM mailboxes WHERE account_id = ? ORDER BY name = 'INBOX' DESC, name`).all(accountId) as MailboxRow[];
    return rows.map(toMailbox);
  }

  find(accountId: number, name: string): Mailbox | undefined {
    let normalized: string;
    try {
      normalized = normalizeMailboxName(name);
    } catch {
      return undefined;
    }
    const row = this.db.prepare('SELECT * FROM mailboxes WHERE account_id = ? AND name = ?').get(accountId, normalized) as MailboxRow | undefined;
    return row && toMailbox(row);
  }

  byId(id: number): Mailbox | undefined {
    const row = this.db.prepare('SELECT * FROM mailboxes WHERE id = ?').get(id) as MailboxRow | undefined;
    return row && toMailbox(row);
  }

  /** A mailbox that must exist and hold messages. */
  selectable(accountId: number, name: string): Mailbox {
    const mailbox = this.find(accountId, name);
    if (!mailbox) throw new MailError('nonexistent', `there is no mailbox ${name}`);
    if (mailbox.noselect) throw new MailError('noselect', `${mailbox.name} only holds other mailboxes and cannot hold messages`);
    return mailbox;
  }

  /** Creates a mailbox and any missing parents; a \Noselect one of that name becomes selectable again. */
  create(accountId: number, input: string, specialUse: SpecialUse | null = null): Mailbox {
    const name = normalizeMailboxName(input);
    if (specialUse && !specialUses.includes(specialUse)) throw new MailError('useattr', `${specialUse} is not a special use this server knows`);
    return this.db.transaction(() => {
      const existing = this.find(accountId, name);
      if (existing && !existing.noselect) throw new MailError('exists', `the mailbox ${name} already exists`);
      if (specialUse && this.db.prepare('SELECT 1 FROM mailboxes WHERE account_id = ? AND special_use = ?').get(accountId, specialUse)) {
        throw new MailError('useattr', `another mailbox already has the special use ${specialUse}`);
      }
      for (const parent of parentsOf(name)) {
        if (!this.find(accountId, parent)) this.insert(accountId, parent, null);
      }
      if (existing) {
        this.db.prepare('UPDATE mailboxes SET noselect = 0, special_use = ?, uid_validity = ?, uid_next = 1, first_recent_uid = 1 WHERE id = ?').run(specialUse, this.nextUidValidity(), existing.id);
        return this.byId(existing.id)!;
      }
      return this.insert(accountId, name, specialUse);
    }).immediate();
  }

  private hasChildren(mailbox: Mailbox): boolean {
    return this.db.prepare(`SELECT 1 FROM mailboxes WHERE account_id = ? AND name LIKE ? ESCAPE '\\' LIMIT 1`).get(mailbox.accountId, `${escapeLike(mailbox.name)}${separator}%`) !== undefined;
  }

  /**
   * Deletes a mailbox (RFC 3501 §6.3.4). With children it stays as \Noselect.
   * `removeMessages` is called inside the transaction to drop its messages.
   */
  delete(accountId: number, input: string, removeMessages: (mailbox: Mailbox) => void): Mailbox {
    const name = normalizeMailboxName(input);
    if (name === 'INBOX') throw new MailError('cannot', 'INBOX cannot be deleted');
    return this.db.transaction(() => {
      const mailbox = this.find(accountId, name);
      if (!mailbox) throw new MailError('nonexistent', `there is no mailbox ${name}`);
      const children = this.hasChildren(mailbox);
      if (mailbox.noselect && children) throw new MailError('cannot', `${name} only holds other mailboxes; delete them first`);
      removeMessages(mailbox);
      this.db.prepare('DELETE FROM mailbox_keywords WHERE mailbox_id = ?').run(mailbox.id);
      if (children) {
        this.db.prepare('UPDATE mailboxes SET noselect = 1, special_use = NULL, messages = 0, unseen = 0, size = 0 WHERE id = ?').run(mailbox.id);
      } else {
        this.db.prepare('DELETE FROM expunged WHERE mailbox_id = ?').run(mailbox.id);
        this.db.prepare('DELETE FROM mailboxes WHERE id = ?').run(mailbox.id);
      }
      return mailbox;
    }).immediate();
  }

  /**
   * Renames a mailbox and its children (RFC 3501 §6.3.5), creating missing
   * parents of the new name. Subscriptions follow. INBOX is handled by the
   * caller (its messages move; INBOX stays).
   */
  rename(accountId: number, fromInput: string, toInput: string): void {
    const from = normalizeMailboxName(fromInput);
    const to = normalizeMailboxName(toInput);
    if (from === 'INBOX') throw new MailError('cannot', 'use renameInbox for INBOX');
    if (to === 'INBOX') throw new MailError('exists', 'the mailbox INBOX already exists');
    if (to === from || to.startsWith(from + separator)) throw new MailError('cannot', `${from} cannot be renamed into itself`);
    this.db.transaction(() => {
      const mailbox = this.find(accountId, from);
      if (!mailbox) throw new MailError('nonexistent', `there is no mailbox ${from}`);
      if (this.find(accountId, to)) throw new MailError('exists', `the mailbox ${to} already exists`);
      const moving = this.db
        .prepare(`SELECT id, name FROM mailboxes WHERE account_id = ? AND (name = ? OR name LIKE ? ESCAPE '\\')`)
        .all(accountId, from, `${escapeLike(from)}${separator}%`) as { id: number; name: string }[];
      for (const parent of parentsOf(to)) {
        if (!this.find(accountId, parent)) this.insert(accountId, parent, null);
      }
      const renameRow = this.db.prepare('UPDATE mailboxes SET name = ? WHERE id = ?');
      const renameSubscription = this.db.prepare('UPDATE OR REPLACE subscriptions SET name = ? WHERE account_id = ? AND name = ?');
      for (const row of moving) {
        const newName = to + row.name.slice(from.length);
        if (Buffer.byteLength(newName) > 1000) throw new MailboxNameError(`the mailbox name ${newName} would be too long`);
        renameRow.run(newName, row.id);
        renameSubscription.run(newName, accountId, row.name);
      }
    }).immediate();
  }

  subscribe(accountId: number, input: string): void {
    const name = normalizeMailboxName(input);
    if (!this.find(accountId, name)) throw new MailError('nonexistent', `there is no mailbox ${name} to subscribe to`);
    this.db.prepare('INSERT OR IGNORE INTO subscriptions (account_id, name) VALUES (?, ?)').run(accountId, name);
  }

  unsubscribe(accountId: number, input: string): void {
    const name = normalizeMailboxName(input);
    this.db.prepare('DELETE FROM subscriptions WHERE account_id = ? AND name = ?').run(accountId, name);
  }

  subscriptions(accountId: number): Set<string> {
    return new Set(this.db.prepare('SELECT name FROM subscriptions WHERE account_id = ?').pluck().all(accountId) as string[]);
  }

  status(mailbox: Mailbox): MailboxStatus {
    const counts = this.db
      .prepare(
        `SELECT
           (SELECT count(*) FROM messages WHERE mailbox_id = @id AND uid >= @recent) AS recent,
           (SELECT count(*) FROM messages WHERE mailbox_id = @id AND (flags & 8) != 0) AS deleted`,
      )
      .get({ id: mailbox.id, recent: mailbox.firstRecentUid }) as { recent: number; deleted: number };
    return {
      messages: mailbox.messages,
      recent: counts.recent,
      uidNext: mailbox.uidNext,
      uidValidity: mailbox.uidValidity,
      unseen: mailbox.unseen,
      highestModseq: mailbox.highestModseq,
      size: mailbox.size,
      deleted: counts.deleted,
    };
  }

  keywords(mailboxId: number): string[] {
    return this.db.prepare('SELECT keyword FROM mailbox_keywords WHERE mailbox_id = ? ORDER BY keyword').pluck().all(mailboxId) as string[];
  }

  /** SELECT/EXAMINE: the UIDs, and (read-write) the \Recent ones claimed for this session. */
  open(accountId: number, name: string, readOnly: boolean): OpenedMailbox {
    return relaxed(this.db, () => {
      const mailbox = this.selectable(accountId, name);
      const uids = Uint32Array.from(this.db.prepare('SELECT uid FROM messages WHERE mailbox_id = ? ORDER BY uid').pluck().all(mailbox.id) as number[]);
      // EXAMINE shows \Recent without claiming it (RFC 3501 §6.3.2); SELECT claims it.
      const recentFrom = mailbox.firstRecentUid;
      if (!readOnly && recentFrom < mailbox.uidNext) this.db.prepare('UPDATE mailboxes SET first_recent_uid = uid_next WHERE id = ?').run(mailbox.id);
      const firstUnseenUid = (this.db.prepare('SELECT min(uid) FROM messages WHERE mailbox_id = ? AND (flags & 1) = 0').pluck().get(mailbox.id) as number | null) ?? null;
      return { mailbox, uids, recentFrom, keywords: this.keywords(mailbox.id), firstUnseenUid };
    });
  }

  /** Claims UIDs up to `lastUid` as \Recent for the caller; returns the first one it won (past lastUid: none). */
  claimRecent(mailboxId: number, lastUid: number): number {
    return relaxed(this.db, () => {
      const first = this.db.prepare('SELECT first_recent_uid FROM mailboxes WHERE id = ?').pluck().get(mailboxId) as number | undefined;
      if (first === undefined || first > lastUid) return lastUid + 1;
      this.db.prepare('UPDATE mailboxes SET first_recent_uid = ? WHERE id = ?').run(lastUid + 1, mailboxId);
      return first;
    });
  }
}
