// The home-line doctor's memory (services/doctor): the last result of every
// check and how many runs in a row it failed, so that "fails twice before it
// alarms" survives a restart. A run writes all its findings in one
// transaction and drops the rows of checks it no longer makes (a removed
// domain, a probe turned off); readers (the admin page, /healthz) read one
// statement each.

import type { Database } from 'better-sqlite3';

export type FindingStatus = 'ok' | 'warning' | 'alarm' | 'unknown';

/** What one check found this run. `unknown`: it could not be checked (a lookup without answer). */
export interface CheckOutcome {
  id: string;
  check: string;
  result: 'pass' | 'fail' | 'unknown';
  title: string;
  detail: string;
  fix: string;
}

export interface StoredFinding {
  id: string;
  check: string;
  status: FindingStatus;
  title: string;
  detail: string;
  fix: string;
  failures: number;
  checkedAt: number;
}

interface Row {
  id: string;
  check_kind: string;
  status: FindingStatus;
  failures: number;
  title: string;
  detail: string;
  fix: string;
  checked_at: number;
}

/** Failures in a row before a failing check is an alarm; one is a warning (a check that flaps teaches owners to ignore it). */
export const alarmAfterFailures = 2;

export class DoctorResults {
  constructor(private readonly db: Database) {}

  /**
   * Records one run: a pass clears the count, a failure adds one (an alarm from
   * the second in a row), an unknown leaves the count as it was.
   */
  record(outcomes: readonly CheckOutcome[], at: number): StoredFinding[] {
    const previous = this.db.prepare('SELECT failures FROM doctor_checks WHERE id = ?').pluck();
    const upsert = this.db.prepare(`
      INSERT INTO doctor_checks (id, check_kind, status, failures, title, detail, fix, position, checked_at)
      VALUES (@id, @check, @status, @failures, @title, @detail, @fix, @position, @checkedAt)
      ON CONFLICT(id) DO UPDATE SET check_kind = excluded.check_kind, status = excluded.status, failures = excluded.failures,
        title = excluded.title, detail = excluded.detail, fix = excluded.fix, position = excluded.position, checked_at = excluded.checked_at`);
    return this.db.transaction(() => {
      const findings = outcomes.map((outcome, position) => {
        const before = (previous.get(outcome.id) as number | undefined) ?? 0;
        const failures = outcome.result === 'pass' ? 0 : outcome.result === 'fail' ? before + 1 : before;
        const status: FindingStatus = outcome.result === 'pass' ? 'ok' : outcome.result === 'unknown' ? 'unknown' : failures >= alarmAfterFailures ? 'alarm' : 'warning';
        const finding: StoredFinding = { id: outcome.id, check: outcome.check, status, title: outcome.title, detail: outcome.detail, fix: outcome.fix, failures, checkedAt: at };
        upsert.run({ ...finding, position });
        return finding;
      });
      const keep = new Set(outcomes.map((o) => o.id));
      const remove = this.db.prepare('DELETE FROM doctor_checks WHERE id = ?');
      for (const id of this.db.prepare('SELECT id FROM doctor_checks').pluck().all() as string[]) if (!keep.has(id)) remove.run(id);
      return findings;
    }).immediate();
  }

  /** The findings of the last run, in the order the run made them. */
  list(): StoredFinding[] {
    const rows = this.db.prepare('SELECT id, check_kind, status, failures, title, detail, fix, checked_at FROM doctor_checks ORDER BY position, id').all() as Row[];
    return rows.map((r) => ({ id: r.id, check: r.check_kind, status: r.status, title: r.title, detail: r.detail, fix: r.fix, failures: r.failures, checkedAt: r.checked_at }));
  }

  /** The titles of the checks in alarm: what /healthz lists and the status LED shows. */
  alarms(): string[] {
    return this.db.prepare(`SELECT title FROM doctor_checks WHERE status = 'alarm' ORDER BY position, id`).pluck().all() as string[];
  }
}
