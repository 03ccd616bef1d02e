// The TLS certificate every service presents: made on first start (a
// self-signed RSA 2048 certificate for the configured host name), kept in
// tls/ of the data folder, and made again when the host name changes or it is
// within 30 days of expiry. A certificate the owner installs (key.pem and
// cert.pem, with `custom` written in tls/source) is used as it is.
//
// RFC 5280 §4.1 (certificate fields), §4.2.1.6 (subjectAltName), §4.2.1.3 and
// §4.2.1.12 (key usage). Validity is 825 days, the longest Apple's clients
// accept for a server certificate.

import { createPrivateKey, generateKeyPairSync, randomBytes, sign, X509Certificate } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { bitString, boolean, explicit, implicit, nullValue, octetString, oid, sequence, set, smallInteger, time, unsignedInteger, utf8String } from './der.ts';

export interface TlsFiles {
  key: string;
  cert: string;
  /** 'generated' or 'custom'. */
  source: string;
  subjectAltNames: string[];
  validTo: Date;
}

const validityDays = 825;
const renewWithinDays = 30;

const sha256WithRSAEncryption = () => sequence(oid('1.2.840.113549.1.1.11'), nullValue());

function name(commonName: string): Buffer {
  return sequence(set(sequence(oid('2.5.4.10'), utf8String('Mailnest'))), set(sequence(oid('2.5.4.3'), utf8String(commonName))));
}

function generalName(entry: string): Buffer {
  const family = isIP(entry);
  if (family === 4) return implicit(7, Buffer.from(entry.split('.').map(Number)));
  if (family === 6) {
    const [head = '', tail = ''] = entry.split('::');
    const groups = (s: string) => (s ? s.split(':') : []);
    const missing = 8 - groups(head).length - groups(tail).length;
    const all = [...groups(head), ...Array(entry.includes('::') ? missing : 0).fill('0'), ...groups(tail)];
    return implicit(7, Buffer.concat(all.map((g) => Buffer.from(g.padStart(4, '0'), 'hex'))));
  }
  return implicit(2, Buffer.from(entry, 'ascii'));
}

/** Builds a self-signed certificate for `names` (the first is the subject's CN). */
export function selfSignedCertificate(names: string[], now = new Date()): { key: string; cert: string } {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const spki = publicKey.export({ type: 'spki', format: 'der' });
  const notBefore = new Date(now.getTime() - 60 * 60 * 1000);
  const notAfter = new Date(now.getTime() + validityDays * 24 * 60 * 60 * 1000);
  const serial = randomBytes(16);
  serial[0]! &= 0x7f;
  const extensions = explicit(
    3,
    sequence(
      sequence(oid('2.5.29.19'), boolean(true), octetString(sequence())), // basicConstraints: not a CA
      sequence(oid('2.5.29.15'), boolean(true), octetString(bitString(Buffer.from([0xa0]), 5))), // keyUsage: digitalSignature, keyEncipherment
      sequence(oid('2.5.29.37'), octetString(sequence(oid('1.3.6.1.5.5.7.3.1')))), // extKeyUsage: serverAuth
      sequence(oid('2.5.29.17'), octetString(sequence(...names.map(generalName)))), // subjectAltName
    ),
  );
  const tbs = sequence(
    explicit(0, smallInteger(2)), // v3
    unsignedInteger(serial),
    sha256WithRSAEncryption(),
    name(names[0]!),
    sequence(time(notBefore), time(notAfter)),
    name(names[0]!),
    Buffer.from(spki),
    extensions,
  );
  const signature = sign('sha256', tbs, privateKey);
  const der = sequence(tbs, sha256WithRSAEncryption(), bitString(signature));
  const cert = `-----BEGIN CERTIFICATE-----\n${der.toString('base64').replace(/(.{64})/g, '$1\n').trimEnd()}\n-----END CERTIFICATE-----\n`;
  return { key: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string, cert };
}

function writeAtomically(path: string, text: string): void {
  const tmp = `${path}.tmp`;
  writeFileSync(tmp, text, { mode: 0o600, flush: true });
  renameSync(tmp, path);
}

/**
 * Returns the certificate to use, making or renewing the self-signed one when
 * needed. `hostname` becomes the subject; localhost and loopback addresses are
 * added so that clients on the board itself can verify it too.
 */
/**
 * `localNames`: the mDNS names the box may answer as (mailnest.local, mailnest-2.local), so that a browser
 * sent from http://mailnest.local to HTTPS finds its name in the certificate.
 */
export function ensureCertificate(tlsDir: string, hostname: string, now = new Date(), localNames: readonly string[] = []): TlsFiles {
  mkdirSync(tlsDir, { recursive: true, mode: 0o700 });
  const keyPath = join(tlsDir, 'key.pem');
  const certPath = join(tlsDir, 'cert.pem');
  const sourcePath = join(tlsDir, 'source');
  const source = existsSync(sourcePath) ? readFileSync(sourcePath, 'utf8').trim() : 'generated';
  const wanted = [...new Set([hostname, ...(hostname === 'localhost' ? [] : ['localhost']), ...localNames, '127.0.0.1', '::1'])];

  if (existsSync(keyPath) && existsSync(certPath)) {
    const key = readFileSync(keyPath, 'utf8');
    const cert = readFileSync(certPath, 'utf8');
    const x509 = new X509Certificate(cert);
    const validTo = new Date(x509.validTo);
    const names = (x509.subjectAltName ?? '').split(', ').map((s) => s.replace(/^(DNS|IP Address):/, ''));
    createPrivateKey(key); // a damaged key file fails here, not in the middle of a handshake
    const renewAt = new Date(validTo.getTime() - renewWithinDays * 24 * 60 * 60 * 1000);
    if (source === 'custom' || (names[0] === hostname && wanted.every((name) => isIP(name) !== 0 || names.includes(name)) && now < renewAt)) return { key, cert, source, subjectAltNames: names, validTo };
  }
  const made = selfSignedCertificate(wanted, now);
  writeAtomically(keyPath, made.key);
  writeAtomically(certPath, made.cert);
  writeAtomically(sourcePath, 'generated\n');
  return { ...made, source: 'generated', subjectAltNames: wanted, validTo: new Date(new X509Certificate(made.cert).validTo) };
}
