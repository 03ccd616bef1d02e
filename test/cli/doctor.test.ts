// `mailnest doctor [--json]`: one run against the configured resolver (a DNS
// server on 127.0.0.1), recorded like the services' own runs; exit status 1
// once something is in alarm (the second failure in a row), 0 before.

import test from 'ava';
import { Store } from '../../services/store/index.ts';
import { cliOk, runCli } from '../helpers/cli.ts';
import { tempDataDir } from '../helpers/data-dir.ts';
import { startDnsServer } from '../helpers/dns-server.ts';
import { closedPort, goodZone, hostname, openPort } from '../doctor/helpers.ts';

test('doctor prints the findings with what to do; a second failure in a row is an alarm and exits 1; --json has the API shape', async (t) => {
  const data = tempDataDir(t);
  const store = Store.open(data);
  const zone = goodZone(store);
  store.close();
  delete zone['_dmarc.example.test'];
  const dns = await startDnsServer(t, zone);
  for (const [key, value] of Object.entries({ hostname, 'dns-servers': dns.server, 'doctor-port25-probe': `127.0.0.1:${await closedPort()}`, 'doctor-public-address-name': '', 'doctor-dnsbls': 'bl.example.net' })) {
    await cliOk(['config', 'set', key, value], { data });
  }
  const first = await runCli(['doctor'], { data, timeoutMs: 60_000 });
  t.is(first.code, 0, first.stderr);
  t.regex(first.stdout, /^WARNING  Outbound port \d+ is blocked$/m);
  t.regex(first.stdout, /What to do: Send through a relay/);
  t.regex(first.stdout, /^WARNING  example\.test has no DMARC record$/m);
  t.regex(first.stdout, /^ok       The MX of example\.test is mx\.example\.test$/m);
  t.regex(first.stdout, /2 warnings\nA warning becomes an alarm/);

  const second = await runCli(['doctor', '--json'], { data, timeoutMs: 60_000 });
  t.is(second.code, 1, second.stderr);
  const report = JSON.parse(second.stdout) as { checkedAt: string; running: boolean; findings: { id: string; status: string; failures: number }[] };
  t.false(report.running);
  t.like(report.findings.find((f) => f.id === 'port25'), { status: 'alarm', failures: 2 });
  t.like(report.findings.find((f) => f.id === 'dmarc:example.test'), { status: 'alarm', failures: 2 });

  const listener = await openPort(t);
  await cliOk(['config', 'set', 'doctor-port25-probe', `127.0.0.1:${listener.port}`], { data });
  zone['_dmarc.example.test'] = { txt: ['v=DMARC1; p=quarantine'] };
  const mended = await runCli(['doctor'], { data, timeoutMs: 60_000 });
  t.is(mended.code, 0, mended.stderr);
  t.regex(mended.stdout, /everything is fine/);
});

test('doctor refuses a folder without a database, and creates nothing', async (t) => {
  const result = await runCli(['doctor'], { data: `${tempDataDir(t)}/none` });
  t.is(result.code, 1);
  t.regex(result.stderr, /there is no Mailnest database/);
});
