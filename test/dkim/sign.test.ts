// DKIM signatures made here verify with mailauth (a widely used independent
// implementation), for RSA and Ed25519, through edits that relaxed
// canonicalisation tolerates, and fail after edits it does not.

import test from 'ava';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { dkimVerify } from 'mailauth/lib/dkim/verify.js';
import { createSigner, domainRecords, ensureDomainKeys, signMessage, zoneFile, type DomainKeys } from '../../services/dkim/index.ts';
import { normalizeLineEnds } from '../../services/mime/line-ends.ts';
import { tempDataDir } from '../helpers/data-dir.ts';
import { dkimResolverFor } from '../helpers/dkim.ts';

const message = [
  'From: Alice  <alice@example.test>',
  'To: bob@remote.test',
  'Subject: a signed   message',
  '\tfolded onto two lines',
  'Date: Tue, 24 Nov 2026 10:00:00 +0000',
  'Message-ID: <signed@example.test>',
  'MIME-Version: 1.0',
  'Content-Type: text/plain; charset=utf-8',
  '',
  'Hello Bob,  with two spaces.   ',
  '',
  'Grüße.',
  '',
  '',
].join('\r\n');

async function verify(keys: DomainKeys, raw: Buffer) {
  const result = await dkimVerify(raw, { resolver: dkimResolverFor(keys) });
  return result.results.map((r: { status: { result: string }; signingDomain: string; algo: string }) => `${r.algo}:${r.status.result}:${r.signingDomain}`);
}

test('keys are made once per domain, with mode 0600, and give DNS records', async (t) => {
  const dir = tempDataDir(t);
  const first = ensureDomainKeys(dir, 'example.test');
  const again = ensureDomainKeys(dir, 'example.test');
  t.is(first.rsa.publicKeyText, again.rsa.publicKeyText);
  t.is(statSync(join(dir, 'example.test', 'rsa.pem')).mode & 0o777, 0o600);
  t.regex(readFileSync(join(dir, 'example.test', 'ed25519.pem'), 'utf8'), /BEGIN PRIVATE KEY/);
  t.false(existsSync(join(dir, 'example.test', 'rsa.pem.tmp')));
  t.is(Buffer.from(first.ed25519.publicKeyText, 'base64').length, 32);
  const zone = zoneFile(domainRecords('example.test', 'mail.example.test', first));
  t.regex(zone, /^example\.test\.\s+IN MX \s+10 mail\.example\.test\.$/m);
  t.regex(zone, /^mailnest-rsa1\._domainkey\.example\.test\.\s+IN TXT\s+"v=DKIM1; k=rsa; p=[^"]{200,}" "[^"]+"$/m, 'a long TXT value is split into strings of at most 255');
  t.regex(zone, /^_dmarc\.example\.test\.\s+IN TXT\s+"v=DMARC1; p=quarantine/m);
  t.regex(zone, /^_submissions\._tcp\.example\.test\.\s+IN SRV\s+0 1 465 mail\.example\.test\.$/m);
});

test('RSA and Ed25519 signatures verify with mailauth, also after tolerated changes, and fail after real ones', async (t) => {
  const keys = ensureDomainKeys(tempDataDir(t), 'example.test');
  const chunks = [Buffer.from(message.slice(0, 37)), Buffer.from(message.slice(37, 200)), Buffer.from(message.slice(200))];
  const signature = await signMessage(Readable.from(chunks), keys);
  t.regex(signature, /^DKIM-Signature: v=1; a=rsa-sha256; c=relaxed\/relaxed; d=example\.test; s=mailnest-rsa1;/);
  t.regex(signature, /\r\nDKIM-Signature: v=1; a=ed25519-sha256; /);
  t.regex(signature, /h=from:subject:date:message-id:to:mime-version:content-type:from;/, 'From is oversigned');
  const signed = Buffer.from(signature + message);
  t.deepEqual(await verify(keys, signed), ['rsa-sha256:pass:example.test', 'ed25519-sha256:pass:example.test']);

  // Relaxed canonicalisation tolerates re-folding and trailing white space.
  const refolded = Buffer.from(signature + message.replace('Subject: a signed   message\r\n\tfolded', 'Subject: a signed message folded').replace('two spaces.   ', 'two spaces.'));
  t.deepEqual(await verify(keys, refolded), ['rsa-sha256:pass:example.test', 'ed25519-sha256:pass:example.test']);

  const tampered = Buffer.from(signature + message.replace('Hello Bob', 'Hello Eve'));
  // mailauth reports a body that no longer matches its hash as neutral: anything but pass.
  for (const result of await verify(keys, tampered)) t.notRegex(result, /:pass:/, result);
  const addedFrom = Buffer.from(signature + 'From: mallory@evil.test\r\n' + message);
  t.notDeepEqual(await verify(keys, addedFrom), ['rsa-sha256:pass:example.test', 'ed25519-sha256:pass:example.test'], 'an added From breaks it');
});

test('a message without a body and one of several megabytes sign and verify', async (t) => {
  const keys = ensureDomainKeys(tempDataDir(t), 'example.test');
  const headerOnly = 'From: alice@example.test\r\nSubject: empty\r\n\r\n';
  t.deepEqual(await verify(keys, Buffer.from((await signMessage(Readable.from([Buffer.from(headerOnly)]), keys)) + headerOnly)), ['rsa-sha256:pass:example.test', 'ed25519-sha256:pass:example.test']);
  const big = Buffer.from('From: alice@example.test\r\nSubject: big\r\n\r\n' + 'line of text with  spaces \r\n'.repeat(200_000));
  const pieces = [];
  for (let i = 0; i < big.length; i += 65_536) pieces.push(big.subarray(i, i + 65_536));
  t.deepEqual(await verify(keys, Buffer.concat([Buffer.from(await signMessage(Readable.from(pieces), keys)), big])), ['rsa-sha256:pass:example.test', 'ed25519-sha256:pass:example.test']);
});

test('the signer signs the message as the queue sends it: bare CR and LF count as CRLF', async (t) => {
  const dir = tempDataDir(t);
  const keys = ensureDomainKeys(join(dir, 'dkim'), 'example.test');
  const stored = Buffer.from('From: alice@example.test\nTo: bob@remote.test\rSubject: bare line ends\n\nline\rline\nlast\n');
  const path = join(dir, 'message.eml');
  writeFileSync(path, stored);
  const signer = createSigner(join(dir, 'dkim'), (domain) => domain === 'example.test');
  const signature = await signer({ path, size: stored.length, fromDomain: 'example.test' });
  t.truthy(signature);
  const sent = Buffer.concat([signature!, normalizeLineEnds(stored)]);
  t.deepEqual((await verify(keys, sent)).sort(), ['ed25519-sha256:pass:example.test', 'rsa-sha256:pass:example.test']);
});
