// Per-mailbox forwarding: an account sends its mail on to one or more
// addresses, local or outside, and keeps a copy in its INBOX or not. The
// resolver (recipients.ts) applies it; this table only keeps it consistent.
//
// Invariants:
// - Rows belong to an account and go with it (ON DELETE CASCADE); a row
//   naming a removed account's address goes with that account too, as an
//   alias destination does.
// - A destination in a local domain reaches someone when it is set (an
//   account, an alias, a role address), so that a typo is caught at once.
// - An account never forwards to itself: keeping a copy is `keepCopy`.
// - Without destinations `keepCopy` is true: a mailbox that forwards nowhere
//   keeps its mail, whatever was asked before.

import type { Database } from 'better-sqlite3';
import { UserError } from '../core/errors.ts';
import { normalizeAddress } from './address.ts';
import type { Account, AccountsTable } from './accounts.ts';
import type { DomainsTable } from './domains.ts';

export interface Forwarding {
  /** Normalised destinations, in the order they were given. */
  to: string[];
  /** Whether the account's own INBOX gets a copy too. */
  keepCopy: boolean;
}

/** At most this many destinations per mailbox: forwarding is for a person's other addresses, not a list. */
export const maxForwards = 10;

export class ForwardsTable {
  constructor(
    private readonly db: Database,
    private readonly accounts: AccountsTable,
    private readonly domains: DomainsTable,
    /** Whether a local address reaches anyone (an account, an alias, a role address): the resolver decides. */
    private readonly reachesSomeone: (address: string) => boolean,
  ) {
    accounts.onRemove.push((account) => this.db.prepare('DELETE FROM account_forwards WHERE destination = ?').run(account.address));
  }

  /** The forwarding of an account (by address); `{ to: [], keepCopy: true }` when it forwards nowhere. */
  get(input: string): Forwarding {
    return this.of(this.accounts.get(input).id);
  }

  /** The forwarding of an account by id, for the resolver (one indexed read). */
  of(accountId: number): Forwarding {
    const rows = this.db
      .prepare('SELECT f.destination, a.forward_keep_copy AS keep FROM accounts a LEFT JOIN account_forwards f ON f.account_id = a.id WHERE a.id = ? ORDER BY f.created_at, f.destination')
      .all(accountId) as { destination: string | null; keep: number }[];
    const to = rows.flatMap((r) => (r.destination === null ? [] : [r.destination]));
    return { to, keepCopy: to.length === 0 || rows[0]?.keep !== 0 };
  }

  /** Replaces an account's forwarding; an empty `to` stops forwarding. */
  set(input: string, forwarding: { to: readonly string[]; keepCopy?: boolean }): Forwarding {
    const account = this.accounts.get(input);
    const to = this.check(account, forwarding.to);
    const keepCopy = to.length === 0 ? true : (forwarding.keepCopy ?? true);
    this.db.transaction(() => {
      this.db.prepare('DELETE FROM account_forwards WHERE account_id = ?').run(account.id);
      const insert = this.db.prepare('INSERT INTO account_forwards (account_id, destination, created_at) VALUES (?, ?, ?)');
      // created_at orders the list; one millisecond apart keeps the order given.
      const now = Date.now();
      to.forEach((destination, index) => insert.run(account.id, destination, now + index));
      this.db.prepare('UPDATE accounts SET forward_keep_copy = ? WHERE id = ?').run(keepCopy ? 1 : 0, account.id);
    }).immediate();
    return this.of(account.id);
  }

  /** Stops forwarding: mail stays in the mailbox. */
  clear(input: string): Forwarding {
    return this.set(input, { to: [] });
  }

  /** How many accounts forward somewhere (for the system page and `user list`). */
  count(): number {
    return this.db.prepare('SELECT count(DISTINCT account_id) FROM account_forwards').pluck().get() as number;
  }

  private check(account: Account, inputs: readonly string[]): string[] {
    if (!Array.isArray(inputs)) throw new UserError('give the forwarding addresses as a list');
    const to: string[] = [];
    for (const input of inputs) {
      if (typeof input !== 'string' || input.trim() === '') throw new UserError('a forwarding address is empty; give a full address such as name@example.com');
      const destination = normalizeAddress(input);
      if (destination === account.address) throw new UserError(`${account.address} cannot forward to itself; to keep a copy in the mailbox, choose "keep a copy"`);
      if (to.includes(destination)) continue;
      const domain = destination.slice(destination.lastIndexOf('@') + 1);
      if (this.domains.isLocal(domain) && !this.reachesSomeone(destination)) {
        throw new UserError(`${destination} is in a local domain but reaches nobody; add the user or alias first`);
      }
      to.push(destination);
    }
    if (to.length > maxForwards) throw new UserError(`a mailbox can forward to at most ${maxForwards} addresses; for more, make an alias (mailnest alias add) and forward to it`);
    return to;
  }
}
