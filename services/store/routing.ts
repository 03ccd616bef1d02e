// Where outgoing mail goes: the transport table (a domain to a fixed
// host:port) and the smarthost (the provider's relay, which most home
// connections need because their port 25 is blocked). The queue reads both at
// every attempt, so a change made with the CLI applies to the next attempt.
//
// The smarthost password must be presented to the provider, so it cannot be
// hashed: it is sealed (secrets.ts) with the key in secrets.key, apart from
// the database. One stored in clear text by an older version is sealed at the
// next open of the store (`sealClearText`).

import type { Database } from 'better-sqlite3';
import { isIP } from 'node:net';
import { UserError } from '../core/errors.ts';
import { normalizeDomain } from './address.ts';
import { SecretBox, SecretUnreadableError } from './secrets.ts';

/** The associated data of a sealed relay password (secrets.ts). */
const relayPurpose = 'relay password';

export interface Transport {
  domain: string;
  host: string;
  port: number;
}

/** `tls`: implicit TLS from the first byte (465); `starttls`: STARTTLS required (587). */
export type RelaySecurity = 'tls' | 'starttls';

export interface Relay {
  host: string;
  port: number;
  security: RelaySecurity;
  username: string | null;
  password: string | null;
  /** Check the relay's certificate against the system's CAs (off only for a relay with a self-signed certificate). */
  verify: boolean;
  /**
   * Set when a password is stored but cannot be read (its key file is
   * missing or another one): what happened and what to do. `password` is then
   * null, and nothing may be sent with a guess.
   */
  passwordProblem?: string;
}

const hostLabel = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/i;

/** Parses HOST:PORT or [IPv6]:PORT, as people type it. */
export function parseHostPort(text: string, defaultPort?: number): { host: string; port: number } {
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(text.trim());
  let host: string;
  let port: string | undefined;
  if (bracketed) [, host, port] = bracketed as unknown as [string, string, string | undefined];
  else {
    const parts = text.trim().split(':');
    if (parts.length > 2) throw new UserError(`"${text}" is not HOST:PORT (write an IPv6 address as [address]:port)`);
    [host, port] = parts as [string, string | undefined];
  }
  host = host.toLowerCase();
  const validHost = isIP(host) !== 0 || (host.length <= 253 && host.split('.').every((l) => hostLabel.test(l)));
  if (!validHost) throw new UserError(`"${host}" is not a host name or IP address`);
  if (port === undefined) {
    if (defaultPort === undefined) throw new UserError(`"${text}" has no port; write HOST:PORT`);
    return { host, port: defaultPort };
  }
  const number = Number(port);
  if (!/^\d{1,5}$/.test(port) || number < 1 || number > 65535) throw new UserError(`"${port}" is not a port number (1..65535)`);
  return { host, port: number };
}

export class TransportTable {
  constructor(private readonly db: Database) {}

  set(domainInput: string, hostPort: string): Transport {
    const domain = normalizeDomain(domainInput);
    const { host, port } = parseHostPort(hostPort, 25);
    this.db.prepare('INSERT INTO transports (domain, host, port) VALUES (?, ?, ?) ON CONFLICT(domain) DO UPDATE SET host = excluded.host, port = excluded.port').run(domain, host, port);
    return { domain, host, port };
  }

  find(domain: string): Transport | undefined {
    return this.db.prepare('SELECT domain, host, port FROM transports WHERE domain = ?').get(domain) as Transport | undefined;
  }

  list(): Transport[] {
    return this.db.prepare('SELECT domain, host, port FROM transports ORDER BY domain').all() as Transport[];
  }

  remove(domainInput: string): void {
    const domain = normalizeDomain(domainInput);
    if (this.db.prepare('DELETE FROM transports WHERE domain = ?').run(domain).changes === 0) throw new UserError(`there is no transport for ${domain}`);
  }
}

interface RelayRow {
  host: string;
  port: number;
  security: RelaySecurity;
  username: string | null;
  password: string | null;
  verify: number;
}

export class RelaySettings {
  constructor(
    private readonly db: Database,
    private readonly secrets: SecretBox,
  ) {}

  private row(): RelayRow | undefined {
    return this.db.prepare('SELECT host, port, security, username, password, verify FROM relay WHERE id = 1').get() as RelayRow | undefined;
  }

  /** The relay with its password opened; never throws for an unreadable password (see `passwordProblem`). */
  get(): Relay | undefined {
    const row = this.row();
    if (!row) return undefined;
    const relay: Relay = { host: row.host, port: row.port, security: row.security, username: row.username, password: null, verify: row.verify === 1 };
    if (row.password === null) return relay;
    try {
      // A clear-text value can only be one sealClearText has not reached yet.
      relay.password = SecretBox.isSealed(row.password) ? this.secrets.open(row.password, relayPurpose) : row.password;
    } catch (error) {
      if (!(error instanceof SecretUnreadableError)) throw error;
      relay.passwordProblem = `the relay password cannot be read: ${error.message}; set it again: mailnest relay set ${row.host}:${row.port} --user ${row.username ?? 'NAME'} --password-stdin`;
    }
    return relay;
  }

  set(relay: Relay): void {
    if ((relay.username === null) !== (relay.password === null)) throw new UserError('a relay login needs both a user name and a password');
    const sealed = relay.password === null ? null : this.secrets.seal(relay.password, relayPurpose);
    this.db
      .prepare(
        `INSERT INTO relay (id, host, port, security, username, password, verify) VALUES (1, ?, ?, ?, ?, ?, ?)
         ON CONFLICT(id) DO UPDATE SET host = excluded.host, port = excluded.port, security = excluded.security,
           username = excluded.username, password = excluded.password, verify = excluded.verify`,
      )
      .run(relay.host, relay.port, relay.security, relay.username, sealed, relay.verify ? 1 : 0);
  }

  /**
   * Seals a password stored in clear text by a version before sealing
   * existed. secure_delete overwrites the old cell, and the checkpoint moves
   * the page into the database file, so the clear text does not linger in a
   * free page or in the WAL (as far as no other connection holds an old
   * snapshot). Returns whether there was one.
   */
  sealClearText(): boolean {
    const row = this.row();
    if (!row || row.password === null || SecretBox.isSealed(row.password)) return false;
    const sealed = this.secrets.seal(row.password, relayPurpose);
    const secureDelete = this.db.pragma('secure_delete', { simple: true }) as number;
    this.db.pragma('secure_delete = ON');
    try {
      this.db.prepare('UPDATE relay SET password = ? WHERE id = 1 AND password = ?').run(sealed, row.password);
    } finally {
      this.db.pragma(`secure_delete = ${secureDelete}`);
    }
    this.db.pragma('wal_checkpoint(TRUNCATE)');
    return true;
  }

  clear(): boolean {
    return this.db.prepare('DELETE FROM relay WHERE id = 1').run().changes > 0;
  }
}
