// DKIM keys, one pair per domain and algorithm, under <data>/dkim/<domain>/:
// rsa.pem (RSA 2048, RFC 6376 §3.3.3) and ed25519.pem (RFC 8463), each with
// its selector in the file name's companion `selectors.json`. Keys are made
// once, written to a temporary name with mode 0600, flushed and renamed, so a
// crash never leaves half a key; they are never replaced behind the owner's
// back, because the DNS records publish them.

import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface DkimKey {
  algorithm: 'rsa-sha256' | 'ed25519-sha256';
  selector: string;
  privateKey: KeyObject;
  /** The p= value of the DNS record: base64 SubjectPublicKeyInfo (RSA) or the raw 32-byte key (Ed25519, RFC 8463 §4.2). */
  publicKeyText: string;
}

export interface DomainKeys {
  domain: string;
  rsa: DkimKey;
  ed25519: DkimKey;
}

/** Selectors name the key generation, so a new key can be published beside the old one. */
const selectors = { rsa: 'mailnest-rsa1', ed25519: 'mailnest-ed1' } as const;

function writeAtomically(path: string, text: string): void {
  writeFileSync(`${path}.tmp`, text, { mode: 0o600, flush: true });
  renameSync(`${path}.tmp`, path);
}

function publicKeyText(privateKey: KeyObject, kind: 'rsa' | 'ed25519'): string {
  const spki = createPublicKey(privateKey).export({ type: 'spki', format: 'der' });
  // An Ed25519 SubjectPublicKeyInfo is a 12-octet prefix and the 32-octet key.
  return (kind === 'rsa' ? spki : spki.subarray(spki.length - 32)).toString('base64');
}

function load(dir: string, kind: 'rsa' | 'ed25519', selector: string): DkimKey {
  const privateKey = createPrivateKey(readFileSync(join(dir, `${kind}.pem`), 'utf8'));
  return { algorithm: kind === 'rsa' ? 'rsa-sha256' : 'ed25519-sha256', selector, privateKey, publicKeyText: publicKeyText(privateKey, kind) };
}

/** The domain's keys, made on first use. */
export function ensureDomainKeys(dkimDir: string, domain: string): DomainKeys {
  const dir = join(dkimDir, domain);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  for (const kind of ['rsa', 'ed25519'] as const) {
    const path = join(dir, `${kind}.pem`);
    if (existsSync(path)) continue;
    const { privateKey } = kind === 'rsa' ? generateKeyPairSync('rsa', { modulusLength: 2048 }) : generateKeyPairSync('ed25519');
    writeAtomically(path, privateKey.export({ type: 'pkcs8', format: 'pem' }) as string);
  }
  const selectorsPath = join(dir, 'selectors.json');
  if (!existsSync(selectorsPath)) writeAtomically(selectorsPath, JSON.stringify(selectors) + '\n');
  const chosen = JSON.parse(readFileSync(selectorsPath, 'utf8')) as typeof selectors;
  return { domain, rsa: load(dir, 'rsa', chosen.rsa), ed25519: load(dir, 'ed25519', chosen.ed25519) };
}

/** The keys if they exist, without making any. */
export function domainKeys(dkimDir: string, domain: string): DomainKeys | undefined {
  const dir = join(dkimDir, domain);
  if (!existsSync(join(dir, 'rsa.pem')) || !existsSync(join(dir, 'ed25519.pem')) || !existsSync(join(dir, 'selectors.json'))) return undefined;
  return ensureDomainKeys(dkimDir, domain);
}
