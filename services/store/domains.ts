// Local domains: mail for these is ours to deliver; everything else is remote.

import type { Database } from 'better-sqlite3';
import { domainToUnicode } from 'node:url';
import { UserError } from '../core/errors.ts';
import { normalizeDomain } from './address.ts';
import { checkPage, containsQuery, type Page, type PageRequest } from './paging.ts';

export interface Domain {
  id: number;
  /** ASCII form (xn-- for IDN). */
  name: string;
  /** The same name as people write it. */
  displayName: string;
  users: number;
  aliases: number;
  createdAt: Date;
}

interface DomainRow {
  id: number;
  name: string;
  created_at: number;
  users: number;
  aliases: number;
}

export class DomainsTable {
  constructor(private readonly db: Database) {}

  add(input: string): Domain {
    const name = normalizeDomain(input);
    if (this.find(name)) throw new UserError(`the domain ${name} already exists`);
    this.db.prepare('INSERT INTO domains (name, created_at) VALUES (?, ?)').run(name, Date.now());
    return this.get(name);
  }

  find(input: string): Domain | undefined {
    let name: string;
    try {
      name = normalizeDomain(input);
    } catch {
      return undefined;
    }
    const row = this.db.prepare(`${selectDomains} WHERE d.name = ?`).get(name) as DomainRow | undefined;
    return row && toDomain(row);
  }

  /** Like find, but a missing domain is an error for the user. */
  get(input: string): Domain {
    const domain = this.find(input);
    if (!domain) throw new UserError(`the domain ${normalizeDomain(input)} does not exist; add it with: mailnest domain add ${input}`);
    return domain;
  }

  isLocal(name: string): boolean {
    return this.db.prepare('SELECT 1 FROM domains WHERE name = ?').get(name) !== undefined;
  }

  list(): Domain[] {
    return (this.db.prepare(`${selectDomains} ORDER BY d.name`).all() as DomainRow[]).map(toDomain);
  }

  /** One page of domains, by name, whose name contains `query`. */
  page(request: PageRequest = {}): Page<Domain> {
    const { query, offset, limit } = checkPage(request);
    const where = `WHERE ${containsQuery(['d.name'])}`;
    const total = this.db.prepare(`SELECT count(*) FROM domains d ${where}`).pluck().get({ query }) as number;
    const rows = this.db.prepare(`${selectDomains} ${where} ORDER BY d.name LIMIT :limit OFFSET :offset`).all({ query, limit, offset }) as DomainRow[];
    return { items: rows.map(toDomain), total, offset, limit };
  }

  /**
   * Removes a domain and its aliases. A domain that still has users is refused:
   * removing users is a separate, deliberate step because it concerns their mail.
   */
  remove(input: string): { aliasesRemoved: number } {
    const domain = this.get(input);
    if (domain.users > 0) {
      throw new UserError(`the domain ${domain.name} still has ${domain.users} user${domain.users === 1 ? '' : 's'}; remove them first (mailnest user list ${domain.name})`);
    }
    return this.db.transaction(() => {
      const aliasesRemoved = this.db.prepare('DELETE FROM aliases WHERE domain_id = ?').run(domain.id).changes;
      this.db.prepare('DELETE FROM domains WHERE id = ?').run(domain.id);
      return { aliasesRemoved };
    })();
  }
}

const selectDomains = `
  SELECT d.id, d.name, d.created_at,
    (SELECT count(*) FROM accounts a WHERE a.domain_id = d.id) AS users,
    (SELECT count(DISTINCT source) FROM aliases s WHERE s.domain_id = d.id) AS aliases
  FROM domains d`;

function toDomain(row: DomainRow): Domain {
  return {
    id: row.id,
    name: row.name,
    displayName: domainToUnicode(row.name) || row.name,
    users: row.users,
    aliases: row.aliases,
    createdAt: new Date(row.created_at),
  };
}
