// The doctor's checks against a DNS server on 127.0.0.1 and TCP ports on
// 127.0.0.1: a well-set-up line passes everything; each broken record gives a
// finding that says what to do; a check alarms only on its second failure in a
// row, and the count survives a restart.

import test, { type ExecutionContext } from 'ava';
import { runChecks, doctorReport, type DoctorTimings } from '../../services/doctor/index.ts';
import { Store, type StoredFinding } from '../../services/store/index.ts';
import { tempDataDir } from '../helpers/data-dir.ts';
import { startDnsServer, type Zone } from '../helpers/dns-server.ts';
import { closedPort, domain, goodZone, hostname, lists, openPort, publicAddress } from './helpers.ts';

const timings: DoctorTimings = { lookupMs: 1500, probeMs: 1500 };

function openStore(t: ExecutionContext, data = tempDataDir(t)): Store {
  const store = Store.open(data);
  t.teardown(() => store.close());
  return store;
}

interface RunSettings {
  dns: string;
  probe?: string;
  addressName?: string;
  dnsbls?: string[];
}

async function run(store: Store, s: RunSettings): Promise<Record<string, StoredFinding>> {
  const result = await runChecks(
    store,
    { hostname, dnsServers: [s.dns], doctorPort25Probe: s.probe ?? '', doctorPublicAddressName: s.addressName ?? '', doctorDnsbls: s.dnsbls ?? lists },
    timings,
    new AbortController().signal,
  );
  return Object.fromEntries(result!.findings.map((f) => [f.id, f]));
}

test('a well-set-up line: every check passes, and the probe really connected', async (t) => {
  const store = openStore(t);
  const dns = await startDnsServer(t, goodZone(store));
  const listener = await openPort(t);
  const found = await run(store, { dns: dns.server, probe: `127.0.0.1:${listener.port}` });
  t.deepEqual(Object.keys(found), ['port25', 'public-address', 'reverse-dns', ...lists.map((l) => `dnsbl:${l}`), `mx:${domain}`, `spf:${domain}`, `dkim:${domain}`, `dmarc:${domain}`, `srv:${domain}`]);
  for (const finding of Object.values(found)) t.is(finding.status, 'ok', `${finding.id}: ${finding.title}: ${finding.detail}`);
  t.is(listener.accepted(), 1);
  t.regex(found['reverse-dns']!.title, /reverse DNS of 192\.0\.2\.10 is mx\.example\.test/);
  t.regex(found[`dkim:${domain}`]!.detail, /mailnest-rsa1\._domainkey\.example\.test matches/);
  // Every lookup went to the server on 127.0.0.1, including the DNSBL queries of the reversed address (RFC 5782 §2.1).
  t.true(dns.queries.includes('A 10.2.0.192.bl.example.net'));
  t.true(dns.queries.includes('PTR 10.2.0.192.in-addr.arpa'));
  t.true(dns.queries.includes('SRV _imaps._tcp.example.test'));
});

test('a broken line: each finding names the problem and what to do', async (t) => {
  const store = openStore(t);
  const zone = goodZone(store);
  delete zone['10.2.0.192.in-addr.arpa'];
  zone['10.2.0.192.bl.example.net'] = { a: ['127.0.0.2'], txt: ['Listed: see https://bl.example.net/lookup'] };
  zone[domain] = { mx: [{ priority: 10, exchange: 'mail.elsewhere.test' }], txt: ['v=spf1 ip4:198.51.100.0/24 -all'] };
  zone[`mailnest-rsa1._domainkey.${domain}`] = { txt: ['v=DKIM1; k=rsa; p=MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAother'] };
  delete zone[`_dmarc.${domain}`];
  delete zone[`_imaps._tcp.${domain}`];
  zone[`_submission._tcp.${domain}`] = { srv: [{ priority: 0, weight: 1, port: 587, target: 'mail.elsewhere.test' }] };
  const dns = await startDnsServer(t, zone);
  const found = await run(store, { dns: dns.server, probe: `127.0.0.1:${await closedPort()}` });

  t.like(found.port25, { status: 'warning', failures: 1 });
  t.regex(found.port25!.title, /^Outbound port \d+ is blocked$/);
  t.regex(found.port25!.detail, /refused/);
  t.regex(found.port25!.fix, /relay/);
  t.like(found['reverse-dns'], { status: 'warning', title: '192.0.2.10 has no reverse DNS name' });
  t.regex(found['reverse-dns']!.fix, /set the reverse DNS \(PTR\) of 192\.0\.2\.10 to mx\.example\.test/);
  t.like(found['dnsbl:bl.example.net'], { status: 'warning', title: '192.0.2.10 is listed on bl.example.net' });
  t.regex(found['dnsbl:bl.example.net']!.detail, /127\.0\.0\.2.*Listed: see https:\/\/bl\.example\.net\/lookup/);
  t.is(found['dnsbl:other-bl.example.net']!.status, 'ok');
  t.like(found[`mx:${domain}`], { status: 'warning', title: 'The MX of example.test does not point at mx.example.test' });
  t.regex(found[`mx:${domain}`]!.fix, /example\.test\. MX 10 mx\.example\.test\./);
  t.like(found[`spf:${domain}`], { status: 'warning', title: 'SPF of example.test does not allow the box' });
  t.regex(found[`spf:${domain}`]!.fix, /v=spf1 mx -all/);
  t.like(found[`dkim:${domain}`], { status: 'warning', title: 'The DKIM key of example.test is wrong' });
  t.regex(found[`dkim:${domain}`]!.fix, /mailnest-rsa1\._domainkey\.example\.test\. TXT "v=DKIM1; k=rsa; p=MII/);
  t.like(found[`dmarc:${domain}`], { status: 'warning', title: 'example.test has no DMARC record' });
  t.regex(found[`dmarc:${domain}`]!.fix, /_dmarc\.example\.test\. TXT "v=DMARC1; p=quarantine/);
  t.like(found[`srv:${domain}`], { status: 'warning', title: 'The mail program records of example.test are wrong' });
  t.regex(found[`srv:${domain}`]!.detail, /missing: _imaps\._tcp\.example\.test; not pointing at mx\.example\.test: _submission\._tcp\.example\.test names mail\.elsewhere\.test:587/);
});

test('no SPF, two SPF records, no MX, no A for the hostname', async (t) => {
  const store = openStore(t);
  const zone = goodZone(store);
  zone[domain] = { txt: ['v=spf1 mx -all', 'v=spf1 a -all'] };
  const dns = await startDnsServer(t, zone);
  let found = await run(store, { dns: dns.server });
  t.like(found[`spf:${domain}`], { status: 'warning', title: 'example.test has 2 SPF records' });
  t.like(found[`mx:${domain}`], { status: 'warning', title: 'example.test has no MX record' });
  zone[domain] = { mx: [{ priority: 10, exchange: hostname }] };
  delete zone[hostname];
  found = await run(store, { dns: dns.server });
  t.like(found[`spf:${domain}`], { status: 'alarm', failures: 2, title: 'example.test has no SPF record' });
  t.like(found['public-address'], { status: 'warning', title: 'mx.example.test has no address in the DNS' });
  // Without an address, what depends on it is not known rather than failed.
  t.like(found['reverse-dns'], { status: 'unknown' });
  t.like(found['dnsbl:bl.example.net'], { status: 'unknown' });
});

test('fails once: a warning; twice: an alarm; a pass clears it; the count survives a restart', async (t) => {
  const data = tempDataDir(t);
  let store = Store.open(data);
  const dns = await startDnsServer(t, goodZone(store));
  const blocked = `127.0.0.1:${await closedPort()}`;
  t.like((await run(store, { dns: dns.server, probe: blocked })).port25, { status: 'warning', failures: 1 });
  t.deepEqual(store.doctor.alarms(), []);
  store.close();
  // A restart: the second failure in a row is still the second.
  store = Store.open(data);
  t.teardown(() => store.close());
  t.like((await run(store, { dns: dns.server, probe: blocked })).port25, { status: 'alarm', failures: 2 });
  t.deepEqual(store.doctor.alarms(), [store.doctor.list()[0]!.title]);
  t.like(doctorReport(store, false).findings[0], { id: 'port25', status: 'alarm', failures: 2 });
  t.like((await run(store, { dns: dns.server, probe: blocked })).port25, { status: 'alarm', failures: 3 });
  const listener = await openPort(t);
  t.like((await run(store, { dns: dns.server, probe: `127.0.0.1:${listener.port}` })).port25, { status: 'ok', failures: 0, title: `Outbound port ${listener.port} is open` });
  t.deepEqual(store.doctor.alarms(), []);
  t.like((await run(store, { dns: dns.server, probe: blocked })).port25, { status: 'warning', failures: 1 });
  // A check no longer made (the probe turned off) leaves no stale row.
  t.false('port25' in (await run(store, { dns: dns.server })));
  t.false(store.doctor.list().some((f) => f.id === 'port25'));
});

test('a lookup without an answer is unknown within its deadline, and neither raises nor clears the count', async (t) => {
  const store = openStore(t);
  const zone = goodZone(store);
  zone[domain] = { mx: [{ priority: 10, exchange: hostname }] };
  const dns = await startDnsServer(t, zone);
  t.like((await run(store, { dns: dns.server }))[`spf:${domain}`], { status: 'warning', failures: 1 });
  zone[domain] = { silent: true };
  const found = await run(store, { dns: dns.server });
  t.like(found[`spf:${domain}`], { status: 'unknown', failures: 1 });
  t.regex(found[`spf:${domain}`]!.detail, /no answer to TXT example\.test within 1\.5 s/);
  t.like(found[`mx:${domain}`], { status: 'unknown' });
  zone[domain] = { mx: [{ priority: 10, exchange: hostname }] };
  t.like((await run(store, { dns: dns.server }))[`spf:${domain}`], { status: 'alarm', failures: 2 });
  zone['10.2.0.192.other-bl.example.net'] = { a: ['127.255.255.254'] };
  // A DNSBL's error code (Spamhaus: the query came through a public resolver) is not a listing.
  t.like((await run(store, { dns: dns.server }))['dnsbl:other-bl.example.net'], { status: 'unknown', title: 'other-bl.example.net did not answer the question' });
});

test('with a relay: a blocked port 25, a missing PTR and a listing do not matter, and SPF must allow the relay', async (t) => {
  const store = openStore(t);
  const zone = goodZone(store);
  delete zone['10.2.0.192.in-addr.arpa'];
  zone['10.2.0.192.bl.example.net'] = { a: ['127.0.0.10'] };
  zone['smtp.provider.test'] = { a: ['203.0.113.5'] };
  const dns = await startDnsServer(t, zone);
  store.relay.set({ host: 'smtp.provider.test', port: 587, security: 'starttls', username: null, password: null, verify: true });
  let found = await run(store, { dns: dns.server, probe: `127.0.0.1:${await closedPort()}` });
  t.like(found.port25, { status: 'ok' });
  t.regex(found.port25!.title, /blocked, and mail goes through the relay/);
  t.like(found['reverse-dns'], { status: 'ok' });
  t.like(found['dnsbl:bl.example.net'], { status: 'ok', title: '192.0.2.10 is on bl.example.net, and mail goes through the relay' });
  // v=spf1 mx -all allows the box, not the relay that sends for it.
  t.like(found[`spf:${domain}`], { status: 'warning', title: 'SPF of example.test does not allow the relay smtp.provider.test' });
  t.regex(found[`spf:${domain}`]!.fix, /include:/);
  zone[domain] = { mx: [{ priority: 10, exchange: hostname }], txt: ['v=spf1 mx include:_spf.provider.test -all'] };
  zone['_spf.provider.test'] = { txt: ['v=spf1 ip4:203.0.113.0/24 ~all'] };
  found = await run(store, { dns: dns.server });
  t.like(found[`spf:${domain}`], { status: 'ok', title: 'SPF of example.test allows the relay smtp.provider.test' });
});

test('the public address from a what-is-my-address name at its own server: the hostname must point at it', async (t) => {
  const store = openStore(t);
  const dns = await startDnsServer(t, goodZone(store));
  const myip = await startDnsServer(t, { 'myip.example.net': { a: ['198.51.100.7'] } });
  const found = await run(store, { dns: dns.server, addressName: `myip.example.net@${myip.server}` });
  t.like(found['public-address'], { status: 'warning', title: 'mx.example.test does not point at this box' });
  t.regex(found['public-address']!.fix, /Change the A record of mx\.example\.test to 198\.51\.100\.7/);
  t.deepEqual(myip.queries, ['A myip.example.net']);
  t.false(dns.queries.includes('A myip.example.net'));
  // The address it names is the one reverse DNS and the lists are asked about.
  t.true(dns.queries.includes('PTR 7.100.51.198.in-addr.arpa'));
  t.true(dns.queries.includes('A 7.100.51.198.bl.example.net'));
  t.like(found['reverse-dns'], { status: 'warning' });
  const same = await startDnsServer(t, { 'myip.example.net': { a: [publicAddress] } });
  t.like((await run(store, { dns: dns.server, addressName: `myip.example.net@${same.server}` }))['public-address'], { status: 'ok' });
});

test('a hostname on a private address, and a PTR that is not forward-confirmed', async (t) => {
  const store = openStore(t);
  const zone = goodZone(store);
  zone[hostname] = { a: ['192.168.1.20'] };
  const dns = await startDnsServer(t, zone);
  t.like((await run(store, { dns: dns.server }))['public-address'], { status: 'warning', title: 'mx.example.test points at a private address' });
  const myip = await startDnsServer(t, { 'myip.example.net': { a: [publicAddress] } });
  const found = await run(store, { dns: dns.server, addressName: `myip.example.net@${myip.server}` });
  // The first run knew no address (unknown, not counted): this is the first failure.
  t.like(found['reverse-dns'], { status: 'warning', failures: 1, title: 'The reverse DNS of 192.0.2.10 is not confirmed by mx.example.test' });
  t.regex(found['reverse-dns']!.fix, /Point the A record of mx\.example\.test at 192\.0\.2\.10/);
});
