// Raw settings rows: key → JSON value. What the keys mean, their types and
// defaults live in services/config; this file only stores them.

import type { Database } from 'better-sqlite3';

export class SettingsTable {
  constructor(private readonly db: Database) {}

  get(key: string): unknown {
    const row = this.db.prepare('SELECT value FROM settings WHERE key = ?').get(key) as { value: string } | undefined;
    return row ? JSON.parse(row.value) : undefined;
  }

  set(key: string, value: unknown): void {
    this.db.prepare('INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value').run(key, JSON.stringify(value));
  }

  delete(key: string): boolean {
    return this.db.prepare('DELETE FROM settings WHERE key = ?').run(key).changes > 0;
  }

  /** Forgets every stored setting (the factory reset); returns how many there were. */
  clear(): number {
    return this.db.prepare('DELETE FROM settings').run().changes;
  }

  all(): Map<string, unknown> {
    const rows = this.db.prepare('SELECT key, value FROM settings ORDER BY key').all() as { key: string; value: string }[];
    return new Map(rows.map((row) => [row.key, JSON.parse(row.value)]));
  }
}
