// Sealed secrets: passwords Mailnest must present to someone else (the
// relay's, later those of fetched accounts), so they cannot be hashed. They
// are encrypted with AES-256-GCM under a key kept in its own file in the data
// folder (secrets.key, 0600), never in the database: a copy of mailnest.db
// alone (a backup sent somewhere, a file attached to a bug report) does not
// give them away. A copy of the whole data folder does; that is what the
// folder's own permissions are for (data-folder.ts).
//
// A sealed value is `sealed:v1:` and base64url(nonce 12 | tag 16 | ciphertext).
// The purpose ("relay password") is bound in as associated data, so a sealed
// value copied into another column does not open there.
//
// Invariants:
// - The key file is made on the first seal, never on an open: opening with a
//   missing key says so (SecretUnreadableError) instead of making a new key
//   that could never open the old values.
// - The key file is durable (fsynced, then linked into place, then the folder
//   fsynced) before any value sealed with it is returned, so a committed
//   sealed value never outlives its key in a crash. Two processes making it at
//   once agree: the link fails for the second, which then reads the first's.

import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, linkSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { UserError } from '../core/errors.ts';

const prefix = 'sealed:v1:';
const keyBytes = 32;
const nonceBytes = 12;
const tagBytes = 16;

export type SecretProblem = 'missing-key' | 'wrong-key' | 'damaged';

/** A sealed value that cannot be opened; the message says why, the caller adds what to do. */
export class SecretUnreadableError extends UserError {
  constructor(
    readonly problem: SecretProblem,
    message: string,
  ) {
    super(message);
    this.name = 'SecretUnreadableError';
  }
}

export class SecretBox {
  private key: Buffer | undefined;

  constructor(private readonly keyPath: string) {}

  static isSealed(value: string): boolean {
    return value.startsWith(prefix);
  }

  seal(plaintext: string, purpose: string): string {
    const key = this.readKey() ?? this.createKey();
    const nonce = randomBytes(nonceBytes);
    const cipher = createCipheriv('aes-256-gcm', key, nonce);
    cipher.setAAD(Buffer.from(purpose, 'utf8'));
    const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return prefix + Buffer.concat([nonce, cipher.getAuthTag(), ciphertext]).toString('base64url');
  }

  /** Throws SecretUnreadableError when the key is missing or is not the one `sealed` was made with. */
  open(sealed: string, purpose: string): string {
    const raw = SecretBox.isSealed(sealed) ? Buffer.from(sealed.slice(prefix.length), 'base64url') : Buffer.alloc(0);
    if (raw.length < nonceBytes + tagBytes) throw new SecretUnreadableError('damaged', 'the stored value is damaged');
    const key = this.readKey();
    if (!key) throw new SecretUnreadableError('missing-key', `the key it was encrypted with, ${this.keyPath}, is missing (was the database copied or restored without it?)`);
    const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, nonceBytes));
    decipher.setAAD(Buffer.from(purpose, 'utf8'));
    decipher.setAuthTag(raw.subarray(nonceBytes, nonceBytes + tagBytes));
    try {
      return Buffer.concat([decipher.update(raw.subarray(nonceBytes + tagBytes)), decipher.final()]).toString('utf8');
    } catch {
      throw new SecretUnreadableError('wrong-key', `${this.keyPath} is not the key it was encrypted with (was the key file replaced?)`);
    }
  }

  private readKey(): Buffer | undefined {
    if (this.key) return this.key;
    let text: string;
    try {
      text = readFileSync(this.keyPath, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
    const key = Buffer.from(text.trim(), 'base64url');
    if (key.length !== keyBytes) {
      throw new SecretUnreadableError('damaged', `${this.keyPath} is damaged (not a ${keyBytes}-byte key): restore it from a backup of the data folder, or remove it and set each secret again`);
    }
    this.key = key;
    return key;
  }

  private createKey(): Buffer {
    const temporary = join(dirname(this.keyPath), `.${basename(this.keyPath)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
    const fd = openSync(temporary, 'wx', 0o600);
    try {
      writeSync(fd, `${randomBytes(keyBytes).toString('base64url')}\n`);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    try {
      linkSync(temporary, this.keyPath);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      // Another process made it first: its key is the one.
    } finally {
      unlinkSync(temporary);
    }
    const dir = openSync(dirname(this.keyPath), 'r');
    try {
      fsyncSync(dir);
    } finally {
      closeSync(dir);
    }
    return this.readKey()!;
  }
}
