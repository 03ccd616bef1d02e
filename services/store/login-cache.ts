// VerifiedLogins: a short-lived, in-memory cache of credentials that scrypt has
// just verified, so that a mail client that logs in again and again (a phone
// polling, a client opening several IMAP connections) does not pay 32 MiB and
// 0.1 s of scrypt each time. It plays the part of Dovecot's auth cache.
//
// Invariants:
// - A wrong password never hits: an entry is the HMAC-SHA256, under a key drawn
//   at random when the process starts and never written anywhere, of the
//   account id, the stored scrypt hash it was checked against, and the password
//   (NFC, as scrypt sees it). A hit needs an equal HMAC, compared in constant time.
// - Nothing weaker than the scrypt hash reaches the disk: entries and the key
//   live only in this process's memory and die with it.
// - A changed password never hits, whoever changed it: the caller passes the
//   hash it reads from the database at each login, and an entry made against
//   another hash does not match. This holds across processes (`mailnest user
//   passwd` runs in its own process and cannot reach this map). The account
//   row is read at every login, so a disabled or removed account is refused
//   before the cache is asked. `drop` frees the entry at once when this process
//   changes the password or disables or removes the account.
// - An entry lives `ttlMs` from the scrypt check that made it (a hit does not
//   extend it), so a password is checked by scrypt again at least that often.
// - At most `maxEntries` entries (one per account: the last verified password);
//   the oldest goes first.

import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export interface VerifiedLoginsOptions {
  /** How long an entry lives after its scrypt check; 5 minutes unless told. */
  ttlMs?: number;
  maxEntries?: number;
  /** The clock (tests move it). */
  now?: () => number;
}

interface Entry {
  mac: Buffer;
  expires: number;
}

export class VerifiedLogins {
  /** Lookups answered without scrypt, and lookups that found nothing usable. */
  readonly counts = { hits: 0, misses: 0 };
  private readonly key = randomBytes(32);
  private readonly entries = new Map<number, Entry>();
  private readonly ttlMs: number;
  private readonly maxEntries: number;
  private readonly now: () => number;

  constructor(options: VerifiedLoginsOptions = {}) {
    this.ttlMs = options.ttlMs ?? 5 * 60_000;
    this.maxEntries = options.maxEntries ?? 1000;
    this.now = options.now ?? Date.now;
  }

  get size(): number {
    return this.entries.size;
  }

  /** True when `password` was verified against exactly `storedHash` for `accountId` less than the TTL ago. */
  has(accountId: number, storedHash: string, password: string): boolean {
    const entry = this.entries.get(accountId);
    if (entry && entry.expires <= this.now()) this.entries.delete(accountId);
    const hit = entry !== undefined && entry.expires > this.now() && timingSafeEqual(entry.mac, this.mac(accountId, storedHash, password));
    if (hit) this.counts.hits += 1;
    else this.counts.misses += 1;
    return hit;
  }

  /** Records that scrypt has just accepted `password` against `storedHash`. */
  remember(accountId: number, storedHash: string, password: string): void {
    this.entries.delete(accountId);
    this.entries.set(accountId, { mac: this.mac(accountId, storedHash, password), expires: this.now() + this.ttlMs });
    while (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next().value as number;
      this.entries.delete(oldest);
    }
  }

  /** Forgets the account's entry (password changed, account disabled or removed). */
  drop(accountId: number): void {
    this.entries.delete(accountId);
  }

  clear(): void {
    this.entries.clear();
  }

  private mac(accountId: number, storedHash: string, password: string): Buffer {
    // Lengths first, so that no two different triples give the same bytes.
    const hash = Buffer.from(storedHash);
    const pass = Buffer.from(password.normalize('NFC'));
    const head = Buffer.alloc(16);
    head.writeBigUInt64BE(BigInt(accountId), 0);
    head.writeUInt32BE(hash.length, 8);
    head.writeUInt32BE(pass.length, 12);
    return createHmac('sha256', this.key).update(head).update(hash).update(pass).digest();
  }
}
