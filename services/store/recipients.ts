// Recipient resolution: what a RCPT TO address means for delivery.
//
// Order for an address in a local domain (the first that matches wins):
//   1. an account with that exact address;
//   2. an alias with that exact address (expanded recursively);
//   3. for postmaster@ and abuse@, the box's owner (owner.ts: RFC 5321 §4.5.1,
//      RFC 2142 §4), so an account or alias of that name overrides it;
//   4. the same three for the address with its +tag removed;
//   5. the domain's catch-all alias `@domain`.
// `postmaster` with no domain (RFC 5321 §4.1.1.3), in any case, is the owner.
// Alias expansion follows local destinations through further aliases, stops at
// a depth of 8, and ignores a loop instead of delivering twice. Destinations in
// remote domains are returned as external, for the outbound queue.

import { parseAddress, stripTag } from './address.ts';
import type { Account, AccountsTable } from './accounts.ts';
import type { Alias, AliasesTable } from './aliases.ts';
import type { DomainsTable } from './domains.ts';
import { isBarePostmaster, isRoleAddress, roleLocalParts, type BoxOwner } from './owner.ts';

export type Resolution =
  | { kind: 'remote'; address: string }
  | { kind: 'unknown'; address: string }
  | { kind: 'local'; address: string; accounts: Account[]; disabled: Account[]; external: string[] };

const maxDepth = 8;

export class RecipientResolver {
  constructor(
    private readonly domains: DomainsTable,
    private readonly accounts: AccountsTable,
    private readonly aliases: AliasesTable,
    private readonly owner: BoxOwner,
  ) {}

  /** Throws AddressError for an address that cannot be parsed. */
  resolve(input: string): Resolution {
    if (isBarePostmaster(input)) {
      const owner = this.owner.find();
      return owner ? { kind: 'local', address: 'postmaster', accounts: [owner], disabled: [], external: [] } : { kind: 'unknown', address: 'postmaster' };
    }
    const { local, domain } = parseAddress(input);
    const address = `${local}@${domain}`;
    if (!this.domains.isLocal(domain)) return { kind: 'remote', address };
    const result = { accounts: new Map<number, Account>(), disabled: new Map<number, Account>(), external: new Set<string>() };
    const candidates = [address];
    const untagged = stripTag(local);
    if (untagged !== local) candidates.push(`${untagged}@${domain}`);
    candidates.push(`@${domain}`);
    for (const candidate of candidates) {
      if (this.expand(candidate, result, new Set(), 0)) {
        return { kind: 'local', address, accounts: [...result.accounts.values()], disabled: [...result.disabled.values()], external: [...result.external] };
      }
    }
    return { kind: 'unknown', address };
  }

  /**
   * Whether `account` may use `input` as its sender (envelope or From): its own
   * address, with or without a +tag, or an alias (not a catch-all) that
   * delivers to it; for the owner, also the built-in postmaster@ and abuse@,
   * so that reports to them can be answered.
   */
  maySendAs(account: { id: number; address: string }, input: string): boolean {
    let local: string;
    let domain: string;
    try {
      ({ local, domain } = parseAddress(input));
    } catch {
      return false;
    }
    const untagged = `${stripTag(local)}@${domain}`;
    if (untagged === account.address || `${local}@${domain}` === account.address) return true;
    for (const candidate of new Set([`${local}@${domain}`, untagged])) {
      if (this.aliases.destinationsOf(candidate).length === 0 && !(isRoleAddress(candidate) && this.domains.isLocal(domain))) continue;
      const result = { accounts: new Map<number, Account>(), disabled: new Map<number, Account>(), external: new Set<string>() };
      this.expand(candidate, result, new Set(), 0);
      if (result.accounts.has(account.id)) return true;
    }
    return false;
  }

  /**
   * The role addresses (postmaster@, abuse@) of each local domain, or of one,
   * that no account or alias of the same name overrides, with the owner they
   * reach. Empty while the box has no enabled user.
   */
  builtInAliases(domainInput?: string): Alias[] {
    const owner = this.owner.find();
    if (!owner) return [];
    const domains = domainInput === undefined ? this.domains.list() : [this.domains.get(domainInput)];
    const found: Alias[] = [];
    for (const domain of domains) {
      for (const local of roleLocalParts) {
        const address = `${local}@${domain.name}`;
        if (this.accounts.find(address) || this.aliases.destinationsOf(address).length > 0) continue;
        found.push({ source: address, destinations: [owner.address] });
      }
    }
    return found;
  }

  /** Adds what `address` reaches to `result`; false when it names nothing. */
  private expand(address: string, result: { accounts: Map<number, Account>; disabled: Map<number, Account>; external: Set<string> }, seen: Set<string>, depth: number): boolean {
    if (seen.has(address) || depth > maxDepth) return true;
    seen.add(address);
    const account = address.startsWith('@') ? undefined : this.accounts.find(address);
    if (account) {
      (account.enabled ? result.accounts : result.disabled).set(account.id, account);
      return true;
    }
    const destinations = this.aliases.destinationsOf(address);
    if (destinations.length === 0) {
      const owner = isRoleAddress(address) ? this.owner.find() : undefined;
      if (!owner) return false;
      result.accounts.set(owner.id, owner);
      return true;
    }
    for (const destination of destinations) {
      const domain = destination.slice(destination.lastIndexOf('@') + 1);
      if (!this.domains.isLocal(domain)) result.external.add(destination);
      else this.expand(destination, result, seen, depth + 1);
    }
    return true;
  }
}
