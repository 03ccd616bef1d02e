// Versioned schema migrations. `PRAGMA user_version` holds the number of the last
// one applied; each runs in its own transaction at start. Never edit a migration
// that has shipped: add the next one.

import type { Database } from 'better-sqlite3';

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
];

export function migrate(db: Database, list: Migration[] = migrations): { from: number; to: number } {
  const from = db.pragma('user_version', { simple: true }) as number;
  const latest = list.length ? list[list.length - 1]!.version : 0;
  if (from > latest) {
    throw new Error(`the database is at schema version ${from}, newer than this Mailnest (${latest}); upgrade Mailnest`);
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
