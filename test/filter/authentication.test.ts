// The authentication stage end to end: mail on port 25 from 127.0.0.1, with a
// DNS server on 127.0.0.1 answering SPF, DKIM (keys made now) and DMARC TXT
// records; what is stored, refused, and what submission mail gets.

import test, { type ExecutionContext } from 'ava';
import { readFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import nodemailer from 'nodemailer';
import { domainRecords, ensureDomainKeys, signMessage } from '../../services/dkim/index.ts';
import { tempDataDir } from '../helpers/data-dir.ts';
import { startDnsServer, type Zone } from '../helpers/dns-server.ts';
import { addFamily, startServices, testPassword, type TestServices } from '../helpers/services.ts';
import { message, sendRaw } from '../helpers/smtp-client.ts';

const signedKeys = (t: ExecutionContext) => ensureDomainKeys(tempDataDir(t), 'signed.test');

async function setUp(t: ExecutionContext, overrides: Record<string, string> = {}) {
  const keys = signedKeys(t);
  const zone: Zone = {
    'remote.test': { txt: ['v=spf1 ip4:127.0.0.1 -all'] },
    '_dmarc.remote.test': { txt: ['v=DMARC1; p=reject'] },
    'bad.test': { txt: ['v=spf1 ip4:192.0.2.1 -all'] },
    'strict.test': { txt: ['v=spf1 ip4:192.0.2.1 -all'] },
    '_dmarc.strict.test': { txt: ['v=DMARC1; p=reject'] },
    'silent.test': { silent: true },
    '_dmarc.silent.test': { silent: true },
    'signed.test': { txt: ['v=spf1 ip4:192.0.2.1 ~all'] },
  };
  for (const record of domainRecords('signed.test', 'mail.signed.test', keys)) {
    if (record.type === 'TXT' && !record.name.startsWith('signed.test')) zone[record.name.replace(/\.$/, '')] = { txt: [record.value] };
  }
  const dns = await startDnsServer(t, zone);
  const env = await startServices(t, { overrides: { 'dns-servers': dns.server, ...overrides } });
  await addFamily(env.services);
  return { env, keys, dns };
}

function stored(env: TestServices, address = 'alice@example.test'): string[] {
  const store = env.services.store;
  const list = store.mail.listMessages(store.mail.findMailbox(store.accounts.get(address).id, 'INBOX')!.id);
  return list.map((m) => readFileSync(store.mail.files.absolute(m.file), 'utf8'));
}

const from = (address: string, subject: string, extra = '') => message(subject, 'Hello Alice.', extra).replace('From: Sender <sender@remote.test>', `From: Sender <${address}>`);

test('SPF pass and fail are recorded in one Authentication-Results header below Return-Path', async (t) => {
  const { env } = await setUp(t);
  t.true((await sendRaw(env.ports.smtp!, 'sender@remote.test', ['alice@example.test'], from('sender@remote.test', 'spf pass'))).ok);
  t.true((await sendRaw(env.ports.smtp!, 'sender@bad.test', ['alice@example.test'], from('sender@bad.test', 'spf fail'))).ok);
  const [pass, fail] = stored(env);
  t.regex(pass!, /^Return-Path: <sender@remote\.test>\r\nAuthentication-Results: mx\.example\.test;\r\n\t/);
  t.regex(pass!, /spf=pass [^\r\n]*smtp\.mailfrom=sender@remote\.test/);
  t.regex(pass!, /dkim=none/);
  t.regex(pass!, /dmarc=pass [^\r\n]*header\.from=remote\.test/, 'an unsigned message passes DMARC p=reject through aligned SPF');
  t.regex(fail!, /spf=fail [^\r\n]*smtp\.mailfrom=sender@bad\.test/);
  t.is(fail!.match(/^Authentication-Results:/gm)?.length, 1);
});

test('a DKIM-signed message passes; one altered after signing fails', async (t) => {
  const { env, keys } = await setUp(t);
  const raw = from('sender@signed.test', 'signed');
  const signature = await signMessage(Readable.from([Buffer.from(raw)]), keys);
  t.true((await sendRaw(env.ports.smtp!, 'sender@signed.test', ['alice@example.test'], signature + raw)).ok);
  t.true((await sendRaw(env.ports.smtp!, 'sender@signed.test', ['alice@example.test'], signature + raw.replace('Hello Alice', 'Hello Mallory'))).ok);
  const [good, altered] = stored(env);
  t.regex(good!, /dkim=pass header\.i=@signed\.test header\.s=mailnest-rsa1/);
  t.regex(good!, /dmarc=pass [^\r\n]*header\.from=signed\.test/, 'aligned DKIM passes DMARC although SPF soft-fails');
  t.notRegex(altered!.split('\r\n\r\n')[0]!.replace(/\r\n\t/g, ' ').split('\r\n').find((l) => l.startsWith('Authentication-Results:'))!, /dkim=pass/);
  t.regex(altered!, /dkim=(neutral|fail)/);
});

test('DMARC p=reject failing is refused with 550 5.7.1 and nothing is stored', async (t) => {
  const { env } = await setUp(t);
  const result = await sendRaw(env.ports.smtp!, 'sender@strict.test', ['alice@example.test'], from('sender@strict.test', 'spoofed'));
  t.false(result.ok);
  t.is(result.code, 550);
  t.regex(result.response, /5\.7\.1 .*DMARC policy \(p=reject\) of strict\.test/);
  t.deepEqual(stored(env), []);
});

test('the same sender whitelisted in filter-dmarc-exempt is delivered with dmarc=fail', async (t) => {
  const { env } = await setUp(t, { 'filter-dmarc-exempt': 'strict.test' });
  t.true((await sendRaw(env.ports.smtp!, 'sender@strict.test', ['alice@example.test'], from('sender@strict.test', 'exempt'))).ok);
  const [kept] = stored(env);
  t.regex(kept!, /dmarc=fail [^\r\n]*header\.from=strict\.test/);
});

test('a forged Authentication-Results naming our host is left out; another server\'s is kept', async (t) => {
  const { env } = await setUp(t);
  const forged = 'Authentication-Results: mx.example.test;\r\n\tdkim=pass header.d=bank.test;\r\n\tdmarc=pass header.from=bank.test\r\nAuthentication-Results: other.example; spf=pass smtp.mailfrom=remote.test\r\n';
  t.true((await sendRaw(env.ports.smtp!, 'sender@remote.test', ['alice@example.test'], from('sender@remote.test', 'forged', forged))).ok);
  const [kept] = stored(env);
  t.is(kept!.match(/^Authentication-Results: mx\.example\.test;/gm)?.length, 1);
  t.notRegex(kept!, /bank\.test/);
  t.regex(kept!, /^Authentication-Results: other\.example; spf=pass/m);
  t.regex(kept!, /\r\nSubject: forged\r\n[^]*\r\n\r\nHello Alice\./, 'the rest of the message is intact');
});

test('submission mail from a logged-in user gets no Authentication-Results', async (t) => {
  const { env } = await setUp(t);
  const client = nodemailer.createTransport({ host: '127.0.0.1', port: env.ports.submission!, requireTLS: true, tls: { rejectUnauthorized: false }, auth: { user: 'bob@example.test', pass: testPassword } });
  try {
    await client.sendMail({ envelope: { from: 'bob@example.test', to: ['alice@example.test'] }, raw: from('bob@example.test', 'from bob') });
  } finally {
    client.close();
  }
  const [kept] = stored(env);
  t.notRegex(kept!, /Authentication-Results/);
});

test('DNS that does not answer gives temperror, and the message is delivered within a bound', async (t) => {
  const { env } = await setUp(t);
  const started = Date.now();
  t.true((await sendRaw(env.ports.smtp!, 'sender@silent.test', ['alice@example.test'], from('sender@silent.test', 'silent dns'))).ok);
  t.true(Date.now() - started < 9000, `took ${Date.now() - started} ms`);
  const [kept] = stored(env);
  t.regex(kept!, /spf=temperror/);
});
