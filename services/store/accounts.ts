// Accounts: one per mailbox owner. Passwords are kept only as scrypt hashes
// (see password.ts); a login that scrypt has just accepted is remembered for a
// few minutes in memory (login-cache.ts), so a repeated good login skips scrypt.
//
// Invariants:
// - An address is either an account or an alias source, never both.
// - Account addresses carry no '+': a '+' in a recipient is a tag and is
//   stripped when resolving (see recipients.ts).
// - A login is checked against the row read at that login: a disabled or
//   removed account is refused before the login cache is asked, and a cache
//   entry matches only the stored hash it was verified against, so a password
//   changed by any process (the CLI is another one) is checked by scrypt anew.
//   setPassword, setEnabled(false) and remove also drop the entry here at once.

import type { Database } from 'better-sqlite3';
import { UserError } from '../core/errors.ts';
import { AddressError, parseAddress } from './address.ts';
import type { DomainsTable } from './domains.ts';
import { checkPage, containsQuery, type Page, type PageRequest } from './paging.ts';
import { VerifiedLogins } from './login-cache.ts';
import { checkPasswordText, hashPassword, maxPasswordBytes, needsRehash, verifyPassword } from './password.ts';
import { checkNewPassword } from './password-rule.ts';

export interface Account {
  id: number;
  address: string;
  domain: string;
  displayName: string;
  /** 0 means no limit. */
  quotaBytes: number;
  enabled: boolean;
  createdAt: Date;
}

/** An account with the bytes its mail takes (for lists that show quota use). */
export interface AccountUsage extends Account {
  usedBytes: number;
}

export interface NewAccount {
  address: string;
  password: string;
  displayName?: string;
  quotaBytes?: number;
}

interface AccountRow {
  id: number;
  address: string;
  domain: string;
  display_name: string;
  quota_bytes: number;
  enabled: number;
  created_at: number;
  password_hash: string;
}

const selectAccounts = `
  SELECT a.id, a.address, d.name AS domain, a.display_name, a.quota_bytes, a.enabled, a.created_at, a.password_hash
  FROM accounts a JOIN domains d ON d.id = a.domain_id`;

let dummyHash: Promise<string> | undefined;

export class AccountsTable {
  /** Called after an account row is created, inside the same transaction (mailboxes, ...). */
  readonly onCreate: ((account: Account) => void)[] = [];
  /** Called before an account row is deleted, inside the same transaction. */
  readonly onRemove: ((account: Account) => void)[] = [];
  /** Logins scrypt has verified in the last few minutes (login-cache.ts). */
  readonly verifiedLogins = new VerifiedLogins();

  constructor(
    private readonly db: Database,
    private readonly domains: DomainsTable,
  ) {}

  async add(input: NewAccount): Promise<Account> {
    const { address, domainId } = this.checkNewAddress(input.address);
    checkPasswordText(input.password);
    const quota = input.quotaBytes ?? 0;
    checkQuota(quota);
    await checkNewPassword(input.password, address);
    const hash = await hashPassword(input.password);
    return this.db.transaction(() => {
      // Checked again: the hash took time, and another process may have added it meanwhile.
      this.checkNewAddress(input.address);
      this.db
        .prepare('INSERT INTO accounts (domain_id, address, password_hash, display_name, quota_bytes, enabled, created_at) VALUES (?, ?, ?, ?, ?, 1, ?)')
        .run(domainId, address, hash, input.displayName ?? '', quota, Date.now());
      const account = this.get(address);
      for (const hook of this.onCreate) hook(account);
      return account;
    }).immediate();
  }

  /** Throws a UserError when `input` cannot become a new account. */
  checkNewAddress(input: string): { address: string; domainId: number } {
    const { local, domain } = parseAddress(input);
    if (local.includes('+')) throw new AddressError(`"${input}" contains '+', which is kept for tags (user+tag@domain reaches user@domain)`);
    const address = `${local}@${domain}`;
    const domainRow = this.domains.get(domain);
    if (this.find(address)) throw new UserError(`the user ${address} already exists`);
    if (this.db.prepare('SELECT 1 FROM aliases WHERE source = ?').get(address)) {
      throw new UserError(`${address} is already an alias; remove the alias first (mailnest alias remove ${address})`);
    }
    return { address, domainId: domainRow.id };
  }

  find(input: string): Account | undefined {
    let address: string;
    try {
      const parsed = parseAddress(input);
      address = `${parsed.local}@${parsed.domain}`;
    } catch {
      return undefined;
    }
    const row = this.db.prepare(`${selectAccounts} WHERE a.address = ?`).get(address) as AccountRow | undefined;
    return row && toAccount(row);
  }

  get(input: string): Account {
    const account = this.find(input);
    if (!account) {
      const { local, domain } = parseAddress(input);
      throw new UserError(`the user ${local}@${domain} does not exist`);
    }
    return account;
  }

  byId(id: number): Account | undefined {
    const row = this.db.prepare(`${selectAccounts} WHERE a.id = ?`).get(id) as AccountRow | undefined;
    return row && toAccount(row);
  }

  list(domainInput?: string): Account[] {
    if (domainInput !== undefined) {
      const domain = this.domains.get(domainInput);
      return (this.db.prepare(`${selectAccounts} WHERE a.domain_id = ? ORDER BY a.address`).all(domain.id) as AccountRow[]).map(toAccount);
    }
    return (this.db.prepare(`${selectAccounts} ORDER BY d.name, a.address`).all() as AccountRow[]).map(toAccount);
  }

  /** One page of accounts, by domain then address, whose address or name contains `query`; with the bytes each uses. */
  page(request: PageRequest & { domain?: string } = {}): Page<AccountUsage> {
    const { query, offset, limit } = checkPage(request);
    const domainId = request.domain === undefined ? null : this.domains.get(request.domain).id;
    const where = `WHERE (:domain IS NULL OR a.domain_id = :domain) AND ${containsQuery(['a.address', 'a.display_name'])}`;
    const parameters = { query, domain: domainId };
    const total = this.db.prepare(`SELECT count(*) FROM accounts a ${where}`).pluck().get(parameters) as number;
    const rows = this.db
      .prepare(`SELECT a.id, a.address, d.name AS domain, a.display_name, a.quota_bytes, a.enabled, a.created_at, a.password_hash, a.used_bytes
        FROM accounts a JOIN domains d ON d.id = a.domain_id ${where} ORDER BY d.name, a.address LIMIT :limit OFFSET :offset`)
      .all({ ...parameters, limit, offset }) as (AccountRow & { used_bytes: number })[];
    return { items: rows.map((row) => ({ ...toAccount(row), usedBytes: row.used_bytes })), total, offset, limit };
  }

  setDisplayName(input: string, displayName: string): Account {
    const account = this.get(input);
    const name = displayName.trim();
    if (name.length > 200) throw new UserError('the name is too long (at most 200 characters)');
    if (/[\u0000-\u001f\u007f]/.test(name)) throw new UserError('the name must be one line of text');
    this.db.prepare('UPDATE accounts SET display_name = ? WHERE id = ?').run(name, account.id);
    return this.get(account.address);
  }

  async setPassword(input: string, password: string): Promise<void> {
    const account = this.get(input);
    checkPasswordText(password);
    await checkNewPassword(password, account.address);
    const hash = await hashPassword(password);
    this.db.prepare('UPDATE accounts SET password_hash = ? WHERE id = ?').run(hash, account.id);
    this.verifiedLogins.drop(account.id);
  }

  setQuota(input: string, quotaBytes: number): Account {
    const account = this.get(input);
    checkQuota(quotaBytes);
    this.db.prepare('UPDATE accounts SET quota_bytes = ? WHERE id = ?').run(quotaBytes, account.id);
    return this.get(account.address);
  }

  setEnabled(input: string, enabled: boolean): Account {
    const account = this.get(input);
    this.db.prepare('UPDATE accounts SET enabled = ? WHERE id = ?').run(enabled ? 1 : 0, account.id);
    if (!enabled) this.verifiedLogins.drop(account.id);
    return this.get(account.address);
  }

  remove(input: string): Account {
    const account = this.get(input);
    this.db.transaction(() => {
      for (const hook of this.onRemove) hook(account);
      this.db.prepare('DELETE FROM aliases WHERE destination = ?').run(account.address);
      this.db.prepare('DELETE FROM accounts WHERE id = ?').run(account.id);
    }).immediate();
    this.verifiedLogins.drop(account.id);
    return account;
  }

  /**
   * Checks a login. Unknown and disabled users cost the same scrypt work as a
   * wrong password, so timing does not tell which addresses exist. A hash made
   * with weaker parameters than today's is replaced on success. The right
   * password for the hash stored now, verified by scrypt in the last few
   * minutes, is accepted without scrypt (login-cache.ts); only someone who
   * knows the password sees that shortcut, so it tells nobody else anything.
   */
  async authenticate(input: string, password: string): Promise<Account | undefined> {
    const row = this.rowFor(input);
    if (!row || row.enabled !== 1) {
      dummyHash ??= hashPassword('mailnest-timing-equaliser');
      await verifyPassword(password, await dummyHash);
      return undefined;
    }
    const usable = password !== '' && Buffer.byteLength(password) <= maxPasswordBytes;
    if (usable && this.verifiedLogins.has(row.id, row.password_hash, password)) return toAccount(row);
    if (!(await verifyPassword(password, row.password_hash))) return undefined;
    let verifiedHash: string | undefined = row.password_hash;
    if (needsRehash(row.password_hash)) {
      const hash = await hashPassword(password);
      const changed = this.db.prepare('UPDATE accounts SET password_hash = ? WHERE id = ? AND password_hash = ?').run(hash, row.id, row.password_hash).changes;
      // Not changed: someone else set a new password meanwhile; nothing is remembered.
      verifiedHash = changed === 1 ? hash : undefined;
    }
    if (verifiedHash !== undefined) this.verifiedLogins.remember(row.id, verifiedHash, password);
    return toAccount(row);
  }

  private rowFor(input: string): AccountRow | undefined {
    try {
      const { local, domain } = parseAddress(input);
      return this.db.prepare(`${selectAccounts} WHERE a.address = ?`).get(`${local}@${domain}`) as AccountRow | undefined;
    } catch {
      return undefined;
    }
  }
}

function checkQuota(bytes: number): void {
  if (!Number.isSafeInteger(bytes) || bytes < 0) throw new UserError(`the quota must be a whole number of bytes, 0 for no limit`);
}

function toAccount(row: AccountRow): Account {
  return {
    id: row.id,
    address: row.address,
    domain: row.domain,
    displayName: row.display_name,
    quotaBytes: row.quota_bytes,
    enabled: row.enabled === 1,
    createdAt: new Date(row.created_at),
  };
}
