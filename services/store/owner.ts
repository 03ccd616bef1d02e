// The box's owner and the role addresses that reach them.
//
// RFC 5321 §4.5.1: every SMTP server accepts mail for `postmaster` (with no
// domain, in any case) and for `postmaster@` each domain it receives for.
// RFC 2142 §4 adds `abuse@` for reports of misuse, and the DMARC record that
// `mailnest domain dns` prints sends its aggregate reports (rua) to
// postmaster@. So these work on every box from the first user on, without
// configuration.
//
// The owner is the user named by the `postmaster` setting when that is an
// enabled user, else the first user made on the box (the lowest account id)
// that is enabled. A named user that is gone or disabled does not make
// postmaster mail bounce: the rule falls back, and `mailnest serve` warns.
//
// Role addresses are a rule in the resolver, not alias rows: they follow the
// owner when the setting changes or the first user is removed, and they exist
// for a domain from the moment it has one. An account or an alias of the same
// address overrides the rule (`mailnest alias add postmaster@example.com ...`
// points it elsewhere).

import type { Database } from 'better-sqlite3';
import type { Account, AccountsTable } from './accounts.ts';
import type { SettingsTable } from './settings.ts';

/** Local parts that exist in every local domain (RFC 5321 §4.5.1, RFC 2142 §4). */
export const roleLocalParts: readonly string[] = ['postmaster', 'abuse'];

/** The settings key that names the owner (see `postmaster` in services/config/schema.ts). */
export const ownerSettingKey = 'postmaster';

/** True for `postmaster@domain` and `abuse@domain`, normalised, with no +tag. */
export function isRoleAddress(address: string): boolean {
  const at = address.lastIndexOf('@');
  return at > 0 && roleLocalParts.includes(address.slice(0, at));
}

/** RFC 5321 §4.1.1.3: `RCPT TO:<Postmaster>` with no domain, compared without case. */
export function isBarePostmaster(input: string): boolean {
  return input.trim().toLowerCase() === 'postmaster';
}

export class BoxOwner {
  /**
   * The address in effect for the serve process (from its configuration,
   * where a `--postmaster` flag can override the stored one). Undefined: the
   * stored setting is read at each use, as CLI commands do.
   */
  private pinned: string | undefined;

  constructor(
    private readonly db: Database,
    private readonly accounts: AccountsTable,
    private readonly settings: SettingsTable,
  ) {}

  /** `''` means "the first user". */
  pin(address: string): void {
    this.pinned = address;
  }

  /** The address the `postmaster` setting names, or undefined when it names none. */
  named(): string | undefined {
    const value = this.pinned ?? this.settings.get(ownerSettingKey);
    return typeof value === 'string' && value !== '' ? value : undefined;
  }

  /** Who role mail goes to now; undefined only while the box has no enabled user. */
  find(): Account | undefined {
    const named = this.named();
    if (named !== undefined) {
      const account = this.accounts.find(named);
      if (account?.enabled) return account;
    }
    const id = this.db.prepare('SELECT id FROM accounts WHERE enabled = 1 ORDER BY id LIMIT 1').pluck().get() as number | undefined;
    return id === undefined ? undefined : this.accounts.byId(id);
  }
}
