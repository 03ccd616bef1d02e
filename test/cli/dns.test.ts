// `domain add` makes the DKIM keys; `domain dns` prints what to publish.

import test from 'ava';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { cliOk, runCli } from '../helpers/cli.ts';
import { testPassword } from '../helpers/accounts.ts';
import { tempDataDir } from '../helpers/data-dir.ts';

test('domain add makes DKIM keys and domain dns prints MX, SPF, DKIM, DMARC and SRV records', async (t) => {
  const data = tempDataDir(t);
  t.regex(await cliOk(['domain', 'add', 'example.test'], { data }), /publish its DNS records: mailnest domain dns example\.test/);
  t.true(existsSync(join(data, 'dkim', 'example.test', 'rsa.pem')));
  t.true(existsSync(join(data, 'dkim', 'example.test', 'ed25519.pem')));
  await cliOk(['config', 'set', 'hostname', 'mail.example.test'], { data });
  const zone = await cliOk(['domain', 'dns', 'example.test'], { data });
  t.regex(zone, /^example\.test\.\s+IN MX\s+10 mail\.example\.test\.$/m);
  t.regex(zone, /^example\.test\.\s+IN TXT\s+"v=spf1 mx -all"$/m);
  t.regex(zone, /^mailnest-rsa1\._domainkey\.example\.test\.\s+IN TXT\s+"v=DKIM1; k=rsa; p=/m);
  t.regex(zone, /^mailnest-ed1\._domainkey\.example\.test\.\s+IN TXT\s+"v=DKIM1; k=ed25519; p=/m);
  t.regex(zone, /^_dmarc\.example\.test\.\s+IN TXT\s+"v=DMARC1; /m);
  for (const [service, port] of [['submission', 587], ['submissions', 465], ['imap', 143], ['imaps', 993], ['pop3', 110], ['pop3s', 995]] as const) {
    t.regex(zone, new RegExp(`^_${service}\\._tcp\\.example\\.test\\.\\s+IN SRV\\s+0 1 ${port} mail\\.example\\.test\\.$`, 'm'), service);
  }
  t.notRegex(zone, /WARNING/);
  const json = JSON.parse(await cliOk(['domain', 'dns', 'example.test', '--json'], { data })) as { domain: string; hostname: string; warnings: string[]; records: { type: string; value: string }[] };
  t.like(json, { domain: 'example.test', hostname: 'mail.example.test', warnings: [] });
  t.is(json.records.filter((r) => r.type === 'SRV').length, 6);
  t.regex(json.records.find((r) => r.value.startsWith('v=DMARC1'))!.value, /rua=mailto:postmaster@example\.test/);
  t.is((await cliOk(['domain', 'dns', 'example.test'], { data })).match(/k=rsa; p=[^"]+/)?.[0], zone.match(/k=rsa; p=[^"]+/)?.[0], 'the same key every time');
  const missing = await runCli(['domain', 'dns', 'nowhere.test'], { data });
  t.is(missing.code, 1);
  t.regex(missing.stderr, /domain nowhere\.test does not exist/);
});

test('domain dns warns, in the zone and in --json, when the hostname is a machine name, and suggests mail.<domain>', async (t) => {
  const data = tempDataDir(t);
  await cliOk(['domain', 'add', 'family.example'], { data });
  await cliOk(['config', 'set', 'hostname', 'vm'], { data });
  const zone = await cliOk(['domain', 'dns', 'family.example'], { data });
  const warning = /^; WARNING: the hostname vm is not a full domain name, .*; set one that resolves to this box: mailnest config set hostname mail\.family\.example$/m;
  t.regex(zone, warning);
  t.is(zone.split('\n').filter((line) => line.includes('WARNING')).length, 1);
  t.regex(zone, /^family\.example\.\s+IN MX\s+10 vm\.$/m, 'the records are still printed');
  const json = JSON.parse(await cliOk(['domain', 'dns', 'family.example', '--json'], { data })) as { warnings: string[] };
  t.is(json.warnings.length, 1);
  t.regex(`; WARNING: ${json.warnings[0]}`, warning);
});

test('the DMARC report address of domain dns accepts mail: postmaster@ exists for the domain', async (t) => {
  const data = tempDataDir(t);
  await cliOk(['domain', 'add', 'family.example'], { data });
  await cliOk(['user', 'add', 'alice@family.example', '--password-stdin'], { data, stdin: testPassword });
  const json = JSON.parse(await cliOk(['domain', 'dns', 'family.example', '--json'], { data })) as { records: { value: string }[] };
  const rua = /rua=mailto:([^;\s]+)/.exec(json.records.map((r) => r.value).join('\n'))![1]!;
  const aliases = JSON.parse(await cliOk(['alias', 'list', '--json'], { data })) as { source: string; destinations: string[] }[];
  t.deepEqual(aliases.find((a) => a.source === rua)?.destinations, ['alice@family.example']);
});
