// An in-memory ImapBackend for the protocol tests: a fixture, not a product.
// It keeps the contract of backend.ts faithfully (UID and MODSEQ allocated
// together, a change feed ordered by MODSEQ with tombstones, \Recent claimed by
// one session, wake-ups after each change, typed errors), so that the tests
// exercise the library the way the real store will.

import { Readable } from 'node:stream';
import {
  BackendError,
  type AppendMessage,
  type AuthRequest,
  type AuthResult,
  type CopyResult,
  type FetchedMessage,
  type FetchOptions,
  type ImapBackend,
  type MailboxChange,
  type MailboxInfo,
  type MailboxStatus,
  type OpenedMailbox,
  type QuotaRoot,
  type SearchQuery,
  type SearchResult,
  type SectionRequest,
  type SessionContext,
  type SpecialUse,
  type StoredMessage,
  type StoreRequest,
} from '../../src/backend.ts';
import { uidSetFromSorted, uidSetHas, type UidSet } from '../../src/uid-set.ts';
import { bodyStructure, envelope, parseMessage, sectionBytes, type Part } from './mime.ts';

export interface MemoryMessage {
  uid: number;
  modseq: number;
  flags: string[];
  internalDate: Date;
  raw: Buffer;
  structure?: Part;
}

export interface MemoryMailbox {
  name: string;
  specialUse: SpecialUse | null;
  uidValidity: number;
  uidNext: number;
  highestModseq: number;
  firstRecentUid: number;
  noselect: boolean;
  deleted: boolean;
  messages: MemoryMessage[];
  tombstones: { uid: number; modseq: number }[];
  listeners: Set<() => void>;
}

export interface MemoryAccount {
  username: string;
  password: string;
  mailboxes: Map<string, MemoryMailbox>;
  subscriptions: Set<string>;
  /** Quota in octets; undefined: none. */
  quotaBytes?: number;
}

let uidValidityCounter = Math.floor(Date.now() / 1000);
const separator = '/';

export interface MemoryBackendOptions {
  /** Answer SEARCH in the backend (only ALL and UID keys) instead of leaving it to the library. */
  search?: boolean;
  /** Delay for every fetch, to test slow backends. */
  fetchDelayMs?: number;
}

export class MemoryBackend implements ImapBackend<MemoryAccount, MemoryMailbox> {
  readonly accounts = new Map<string, MemoryAccount>();
  /** Every call, for tests that check what the library asked. */
  readonly calls: string[] = [];
  /** Octets are counted and limited; there is no message-count limit, so MESSAGE is not offered. */
  readonly quotaResources = ['STORAGE'] as const;

  constructor(readonly options: MemoryBackendOptions = {}) {
    if (options.search) this.search = this.searchImpl;
  }

  addUser(username: string, password: string, mailboxes: string[] = ['INBOX']): MemoryAccount {
    const account: MemoryAccount = { username, password, mailboxes: new Map(), subscriptions: new Set() };
    this.accounts.set(username, account);
    for (const name of mailboxes) this.makeMailbox(account, name, null);
    return account;
  }

  account(username: string): MemoryAccount {
    const account = this.accounts.get(username);
    if (!account) throw new Error(`no user ${username}`);
    return account;
  }

  mailbox(username: string, name: string): MemoryMailbox {
    const mailbox = this.account(username).mailboxes.get(name);
    if (!mailbox) throw new Error(`no mailbox ${name}`);
    return mailbox;
  }

  /** A delivery from outside any session (what SMTP does). */
  deliver(username: string, mailboxName: string, raw: string | Buffer, flags: string[] = [], internalDate = new Date()): number {
    const mailbox = this.mailbox(username, mailboxName);
    const message = this.insert(mailbox, Buffer.isBuffer(raw) ? raw : Buffer.from(raw.replace(/\r?\n/g, '\r\n')), flags, internalDate);
    this.notify(mailbox);
    return message.uid;
  }

  // ---- helpers ----

  private makeMailbox(account: MemoryAccount, name: string, specialUse: SpecialUse | null): MemoryMailbox {
    const mailbox: MemoryMailbox = {
      name,
      specialUse,
      uidValidity: ++uidValidityCounter,
      uidNext: 1,
      highestModseq: 1,
      firstRecentUid: 1,
      noselect: false,
      deleted: false,
      messages: [],
      tombstones: [],
      listeners: new Set(),
    };
    account.mailboxes.set(name, mailbox);
    return mailbox;
  }

  private insert(mailbox: MemoryMailbox, raw: Buffer, flags: readonly string[], internalDate: Date): MemoryMessage {
    const message: MemoryMessage = { uid: mailbox.uidNext++, modseq: ++mailbox.highestModseq, flags: normalizeFlags(flags), internalDate, raw };
    mailbox.messages.push(message);
    return message;
  }

  private notify(mailbox: MemoryMailbox): void {
    for (const listener of [...mailbox.listeners]) listener();
  }

  private find(ctx: SessionContext<MemoryAccount>, name: string): MemoryMailbox {
    const mailbox = ctx.user.mailboxes.get(name);
    if (!mailbox) throw new BackendError('NONEXISTENT', `Mailbox ${name} does not exist`);
    return mailbox;
  }

  private selectable(ctx: SessionContext<MemoryAccount>, name: string): MemoryMailbox {
    const mailbox = this.find(ctx, name);
    if (mailbox.noselect) throw new BackendError('NOSELECT', `Mailbox ${name} cannot hold messages`);
    return mailbox;
  }

  private live(mailbox: MemoryMailbox): MemoryMailbox {
    if (mailbox.deleted) throw new BackendError('NONEXISTENT', 'The mailbox was deleted');
    return mailbox;
  }

  private *inSet(mailbox: MemoryMailbox, uids: UidSet): Generator<MemoryMessage> {
    for (const message of mailbox.messages) if (uidSetHas(uids, message.uid)) yield message;
  }

  private usedBytes(account: MemoryAccount): number {
    let total = 0;
    for (const mailbox of account.mailboxes.values()) for (const message of mailbox.messages) total += message.raw.length;
    return total;
  }

  // ---- ImapBackend ----

  async authenticate(request: AuthRequest): Promise<AuthResult<MemoryAccount>> {
    this.calls.push(`authenticate ${request.username}`);
    const account = this.accounts.get(request.username);
    if (!account || account.password !== request.password) return { ok: false, reason: 'credentials' };
    if (request.authorizationId && request.authorizationId !== request.username) return { ok: false, reason: 'credentials' };
    return { ok: true, user: account };
  }

  async listMailboxes(ctx: SessionContext<MemoryAccount>): Promise<MailboxInfo[]> {
    const infos: MailboxInfo[] = [];
    for (const mailbox of ctx.user.mailboxes.values()) {
      infos.push({ name: mailbox.name, specialUse: mailbox.specialUse, subscribed: ctx.user.subscriptions.has(mailbox.name), noselect: mailbox.noselect });
    }
    for (const name of ctx.user.subscriptions) if (!ctx.user.mailboxes.has(name)) infos.push({ name, subscribed: true, nonexistent: true });
    return infos;
  }

  async createMailbox(ctx: SessionContext<MemoryAccount>, name: string, options: { specialUse?: SpecialUse }): Promise<void> {
    const existing = ctx.user.mailboxes.get(name);
    if (existing && !existing.noselect) throw new BackendError('ALREADYEXISTS', `Mailbox ${name} already exists`);
    if (existing) {
      existing.noselect = false;
      return;
    }
    const parts = name.split(separator);
    for (let i = 1; i < parts.length; i++) {
      const parent = parts.slice(0, i).join(separator);
      if (!ctx.user.mailboxes.has(parent)) this.makeMailbox(ctx.user, parent, null);
    }
    this.makeMailbox(ctx.user, name, options.specialUse ?? null);
  }

  async deleteMailbox(ctx: SessionContext<MemoryAccount>, name: string): Promise<void> {
    const mailbox = this.find(ctx, name);
    const hasChildren = [...ctx.user.mailboxes.keys()].some((other) => other.startsWith(name + separator));
    if (hasChildren) {
      // RFC 3501 §6.3.4: a mailbox with children becomes \Noselect.
      if (mailbox.noselect) throw new BackendError('CANNOT', `Mailbox ${name} has children and no messages to delete`);
      mailbox.noselect = true;
      mailbox.messages = [];
      mailbox.deleted = true;
      this.notify(mailbox);
      const fresh = this.makeMailbox(ctx.user, name, null);
      fresh.noselect = true;
      return;
    }
    ctx.user.mailboxes.delete(name);
    mailbox.deleted = true;
    this.notify(mailbox);
  }

  async renameMailbox(ctx: SessionContext<MemoryAccount>, from: string, to: string): Promise<void> {
    const source = this.find(ctx, from);
    if (ctx.user.mailboxes.has(to)) throw new BackendError('ALREADYEXISTS', `Mailbox ${to} already exists`);
    if (from === 'INBOX') {
      // RFC 3501 §6.3.5: the messages move; INBOX stays, empty.
      await this.createMailbox(ctx, to, {});
      const target = ctx.user.mailboxes.get(to)!;
      for (const message of source.messages) this.insert(target, message.raw, message.flags, message.internalDate);
      for (const message of source.messages) source.tombstones.push({ uid: message.uid, modseq: ++source.highestModseq });
      source.messages = [];
      this.notify(source);
      return;
    }
    const moves = [...ctx.user.mailboxes.entries()].filter(([name]) => name === from || name.startsWith(from + separator));
    for (const [name] of moves) ctx.user.mailboxes.delete(name);
    const parts = to.split(separator);
    for (let i = 1; i < parts.length; i++) {
      const parent = parts.slice(0, i).join(separator);
      if (!ctx.user.mailboxes.has(parent)) this.makeMailbox(ctx.user, parent, null);
    }
    for (const [name, mailbox] of moves) {
      const renamed = to + name.slice(from.length);
      mailbox.name = renamed;
      ctx.user.mailboxes.set(renamed, mailbox);
      if (ctx.user.subscriptions.delete(name)) ctx.user.subscriptions.add(renamed);
    }
  }

  async setSubscribed(ctx: SessionContext<MemoryAccount>, name: string, subscribed: boolean): Promise<void> {
    if (subscribed) ctx.user.subscriptions.add(name);
    else ctx.user.subscriptions.delete(name);
  }

  async status(ctx: SessionContext<MemoryAccount>, name: string): Promise<MailboxStatus> {
    const mailbox = this.selectable(ctx, name);
    return {
      messages: mailbox.messages.length,
      recent: mailbox.messages.filter((m) => m.uid >= mailbox.firstRecentUid).length,
      uidNext: mailbox.uidNext,
      uidValidity: mailbox.uidValidity,
      unseen: mailbox.messages.filter((m) => !m.flags.includes('\\Seen')).length,
      highestModseq: mailbox.highestModseq,
      size: mailbox.messages.reduce((sum, m) => sum + m.raw.length, 0),
      deleted: mailbox.messages.filter((m) => m.flags.includes('\\Deleted')).length,
      deletedStorage: () => mailbox.messages.filter((m) => m.flags.includes('\\Deleted')).reduce((sum, m) => sum + m.raw.length, 0),
    };
  }

  async openMailbox(ctx: SessionContext<MemoryAccount>, name: string, options: { readOnly: boolean }): Promise<OpenedMailbox<MemoryMailbox>> {
    this.calls.push(`open ${name}`);
    const mailbox = this.selectable(ctx, name);
    const recent = uidSetFromSorted(mailbox.messages.filter((m) => m.uid >= mailbox.firstRecentUid).map((m) => m.uid));
    // A read-write open claims \Recent; a read-only one shows it without claiming.
    if (!options.readOnly) mailbox.firstRecentUid = mailbox.uidNext;
    const keywords = new Set<string>();
    for (const message of mailbox.messages) for (const flag of message.flags) if (!flag.startsWith('\\')) keywords.add(flag);
    return {
      handle: mailbox,
      uidValidity: mailbox.uidValidity,
      uidNext: mailbox.uidNext,
      highestModseq: mailbox.highestModseq,
      uids: mailbox.messages.map((m) => m.uid),
      recent,
      keywords: [...keywords],
      firstUnseenUid: mailbox.messages.find((m) => !m.flags.includes('\\Seen'))?.uid ?? null,
    };
  }

  changes(_ctx: SessionContext<MemoryAccount>, mailbox: MemoryMailbox, sinceModseq: number): MailboxChange[] {
    this.live(mailbox);
    const changes: MailboxChange[] = [];
    for (const message of mailbox.messages) if (message.modseq > sinceModseq) changes.push({ kind: 'message', uid: message.uid, modseq: message.modseq, flags: [...message.flags] });
    for (const tombstone of mailbox.tombstones) if (tombstone.modseq > sinceModseq) changes.push({ kind: 'expunge', ...tombstone });
    return changes.sort((a, b) => a.modseq - b.modseq);
  }

  async claimRecent(_ctx: SessionContext<MemoryAccount>, mailbox: MemoryMailbox, uids: UidSet): Promise<UidSet> {
    const claimed: number[] = [];
    for (const [start, end] of uids) for (let uid = Math.max(start, mailbox.firstRecentUid); uid <= end; uid++) claimed.push(uid);
    if (uids.length > 0) mailbox.firstRecentUid = Math.max(mailbox.firstRecentUid, uids[uids.length - 1]![1] + 1);
    return uidSetFromSorted(claimed);
  }

  watch(_ctx: SessionContext<MemoryAccount>, mailbox: MemoryMailbox, onChange: () => void): () => void {
    mailbox.listeners.add(onChange);
    return () => mailbox.listeners.delete(onChange);
  }

  async *fetch(_ctx: SessionContext<MemoryAccount>, mailbox: MemoryMailbox, uids: UidSet, options: FetchOptions): AsyncGenerator<FetchedMessage> {
    this.calls.push(`fetch ${uids.map(([a, b]) => `${a}:${b}`).join(',')}`);
    for (const message of [...this.inSet(this.live(mailbox), uids)]) {
      if (options.changedSince !== undefined && message.modseq <= options.changedSince) continue;
      if (this.options.fetchDelayMs) await new Promise((resolve) => setTimeout(resolve, this.options.fetchDelayMs));
      yield fetched(message);
    }
  }

  async store(_ctx: SessionContext<MemoryAccount>, mailbox: MemoryMailbox, uids: UidSet, request: StoreRequest): Promise<StoredMessage[]> {
    const results: StoredMessage[] = [];
    for (const message of this.inSet(this.live(mailbox), uids)) {
      if (request.unchangedSince !== undefined && message.modseq > request.unchangedSince) {
        results.push({ uid: message.uid, modseq: message.modseq, flags: [...message.flags], status: 'modified' });
        continue;
      }
      const current = new Set(message.flags);
      let next: Set<string>;
      if (request.operation === 'replace') next = new Set(request.flags);
      else if (request.operation === 'add') next = new Set([...current, ...request.flags]);
      else next = new Set([...current].filter((flag) => !request.flags.includes(flag)));
      const flags = normalizeFlags([...next]);
      const changed = flags.length !== message.flags.length || flags.some((flag, i) => flag !== message.flags[i]);
      if (changed) {
        message.flags = flags;
        message.modseq = ++mailbox.highestModseq;
      }
      results.push({ uid: message.uid, modseq: message.modseq, flags: [...message.flags], status: changed ? 'updated' : 'unchanged' });
    }
    if (results.some((result) => result.status === 'updated')) this.notify(mailbox);
    return results;
  }

  async copy(ctx: SessionContext<MemoryAccount>, mailbox: MemoryMailbox, uids: UidSet, destination: string, options: { move: boolean }): Promise<CopyResult> {
    const target = this.selectable(ctx, destination);
    const source: number[] = [];
    const created: number[] = [];
    const moving = [...this.inSet(this.live(mailbox), uids)];
    if (ctx.user.quotaBytes !== undefined && !options.move) {
      const adding = moving.reduce((sum, m) => sum + m.raw.length, 0);
      if (this.usedBytes(ctx.user) + adding > ctx.user.quotaBytes) throw new BackendError('OVERQUOTA', 'Quota exceeded');
    }
    for (const message of moving) {
      const copy = this.insert(target, message.raw, message.flags, message.internalDate);
      source.push(message.uid);
      created.push(copy.uid);
    }
    if (options.move) {
      const moved = new Set(source);
      mailbox.messages = mailbox.messages.filter((m) => !moved.has(m.uid));
      for (const uid of source) mailbox.tombstones.push({ uid, modseq: ++mailbox.highestModseq });
    }
    this.notify(target);
    if (options.move && target !== mailbox) this.notify(mailbox);
    return { uidValidity: target.uidValidity, source: uidSetFromSorted(source), destination: uidSetFromSorted(created) };
  }

  async append(ctx: SessionContext<MemoryAccount>, name: string, message: AppendMessage): Promise<{ uidValidity: number; uid: number }> {
    const mailbox = this.selectable(ctx, name);
    if (ctx.user.quotaBytes !== undefined && this.usedBytes(ctx.user) + message.size > ctx.user.quotaBytes) {
      message.content.destroy();
      throw new BackendError('OVERQUOTA', 'Quota exceeded');
    }
    const chunks: Buffer[] = [];
    for await (const chunk of message.content) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks);
    if (raw.length !== message.size) throw new Error(`APPEND delivered ${raw.length} octets, ${message.size} announced`);
    const stored = this.insert(mailbox, raw, message.flags, message.internalDate ?? new Date());
    this.notify(mailbox);
    return { uidValidity: mailbox.uidValidity, uid: stored.uid };
  }

  async expunge(_ctx: SessionContext<MemoryAccount>, mailbox: MemoryMailbox, uids?: UidSet): Promise<UidSet> {
    const gone: number[] = [];
    this.live(mailbox).messages = mailbox.messages.filter((message) => {
      const remove = message.flags.includes('\\Deleted') && (!uids || uidSetHas(uids, message.uid));
      if (remove) gone.push(message.uid);
      return !remove;
    });
    for (const uid of gone) mailbox.tombstones.push({ uid, modseq: ++mailbox.highestModseq });
    if (gone.length > 0) this.notify(mailbox);
    return uidSetFromSorted(gone);
  }

  search?: (ctx: SessionContext<MemoryAccount>, mailbox: MemoryMailbox, query: SearchQuery) => Promise<SearchResult | undefined>;

  private searchImpl = async (_ctx: SessionContext<MemoryAccount>, mailbox: MemoryMailbox, query: SearchQuery): Promise<SearchResult | undefined> => {
    this.calls.push('search');
    const key = query.key;
    if (key.type !== 'all' && key.type !== 'uid') return undefined;
    const uids = mailbox.messages.filter((m) => uidSetHas(query.scope, m.uid) && (key.type === 'all' || uidSetHas(key.uids, m.uid))).map((m) => m.uid);
    return { uids: uidSetFromSorted(uids) };
  };

  async getQuotaRoots(ctx: SessionContext<MemoryAccount>): Promise<QuotaRoot[]> {
    const root = await this.getQuota(ctx, '');
    return root ? [root] : [];
  }

  async getQuota(ctx: SessionContext<MemoryAccount>, root: string): Promise<QuotaRoot | undefined> {
    if (root !== '' || ctx.user.quotaBytes === undefined) return undefined;
    return { name: '', resources: [{ name: 'STORAGE', usage: Math.ceil(this.usedBytes(ctx.user) / 1024), limit: Math.floor(ctx.user.quotaBytes / 1024) }] };
  }
}

const systemOrder = ['\\Seen', '\\Answered', '\\Flagged', '\\Deleted', '\\Draft'];

function normalizeFlags(flags: readonly string[]): string[] {
  const system = systemOrder.filter((flag) => flags.includes(flag));
  const seen = new Set<string>();
  const keywords: string[] = [];
  for (const flag of flags) {
    if (flag.startsWith('\\') || seen.has(flag.toLowerCase())) continue;
    seen.add(flag.toLowerCase());
    keywords.push(flag);
  }
  return [...system, ...keywords];
}

function fetched(message: MemoryMessage): FetchedMessage {
  const structure = () => (message.structure ??= parseMessage(message.raw));
  return {
    uid: message.uid,
    modseq: message.modseq,
    flags: [...message.flags],
    internalDate: message.internalDate,
    size: message.raw.length,
    envelope: () => envelope(structure()),
    bodyStructure: () => bodyStructure(message.raw, structure()),
    section: (request: SectionRequest) => {
      let bytes = sectionBytes(message.raw, structure(), request);
      if (request.range) bytes = bytes.subarray(Math.min(request.range.offset, bytes.length), Math.min(request.range.offset + request.range.count, bytes.length));
      // A stream, as a real backend would give, in small chunks.
      return { length: bytes.length, stream: Readable.from(chunks(bytes, 16 * 1024)) };
    },
  };
}

function* chunks(bytes: Buffer, size: number): Generator<Buffer> {
  for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, i + size);
}
