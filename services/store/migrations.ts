// Versioned schema migrations. `PRAGMA user_version` holds the number of the last
// one applied; each runs in its own transaction at start. Never edit a migration
// that has shipped: add the next one.

import type { Database } from 'better-sqlite3';
import { UserError } from '../core/errors.ts';

export interface Migration {
  version: number;
  description: string;
  up(db: Database): void;
}

export const migrations: Migration[] = [
  {
    version: 1,
    description: 'settings, domains, accounts, aliases',
    up(db) {
      db.exec(`
        CREATE TABLE settings (
          key TEXT PRIMARY KEY,
          value TEXT NOT NULL
        ) STRICT;

        CREATE TABLE domains (
          id INTEGER PRIMARY KEY,
          name TEXT NOT NULL UNIQUE,
          created_at INTEGER NOT NULL
        ) STRICT;

        CREATE TABLE accounts (
          id INTEGER PRIMARY KEY,
          domain_id INTEGER NOT NULL REFERENCES domains(id),
          address TEXT NOT NULL UNIQUE,
          password_hash TEXT NOT NULL,
          display_name TEXT NOT NULL DEFAULT '',
          quota_bytes INTEGER NOT NULL DEFAULT 0 CHECK (quota_bytes >= 0),
          enabled INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
          created_at INTEGER NOT NULL
        ) STRICT;
        CREATE INDEX accounts_domain ON accounts(domain_id);

        CREATE TABLE aliases (
          id INTEGER PRIMARY KEY,
          domain_id INTEGER NOT NULL REFERENCES domains(id),
          source TEXT NOT NULL,
          destination TEXT NOT NULL,
          created_at INTEGER NOT NULL,
          UNIQUE (source, destination)
        ) STRICT;
        CREATE INDEX aliases_domain ON aliases(domain_id);

        CREATE TABLE health_probe (
          id INTEGER PRIMARY KEY CHECK (id = 1),
          checked_at INTEGER NOT NULL
        ) STRICT;
      `);
    },
  },
  {
    version: 2,
    description: 'mailboxes, messages, message bodies, expunge tombstones, outbound messages',
    up(db) {
      db.exec(`
        ALTER TABLE accounts ADD COLUMN used_bytes INTEGER NOT NULL DEFAULT 0;

        CREATE TABLE counters (
          name TEXT PRIMARY KEY,
          value INTEGER NOT NULL
        ) STRICT;

        CREATE TABLE mailboxes (
          id INTEGER PRIMARY KEY,
          account_id INTEGER NOT NULL REFERENCES accounts(id),
          name TEXT NOT NULL,
          special_use TEXT,
          uid_validity INTEGER NOT NULL,
          uid_next INTEGER NOT NULL DEFAULT 1,
          highest_modseq INTEGER NOT NULL DEFAULT 1,
          first_recent_uid INTEGER NOT NULL DEFAULT 1,
          noselect INTEGER NOT NULL DEFAULT 0,
          messages INTEGER NOT NULL DEFAULT 0,
          unseen INTEGER NOT NULL DEFAULT 0,
          size INTEGER NOT NULL DEFAULT 0,
          created_at INTEGER NOT NULL,
          UNIQUE (account_id, name)
        ) STRICT;

        CREATE TABLE subscriptions (
          account_id INTEGER NOT NULL REFERENCES accounts(id),
          name TEXT NOT NULL,
          PRIMARY KEY (account_id, name)
        ) STRICT, WITHOUT ROWID;

        CREATE TABLE mailbox_keywords (
          mailbox_id INTEGER NOT NULL REFERENCES mailboxes(id),
          keyword TEXT NOT NULL,
          PRIMARY KEY (mailbox_id, keyword)
        ) STRICT, WITHOUT ROWID;

        CREATE TABLE bodies (
          id INTEGER PRIMARY KEY,
          file TEXT NOT NULL UNIQUE,
          size INTEGER NOT NULL,
          structure TEXT NOT NULL,
          sent_at INTEGER,
          subject TEXT NOT NULL DEFAULT '',
          from_text TEXT NOT NULL DEFAULT '',
          message_id TEXT,
          refs INTEGER NOT NULL DEFAULT 0
        ) STRICT;
        CREATE INDEX bodies_unreferenced ON bodies(id) WHERE refs = 0;

        CREATE TABLE messages (
          id INTEGER PRIMARY KEY,
          mailbox_id INTEGER NOT NULL REFERENCES mailboxes(id),
          uid INTEGER NOT NULL,
          modseq INTEGER NOT NULL,
          body_id INTEGER NOT NULL REFERENCES bodies(id),
          flags INTEGER NOT NULL DEFAULT 0,
          keywords TEXT NOT NULL DEFAULT '',
          internal_date INTEGER NOT NULL,
          size INTEGER NOT NULL,
          UNIQUE (mailbox_id, uid)
        ) STRICT;
        CREATE INDEX messages_modseq ON messages(mailbox_id, modseq);
        CREATE INDEX messages_body ON messages(body_id);
        CREATE INDEX messages_unseen ON messages(mailbox_id, uid) WHERE (flags & 1) = 0;
        CREATE INDEX messages_deleted ON messages(mailbox_id, uid) WHERE (flags & 8) != 0;

        CREATE TABLE expunged (
          mailbox_id INTEGER NOT NULL,
          uid INTEGER NOT NULL,
          modseq INTEGER NOT NULL,
          PRIMARY KEY (mailbox_id, uid)
        ) STRICT, WITHOUT ROWID;
        CREATE INDEX expunged_modseq ON expunged(mailbox_id, modseq);

        CREATE TABLE outbound (
          id INTEGER PRIMARY KEY,
          body_id INTEGER NOT NULL REFERENCES bodies(id),
          sender TEXT NOT NULL,
          recipient TEXT NOT NULL,
          state TEXT NOT NULL,
          attempts INTEGER NOT NULL DEFAULT 0,
          next_attempt_at INTEGER NOT NULL,
          last_error TEXT,
          created_at INTEGER NOT NULL
        ) STRICT;
        CREATE INDEX outbound_due ON outbound(state, next_attempt_at);
      `);
      // Accounts made before mailboxes existed get the default set (as it was at version 2).
      const defaultMailboxes = [
        { name: 'INBOX', specialUse: null },
        { name: 'Drafts', specialUse: '\\Drafts' },
        { name: 'Sent', specialUse: '\\Sent' },
        { name: 'Junk', specialUse: '\\Junk' },
        { name: 'Trash', specialUse: '\\Trash' },
        { name: 'Archive', specialUse: '\\Archive' },
      ];
      const insert = db.prepare('INSERT INTO mailboxes (account_id, name, special_use, uid_validity, created_at) VALUES (?, ?, ?, ?, ?)');
      const subscribe = db.prepare('INSERT INTO subscriptions (account_id, name) VALUES (?, ?)');
      let uidValidity = Math.floor(Date.now() / 1000);
      for (const { id } of db.prepare('SELECT id FROM accounts').all() as { id: number }[]) {
        for (const mailbox of defaultMailboxes) {
          insert.run(id, mailbox.name, mailbox.specialUse, uidValidity++, Date.now());
          subscribe.run(id, mailbox.name);
        }
      }
      db.prepare(`INSERT INTO counters (name, value) VALUES ('uid_validity', ?)`).run(uidValidity);
    },
  },
  {
    version: 3,
    description: 'the outbound queue: retries and delay warnings, the transport table, the smarthost',
    up(db) {
      db.exec(`
        ALTER TABLE outbound ADD COLUMN last_attempt_at INTEGER;
        ALTER TABLE outbound ADD COLUMN warned INTEGER NOT NULL DEFAULT 0;
        -- Copies held before the queue existed are sent now.
        UPDATE outbound SET state = 'queued' WHERE state = 'held';

        CREATE TABLE transports (
          domain TEXT PRIMARY KEY,
          host TEXT NOT NULL,
          port INTEGER NOT NULL
        ) STRICT;

        CREATE TABLE relay (
          id INTEGER PRIMARY KEY CHECK (id = 1),
          host TEXT NOT NULL,
          port INTEGER NOT NULL,
          security TEXT NOT NULL,
          username TEXT,
          password TEXT,
          verify INTEGER NOT NULL DEFAULT 1
        ) STRICT;
      `);
    },
  },
  {
    version: 4,
    description: 'where each outbound copy came from, so that only what we may vouch for is DKIM-signed',
    up(db) {
      // Rows queued before this version are not known to come from a logged-in user: they go unsigned,
      // which at worst costs a DMARC pass, never a signature on someone else's mail.
      db.exec(`
        ALTER TABLE outbound ADD COLUMN origin TEXT NOT NULL DEFAULT 'forward' CHECK (origin IN ('submission', 'report', 'forward'));
      `);
    },
  },
  {
    version: 5,
    description: 'the web front door: the setup state, the admin password, web sessions',
    up(db) {
      db.exec(`
        CREATE TABLE setup_state (
          id INTEGER PRIMARY KEY CHECK (id = 1),
          state TEXT NOT NULL CHECK (state IN ('unclaimed', 'claimed', 'complete')),
          changed_at INTEGER NOT NULL
        ) STRICT;

        CREATE TABLE admin_credentials (
          id INTEGER PRIMARY KEY CHECK (id = 1),
          password_hash TEXT NOT NULL,
          changed_at INTEGER NOT NULL
        ) STRICT;

        -- id_hash: SHA-256 of the cookie's session id, so that a copy of the database does not sign anyone in.
        CREATE TABLE web_sessions (
          id_hash TEXT PRIMARY KEY,
          role TEXT NOT NULL CHECK (role IN ('admin', 'user')),
          subject TEXT NOT NULL,
          csrf_token TEXT NOT NULL,
          setup INTEGER NOT NULL DEFAULT 0 CHECK (setup IN (0, 1)),
          created_at INTEGER NOT NULL,
          last_seen_at INTEGER NOT NULL
        ) STRICT;
        CREATE INDEX web_sessions_last_seen ON web_sessions(last_seen_at);
      `);
      // A box that already has a domain and a user was set up with the CLI: its wizard is not offered.
      const done = db.prepare('SELECT EXISTS (SELECT 1 FROM domains) AND EXISTS (SELECT 1 FROM accounts)').pluck().get() === 1;
      db.prepare('INSERT INTO setup_state (id, state, changed_at) VALUES (1, ?, ?)').run(done ? 'complete' : 'unclaimed', Date.now());
    },
  },
  {
    version: 6,
    description: 'per-mailbox forwarding: where an account sends its mail on, and whether it keeps a copy',
    up(db) {
      db.exec(`
        ALTER TABLE accounts ADD COLUMN forward_keep_copy INTEGER NOT NULL DEFAULT 1 CHECK (forward_keep_copy IN (0, 1));

        CREATE TABLE account_forwards (
          account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
          destination TEXT NOT NULL,
          created_at INTEGER NOT NULL,
          PRIMARY KEY (account_id, destination)
        ) STRICT, WITHOUT ROWID;
        CREATE INDEX account_forwards_destination ON account_forwards(destination);
      `);
    },
  },
  {
    version: 7,
    description: 'the home-line doctor: the last result of each check and its failures in a row',
    up(db) {
      // One row per check (port25, dnsbl:zen.spamhaus.org, mx:example.com, ...), so that a restart keeps the counts.
      db.exec(`
        CREATE TABLE doctor_checks (
          id TEXT PRIMARY KEY,
          check_kind TEXT NOT NULL,
          status TEXT NOT NULL CHECK (status IN ('ok', 'warning', 'alarm', 'unknown')),
          failures INTEGER NOT NULL DEFAULT 0,
          title TEXT NOT NULL,
          detail TEXT NOT NULL,
          fix TEXT NOT NULL,
          position INTEGER NOT NULL,
          checked_at INTEGER NOT NULL
        ) STRICT;
      `);
    },
  },
  {
    version: 8,
    description: 'the search index: decoded header fields and sort keys per body, an FTS5 trigram index of its text (search-index.ts)',
    up(db) {
      // state: 0 pending (the backfill indexes it), 1 indexed, 2 never indexed (searches scan it).
      // Every body stored before this version starts pending.
      db.exec(`
        CREATE TABLE body_search (
          body_id INTEGER PRIMARY KEY,
          state INTEGER NOT NULL CHECK (state IN (0, 1, 2)),
          h_from TEXT,
          h_to TEXT,
          h_cc TEXT,
          h_bcc TEXT,
          h_subject TEXT,
          h_message_id TEXT,
          h_in_reply_to TEXT,
          h_references TEXT,
          h_date TEXT,
          h_list_id TEXT,
          sent_day INTEGER,
          split INTEGER NOT NULL DEFAULT 0,
          sort_subject TEXT,
          sort_from TEXT,
          sort_to TEXT,
          sort_cc TEXT,
          sort_display_from TEXT,
          sort_display_to TEXT,
          sort_date INTEGER
        ) STRICT;
        CREATE INDEX body_search_pending ON body_search(body_id) WHERE state = 0;
        CREATE INDEX body_search_unindexed ON body_search(body_id) WHERE state = 2;

        CREATE VIRTUAL TABLE body_text USING fts5(h, u, a, detail=none, tokenize='trigram case_sensitive 1 remove_diacritics 0');

        CREATE TRIGGER bodies_search_delete AFTER DELETE ON bodies BEGIN
          DELETE FROM body_search WHERE body_id = old.id;
          DELETE FROM body_text WHERE rowid = old.id;
        END;

        INSERT INTO body_search (body_id, state) SELECT id, 0 FROM bodies;
      `);
    },
  },
  {
    version: 9,
    description: "the raw header block kept with its body row; how far a mailbox's expunge tombstones were pruned",
    up(db) {
      // header: the octets of the message's own header, blank line included, exactly as in
      // the file (NULL for bodies stored before this version, or headers past 64 KiB: those
      // are read from the file). tombstones_pruned_modseq: tombstones with a MODSEQ at or
      // below it may be gone, so a QRESYNC from before it cannot be answered exactly (RFC 7162 §3.2.5.2).
      db.exec(`
        ALTER TABLE bodies ADD COLUMN header BLOB;
        ALTER TABLE mailboxes ADD COLUMN tombstones_pruned_modseq INTEGER NOT NULL DEFAULT 0;
        -- The change feed pages on (modseq, uid); a STORE 1:* gives thousands of rows one MODSEQ.
        DROP INDEX messages_modseq;
        CREATE INDEX messages_modseq ON messages(mailbox_id, modseq, uid);
      `);
    },
  },
];

export function migrate(db: Database, list: Migration[] = migrations): { from: number; to: number } {
  const from = db.pragma('user_version', { simple: true }) as number;
  const latest = list.length ? list[list.length - 1]!.version : 0;
  if (from > latest) {
    throw new UserError(`the database is at schema version ${from}, newer than this Mailnest (${latest}); upgrade Mailnest`);
  }
  for (const migration of list) {
    if (migration.version <= from) continue;
    db.transaction(() => {
      migration.up(db);
      db.pragma(`user_version = ${migration.version}`);
    }).immediate();
  }
  return { from, to: Math.max(from, latest) };
}
