// services/store: the one SQLite database (better-sqlite3, WAL) and the data
// folder around it. See README.md in this folder for the invariants.

import Database from 'better-sqlite3';
import { existsSync } from 'node:fs';
import { UserError } from '../core/errors.ts';
import { AccountsTable } from './accounts.ts';
import { AliasesTable } from './aliases.ts';
import { BodyFiles } from './body-files.ts';
import { createPrivateFile, secureDataFolder } from './data-folder.ts';
import { DoctorResults } from './doctor.ts';
import { DomainsTable } from './domains.ts';
import { ForwardsTable } from './forwards.ts';
import { MailEvents } from './mail-events.ts';
import { MailStore } from './mail.ts';
import { migrate } from './migrations.ts';
import { OutboundTable } from './outbound.ts';
import { BoxOwner } from './owner.ts';
import { dataPaths, type DataPaths } from './paths.ts';
import { RecipientResolver } from './recipients.ts';
import { RelaySettings, TransportTable } from './routing.ts';
import { SecretBox } from './secrets.ts';
import { SettingsTable } from './settings.ts';
import { cacheStatements } from './statements.ts';
import { AdminCredentials, SetupStateTable, WebSessionsTable } from './web-front-door.ts';

/** A data folder without a database, opened by a command that does not create one. */
export class NoDatabaseError extends UserError {
  constructor(readonly root: string) {
    super(`there is no Mailnest database in ${root} (no mailnest.db${existsSync(root) ? '' : '; the folder does not exist'}); give the data folder with --data DIR or MAILNEST_DATA`);
    this.name = 'NoDatabaseError';
  }
}

export interface StoreHealth {
  ok: boolean;
  detail?: string;
}

export class Store {
  readonly domains: DomainsTable;
  readonly accounts: AccountsTable;
  readonly aliases: AliasesTable;
  /** Per-mailbox forwarding, applied by `recipients`. */
  readonly forwards: ForwardsTable;
  readonly settings: SettingsTable;
  readonly recipients: RecipientResolver;
  /** Who postmaster@ and abuse@ reach (owner.ts). */
  readonly owner: BoxOwner;
  readonly mail: MailStore;
  readonly outbound: OutboundTable;
  readonly transports: TransportTable;
  readonly relay: RelaySettings;
  /** Sealed secrets (the relay password), keyed by secrets.key in the data folder. */
  readonly secrets: SecretBox;
  /** The home-line doctor's last findings and failure counts (services/doctor). */
  readonly doctor: DoctorResults;
  /** The web front door (migration 5): setup state, admin password, web sessions. */
  readonly setup: SetupStateTable;
  readonly admin: AdminCredentials;
  readonly webSessions: WebSessionsTable;
  private closed = false;

  private constructor(
    readonly db: Database.Database,
    readonly paths: DataPaths,
  ) {
    this.settings = new SettingsTable(db);
    this.domains = new DomainsTable(db);
    this.accounts = new AccountsTable(db, this.domains);
    this.aliases = new AliasesTable(db, this.domains);
    this.owner = new BoxOwner(db, this.accounts, this.settings);
    this.recipients = new RecipientResolver(this.domains, this.accounts, this.aliases, this.owner);
    this.forwards = new ForwardsTable(db, this.accounts, this.domains, (address) => this.recipients.reachesSomeone(address));
    this.recipients.useForwarding((accountId) => this.forwards.of(accountId));
    this.mail = new MailStore(db, this.accounts, new BodyFiles(paths), new MailEvents());
    this.outbound = new OutboundTable(db);
    this.transports = new TransportTable(db);
    this.secrets = new SecretBox(paths.secretsKey);
    this.relay = new RelaySettings(db, this.secrets);
    this.doctor = new DoctorResults(db);
    this.setup = new SetupStateTable(db);
    this.admin = new AdminCredentials(db);
    this.webSessions = new WebSessionsTable(db);
  }

  /**
   * Opens the data folder and its database, and applies migrations. With
   * `create` (the default) a missing folder and database are made; without
   * it a missing database is a UserError and nothing is created, so that a
   * command that only reads, given the wrong folder, says so instead of
   * showing an empty new box. The folder and everything in it are made
   * private first (data-folder.ts); `checkBodies` (the serve process's start)
   * checks every message body file too. Leftovers of interrupted writes are
   * swept only by the serve process (`mail.sweep()`), which owns tmp/; CLI
   * commands never sweep.
   */
  static open(dataDir: string, options: { create?: boolean; checkBodies?: boolean } = {}): Store {
    const paths = dataPaths(dataDir);
    const create = options.create ?? true;
    if (!create && !existsSync(paths.database)) throw new NoDatabaseError(paths.root);
    secureDataFolder(paths, { create, bodies: options.checkBodies });
    // Made 0600 before SQLite sees it, which then gives its -wal and -shm the same mode.
    if (create) createPrivateFile(paths.database);
    // fileMustExist: a database removed since the check above is not made anew.
    const db = cacheStatements(new Database(paths.database, { fileMustExist: true }));
    try {
      // WAL with synchronous=FULL: a COMMIT has reached the disk when it returns,
      // which the delivery promise (a 250 means durable) depends on. Flag,
      // expunge, copy and \Recent transactions relax it for their own commit
      // (statements.ts `relaxed`) and put it back.
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = FULL');
      db.pragma('foreign_keys = ON');
      db.pragma('busy_timeout = 5000');
      migrate(db);
    } catch (error) {
      db.close();
      throw error;
    }
    const store = new Store(db, paths);
    try {
      store.relay.sealClearText();
    } catch (error) {
      store.close();
      throw error;
    }
    return store;
  }

  /** A real write, so that a read-only or full disk shows up here. */
  health(): StoreHealth {
    try {
      this.db.prepare('INSERT INTO health_probe (id, checked_at) VALUES (1, ?) ON CONFLICT(id) DO UPDATE SET checked_at = excluded.checked_at').run(Date.now());
      return { ok: true };
    } catch (error) {
      return { ok: false, detail: (error as Error).message };
    }
  }

  get isOpen(): boolean {
    return !this.closed;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.db.close();
  }
}

export type { Account, AccountUsage, NewAccount } from './accounts.ts';
export type { Page, PageRequest } from './paging.ts';
export { defaultPageLimit, maxPageLimit } from './paging.ts';
export type { ChangeEntry, Delivered, DeliveryTarget, FlagChange, Mailbox, MailboxStatus, MessageRecord, MessageRow, MessageSummary, OpenedMailbox, ReceivedBody, UidRanges } from './mail.ts';
export { MailError, QuotaExceededError, systemFlags } from './mail.ts';
export type { MailChange } from './mail-events.ts';
export type { Alias } from './aliases.ts';
export type { Domain } from './domains.ts';
export type { Forwarding } from './forwards.ts';
export type { Resolution } from './recipients.ts';
export type { OutboundOrigin, OutboundRow } from './outbound.ts';
export type { Relay, RelaySecurity, Transport } from './routing.ts';
export type { CheckOutcome, FindingStatus, StoredFinding } from './doctor.ts';
export { parseHostPort } from './routing.ts';
export { AddressError, normalizeAddress, normalizeDomain, parseAddress } from './address.ts';
export { dataPaths, defaultDataDir } from './paths.ts';
