import test from 'ava';
import { X509Certificate } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ensureCertificate } from '../../services/tls/certificate.ts';
import { tempDataDir } from '../helpers/data-dir.ts';

const namesIn = (dir: string) => new X509Certificate(readFileSync(join(dir, 'cert.pem'))).subjectAltName ?? '';

test('the certificate names the mDNS names, and one made without them is made again once', (t) => {
  const dir = join(tempDataDir(t), 'tls');
  const before = ensureCertificate(dir, 'mail.example.test');
  t.notRegex(namesIn(dir), /mailnest\.local/);
  const after = ensureCertificate(dir, 'mail.example.test', new Date(), ['mailnest.local', 'mailnest-2.local']);
  t.not(after.cert, before.cert, 'an older certificate without the .local names is replaced');
  t.is(after.subjectAltNames[0], 'mail.example.test', 'the host name stays the first name');
  t.regex(namesIn(dir), /DNS:mailnest\.local, DNS:mailnest-2\.local/);
  const again = ensureCertificate(dir, 'mail.example.test', new Date(), ['mailnest.local', 'mailnest-2.local']);
  t.is(again.cert, after.cert, 'a certificate with every name is kept');
});

test('a certificate of your own is never replaced for the .local names', (t) => {
  const dir = join(tempDataDir(t), 'tls');
  const mine = ensureCertificate(dir, 'mail.example.test');
  writeFileSync(join(dir, 'source'), 'custom\n');
  const kept = ensureCertificate(dir, 'mail.example.test', new Date(), ['mailnest.local']);
  t.is(kept.cert, mine.cert);
});
