// The web front door's rows (migration 5): the setup state, the admin's
// password hash, and web sessions. What they mean lives in services/web
// (setup.ts, sessions.ts); this file only stores them.
//
// Invariants:
// - setup_state has exactly one row; the state only moves forward
//   (unclaimed → claimed → complete), except that a claimed box can be
//   claimed again (the owner lost the session).
// - The admin password is kept only as a scrypt hash (password.ts), never in
//   the settings table, so `config list` cannot show it.
// - A session row holds the SHA-256 of the cookie's id, never the id itself.

import type { Database } from 'better-sqlite3';
import { hashPassword, verifyPassword } from './password.ts';
import { checkNewPassword } from './password-rule.ts';

export type SetupState = 'unclaimed' | 'claimed' | 'complete';

export class SetupStateTable {
  constructor(private readonly db: Database) {}

  get(): SetupState {
    return (this.db.prepare('SELECT state FROM setup_state WHERE id = 1').pluck().get() as SetupState | undefined) ?? 'unclaimed';
  }

  /** When the state last changed (a claim again counts: it replaces the setup session). */
  changedAt(): number {
    return (this.db.prepare('SELECT changed_at FROM setup_state WHERE id = 1').pluck().get() as number | undefined) ?? 0;
  }

  /** Moves to `to` only from one of `from`; false when the state was something else. */
  move(from: readonly SetupState[], to: SetupState, now = Date.now()): boolean {
    const placeholders = from.map(() => '?').join(', ');
    return this.db.prepare(`UPDATE setup_state SET state = ?, changed_at = ? WHERE id = 1 AND state IN (${placeholders})`).run(to, now, ...from).changes === 1;
  }
}

export class AdminCredentials {
  private dummyHash: Promise<string> | undefined;

  constructor(private readonly db: Database) {}

  isSet(): boolean {
    return this.db.prepare('SELECT EXISTS (SELECT 1 FROM admin_credentials)').pluck().get() === 1;
  }

  /** Checks the password rule (UserError saying what to do) and stores its hash. */
  async setPassword(password: string): Promise<void> {
    await checkNewPassword(password, 'admin');
    const hash = await hashPassword(password);
    this.db.prepare('INSERT INTO admin_credentials (id, password_hash, changed_at) VALUES (1, ?, ?) ON CONFLICT(id) DO UPDATE SET password_hash = excluded.password_hash, changed_at = excluded.changed_at').run(hash, Date.now());
  }

  /** True for the admin password; as slow when none is set, so that timing tells nothing. */
  async verify(password: string): Promise<boolean> {
    const stored = this.db.prepare('SELECT password_hash FROM admin_credentials WHERE id = 1').pluck().get() as string | undefined;
    if (stored === undefined) {
      this.dummyHash ??= hashPassword('mailnest-timing-equaliser');
      await verifyPassword(password, await this.dummyHash);
      return false;
    }
    return verifyPassword(password, stored);
  }
}

export interface WebSessionRow {
  idHash: string;
  role: 'admin' | 'user';
  subject: string;
  csrfToken: string;
  setup: boolean;
  createdAt: number;
  lastSeenAt: number;
}

interface Row {
  id_hash: string;
  role: 'admin' | 'user';
  subject: string;
  csrf_token: string;
  setup: number;
  created_at: number;
  last_seen_at: number;
}

const toSession = (row: Row): WebSessionRow => ({ idHash: row.id_hash, role: row.role, subject: row.subject, csrfToken: row.csrf_token, setup: row.setup === 1, createdAt: row.created_at, lastSeenAt: row.last_seen_at });

export class WebSessionsTable {
  constructor(private readonly db: Database) {}

  insert(session: WebSessionRow): void {
    this.db
      .prepare('INSERT INTO web_sessions (id_hash, role, subject, csrf_token, setup, created_at, last_seen_at) VALUES (?, ?, ?, ?, ?, ?, ?)')
      .run(session.idHash, session.role, session.subject, session.csrfToken, session.setup ? 1 : 0, session.createdAt, session.lastSeenAt);
  }

  get(idHash: string): WebSessionRow | undefined {
    const row = this.db.prepare('SELECT * FROM web_sessions WHERE id_hash = ?').get(idHash) as Row | undefined;
    return row && toSession(row);
  }

  touch(idHash: string, now: number): void {
    this.db.prepare('UPDATE web_sessions SET last_seen_at = ? WHERE id_hash = ?').run(now, idHash);
  }

  delete(idHash: string): boolean {
    return this.db.prepare('DELETE FROM web_sessions WHERE id_hash = ?').run(idHash).changes > 0;
  }

  /** Removes the sessions last seen before `before`; returns how many. */
  deleteIdle(before: number): number {
    return this.db.prepare('DELETE FROM web_sessions WHERE last_seen_at < ?').run(before).changes;
  }

  /** Removes the setup sessions (a new claim replaces the owner's lost one). */
  deleteSetupSessions(): number {
    return this.db.prepare('DELETE FROM web_sessions WHERE setup = 1').run().changes;
  }

  /** Removes the admin's sessions that are not the setup session (the admin password changed). */
  deleteAdminSessions(): number {
    return this.db.prepare("DELETE FROM web_sessions WHERE role = 'admin' AND setup = 0").run().changes;
  }

  /** Removes every session of one subject (a mail user removed, the admin password changed). */
  deleteSubject(role: 'admin' | 'user', subject: string, exceptIdHash = ''): number {
    return this.db.prepare('DELETE FROM web_sessions WHERE role = ? AND subject = ? AND id_hash != ?').run(role, subject, exceptIdHash).changes;
  }

  count(): number {
    return this.db.prepare('SELECT COUNT(*) FROM web_sessions').pluck().get() as number;
  }

  /** Keeps the `keep` most recently seen sessions and removes the rest. */
  trimTo(keep: number): number {
    return this.db.prepare('DELETE FROM web_sessions WHERE id_hash NOT IN (SELECT id_hash FROM web_sessions ORDER BY last_seen_at DESC LIMIT ?)').run(keep).changes;
  }
}
