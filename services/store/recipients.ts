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
//
// An enabled account that forwards (forwards.ts) is replaced by its
// destinations, followed the same way (a forward to a local address is
// delivered locally, as mail sent to it would be: through its own aliases and
// forwards, without its +tag, or by the domain's catch-all), and
// keeps a copy when it asked to, or when a destination leads back into the
// chain that reached it (a loop), goes deeper than the limit, or reaches only
// disabled or unknown addresses: forwarding never makes mail vanish. Outside
// addresses reached through a forward are listed in `forwarded` too: the queue
// sends those with origin 'forward', never DKIM-signed (we did not write them).
// A disabled account neither receives nor forwards.

import { parseAddress, stripTag } from './address.ts';
import type { Account, AccountsTable } from './accounts.ts';
import type { Alias, AliasesTable } from './aliases.ts';
import type { DomainsTable } from './domains.ts';
import type { Forwarding } from './forwards.ts';
import { isBarePostmaster, isRoleAddress, roleLocalParts, type BoxOwner } from './owner.ts';

export type Resolution =
  | { kind: 'remote'; address: string }
  | { kind: 'unknown'; address: string }
  | {
      kind: 'local';
      address: string;
      accounts: Account[];
      disabled: Account[];
      external: string[];
      /** The outside addresses of `external` reached through a mailbox's forwarding (sent as origin 'forward'). */
      forwarded: string[];
    };

const maxDepth = 8;

/**
 * What one address led to: someone; no account or alias of that name; an
 * alias whose destinations reach nobody; only disabled accounts; or back into
 * its own chain (or too deep).
 */
type Reach = 'found' | 'missing' | 'empty' | 'disabled' | 'loop';

interface Expansion {
  accounts: Map<number, Account>;
  disabled: Map<number, Account>;
  external: Set<string>;
  forwarded: Set<string>;
  /** Every address expanded so far and what it reached: one is expanded once, however many ways reach it. */
  seen: Map<string, Reach>;
  /** Follow mailbox forwarding (delivery) or not (who may send as an address). */
  followForwards: boolean;
}

function newExpansion(followForwards: boolean): Expansion {
  return { accounts: new Map(), disabled: new Map(), external: new Set(), forwarded: new Set(), seen: new Map(), followForwards };
}

export class RecipientResolver {
  constructor(
    private readonly domains: DomainsTable,
    private readonly accounts: AccountsTable,
    private readonly aliases: AliasesTable,
    private readonly owner: BoxOwner,
    /** An account's forwarding (ForwardsTable.of); set once the table exists, since the table asks the resolver back. */
    private forwardingOf: (accountId: number) => Forwarding = () => ({ to: [], keepCopy: true }),
  ) {}

  useForwarding(forwardingOf: (accountId: number) => Forwarding): void {
    this.forwardingOf = forwardingOf;
  }

  /** Whether a local address (already normalised) reaches anyone, ignoring forwarding: what a new forward may point at. */
  reachesSomeone(address: string): boolean {
    return localCandidates(address).some((candidate) => this.expand(candidate, newExpansion(false), new Set(), 0) !== 'missing');
  }

  /** Throws AddressError for an address that cannot be parsed. */
  resolve(input: string): Resolution {
    if (isBarePostmaster(input)) {
      const owner = this.owner.find();
      if (!owner) return { kind: 'unknown', address: 'postmaster' };
      const result = newExpansion(true);
      this.expand(owner.address, result, new Set(), 0);
      return toResolution('postmaster', result);
    }
    const { local, domain } = parseAddress(input);
    const address = `${local}@${domain}`;
    if (!this.domains.isLocal(domain)) return { kind: 'remote', address };
    const candidates = [address];
    const untagged = stripTag(local);
    if (untagged !== local) candidates.push(`${untagged}@${domain}`);
    candidates.push(`@${domain}`);
    for (const candidate of candidates) {
      const result = newExpansion(true);
      if (this.expand(candidate, result, new Set(), 0) !== 'missing') return toResolution(address, result);
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
      // An alias that reaches the account directly, not through someone else's forwarding.
      const result = newExpansion(false);
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

  /**
   * Adds what `address` reaches to `result`. `chain` holds the addresses that
   * led here (a destination among them is a loop); `forwarded` is true below a
   * mailbox's forwarding, so outside addresses found there are marked.
   */
  private expand(address: string, result: Expansion, chain: Set<string>, depth: number, forwarded = false): Reach {
    if (chain.has(address) || depth > maxDepth) return 'loop';
    // Reached before by another way: what it delivers to is in `result` already.
    const before = result.seen.get(address);
    if (before) return before;
    const reach = this.expandOnce(address, result, chain, depth, forwarded);
    result.seen.set(address, reach);
    return reach;
  }

  private expandOnce(address: string, result: Expansion, chain: Set<string>, depth: number, forwarded: boolean): Reach {
    const account = address.startsWith('@') ? undefined : this.accounts.find(address);
    if (account) return this.expandAccount(account, result, chain, depth, forwarded);
    const destinations = this.aliases.destinationsOf(address);
    if (destinations.length === 0) {
      const owner = isRoleAddress(address) ? this.owner.find() : undefined;
      if (!owner) return 'missing';
      return this.expandAccount(owner, result, chain, depth, forwarded);
    }
    chain.add(address);
    const reached = new Set(destinations.map((destination) => this.expandDestination(destination, result, chain, depth, forwarded)));
    chain.delete(address);
    // The best of what its destinations reached; an alias of dead ends is still an alias ('empty', not 'missing').
    return (['found', 'loop', 'disabled'] as const).find((reach) => reached.has(reach)) ?? 'empty';
  }

  private expandAccount(account: Account, result: Expansion, chain: Set<string>, depth: number, forwarded: boolean): Reach {
    if (!account.enabled) {
      result.disabled.set(account.id, account);
      return 'disabled';
    }
    const forwarding = result.followForwards ? this.forwardingOf(account.id) : { to: [], keepCopy: true };
    let keep = forwarding.keepCopy;
    chain.add(account.address);
    for (const destination of forwarding.to) {
      if (this.expandDestination(destination, result, chain, depth, true) !== 'found') keep = true;
    }
    chain.delete(account.address);
    if (keep) result.accounts.set(account.id, account);
    return 'found';
  }

  private expandDestination(destination: string, result: Expansion, chain: Set<string>, depth: number, forwarded: boolean): Reach {
    const domain = destination.slice(destination.lastIndexOf('@') + 1);
    if (this.domains.isLocal(domain)) {
      // As mail sent to it would be: the address, its untagged form (bob+news@ reaches bob@), the domain's catch-all.
      let reach: Reach = 'missing';
      for (const candidate of localCandidates(destination)) {
        reach = this.expand(candidate, result, chain, depth + 1, forwarded);
        if (reach !== 'missing') break;
      }
      return reach;
    }
    result.external.add(destination);
    if (forwarded) result.forwarded.add(destination);
    return 'found';
  }
}

/** What a local address is looked up as, in order: itself, without its +tag, the domain's catch-all. */
function localCandidates(address: string): string[] {
  const at = address.lastIndexOf('@');
  const domain = address.slice(at + 1);
  return [...new Set([address, `${stripTag(address.slice(0, at))}@${domain}`, `@${domain}`])];
}

function toResolution(address: string, result: Expansion): Resolution {
  return {
    kind: 'local',
    address,
    accounts: [...result.accounts.values()],
    disabled: [...result.disabled.values()],
    external: [...result.external],
    forwarded: [...result.forwarded],
  };
}
