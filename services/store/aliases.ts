// Aliases: one source address (or `@domain`, a catch-all) to one or more
// destinations, local or external. Rows are (source, destination) pairs.
//
// Invariants:
// - The source's domain is local, and the source is not an account.
// - A destination in a local domain names an existing account or alias (or a
//   built-in role address, see owner.ts) when it is added, so that a typo is
//   caught at once instead of bouncing mail later.
// - The rows are only the aliases someone made; postmaster@ and abuse@ exist
//   without rows (RecipientResolver.builtInAliases lists them).

import type { Database } from 'better-sqlite3';
import { UserError } from '../core/errors.ts';
import { domainOf, normalizeAddress, normalizeAliasSource } from './address.ts';
import type { DomainsTable } from './domains.ts';
import { checkPage, containsQuery, type Page, type PageRequest } from './paging.ts';
import { isRoleAddress } from './owner.ts';

export interface Alias {
  source: string;
  destinations: string[];
}

export class AliasesTable {
  constructor(
    private readonly db: Database,
    private readonly domains: DomainsTable,
  ) {}

  /** Adds destinations to an alias (creating it). Returns the destinations that were new. */
  add(sourceInput: string, destinationInputs: string[]): { alias: Alias; added: string[] } {
    const source = normalizeAliasSource(sourceInput);
    const domain = this.domains.get(domainOf(source));
    if (destinationInputs.length === 0) throw new UserError('give at least one destination address');
    if (!source.startsWith('@') && this.isAccount(source)) {
      throw new UserError(`${source} is a user; an alias cannot have the same address`);
    }
    const destinations = [...new Set(destinationInputs.map((d) => normalizeAddress(d)))];
    for (const destination of destinations) {
      if (destination === source) throw new UserError(`an alias cannot point at itself (${source})`);
      // A role address (postmaster@, abuse@) always reaches someone: the owner, or what overrides it.
      if (this.domains.isLocal(domainOf(destination)) && !this.isAccount(destination) && !this.isAliasSource(destination) && !isRoleAddress(destination)) {
        throw new UserError(`${destination} is in a local domain but is neither a user nor an alias; add it first`);
      }
    }
    const insert = this.db.prepare('INSERT INTO aliases (domain_id, source, destination, created_at) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING');
    const added = this.db.transaction(() => {
      const now = Date.now();
      return destinations.filter((destination) => insert.run(domain.id, source, destination, now).changes > 0);
    }).immediate();
    return { alias: this.get(source)!, added };
  }

  get(sourceInput: string): Alias | undefined {
    const source = normalizeAliasSource(sourceInput);
    const rows = this.db.prepare('SELECT destination FROM aliases WHERE source = ? ORDER BY id').all(source) as { destination: string }[];
    return rows.length ? { source, destinations: rows.map((r) => r.destination) } : undefined;
  }

  /** Destinations of an already-normalised source, or [] when it is not an alias. */
  destinationsOf(source: string): string[] {
    return (this.db.prepare('SELECT destination FROM aliases WHERE source = ? ORDER BY id').all(source) as { destination: string }[]).map((r) => r.destination);
  }

  list(domainInput?: string): Alias[] {
    const rows = (
      domainInput !== undefined
        ? this.db.prepare('SELECT source, destination FROM aliases WHERE domain_id = ? ORDER BY source, id').all(this.domains.get(domainInput).id)
        : this.db.prepare('SELECT source, destination FROM aliases ORDER BY source, id').all()
    ) as { source: string; destination: string }[];
    const bySource = new Map<string, string[]>();
    for (const row of rows) {
      const list = bySource.get(row.source) ?? [];
      list.push(row.destination);
      bySource.set(row.source, list);
    }
    return [...bySource].map(([source, destinations]) => ({ source, destinations }));
  }

  /** One page of aliases, by source, whose source or any destination contains `query`. */
  page(request: PageRequest = {}): Page<Alias> {
    const { query, offset, limit } = checkPage(request);
    const matching = `SELECT DISTINCT source FROM aliases WHERE ${containsQuery(['source', 'destination'])}`;
    const total = this.db.prepare(`SELECT count(*) FROM (${matching})`).pluck().get({ query }) as number;
    const sources = this.db.prepare(`${matching} ORDER BY source LIMIT :limit OFFSET :offset`).pluck().all({ query, limit, offset }) as string[];
    const items = sources.map((source) => ({ source, destinations: this.destinationsOf(source) }));
    return { items, total, offset, limit };
  }

  /** Removes the whole alias, or only one destination of it. */
  remove(sourceInput: string, destinationInput?: string): number {
    const source = normalizeAliasSource(sourceInput);
    const removed =
      destinationInput === undefined
        ? this.db.prepare('DELETE FROM aliases WHERE source = ?').run(source).changes
        : this.db.prepare('DELETE FROM aliases WHERE source = ? AND destination = ?').run(source, normalizeAddress(destinationInput)).changes;
    if (removed === 0) {
      if (destinationInput === undefined && isRoleAddress(source)) {
        throw new UserError(`${source} is built in: it reaches the box's owner (RFC 5321 §4.5.1) and cannot be removed; to send it elsewhere: mailnest alias add ${source} ADDRESS`);
      }
      throw new UserError(destinationInput === undefined ? `there is no alias ${source}` : `the alias ${source} does not point at ${normalizeAddress(destinationInput)}`);
    }
    return removed;
  }

  private isAccount(address: string): boolean {
    return this.db.prepare('SELECT 1 FROM accounts WHERE address = ?').get(address) !== undefined;
  }

  private isAliasSource(address: string): boolean {
    return this.db.prepare('SELECT 1 FROM aliases WHERE source = ?').get(address) !== undefined;
  }
}
