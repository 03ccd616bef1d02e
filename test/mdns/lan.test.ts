// mDNS on a LAN of network namespaces the test makes (test/mdns/lan.ts): whole
// Mailnest services processes (test/mdns/box.ts) in some namespaces, a querier
// on multicast-dns (test/mdns/querier.ts) in another. Needs root; without it
// the tests fail saying so, they never skip.

import test from 'ava';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeLan, run, type Child, type Host } from './lan.ts';

type Line = Record<string, any>;
type Record_ = { name: string; type: string; ttl: number; data: any };

function startBox(t: import('ava').ExecutionContext, host: Host, ...settings: string[]): Child {
  const data = mkdtempSync(join(tmpdir(), 'mailnest-mdns-'));
  t.teardown(() => rmSync(data, { recursive: true, force: true }));
  return run(t, host, 'test/mdns/box.ts', [data, ...settings]);
}

const announced = (box: Child) => box.waitFor('the box to announce its name', (l) => l.event === 'health' && l.mdns?.responder === 'announced');
const records = (line: Line): Record_[] => [...(line.answers ?? []), ...(line.additionals ?? [])];
const has = (line: Line, match: (r: Record_) => boolean) => line.event === 'response' && records(line).some(match);

async function startQuerier(t: import('ava').ExecutionContext, host: Host): Promise<Child> {
  const querier = run(t, host, 'test/mdns/querier.ts', [host.address]);
  await querier.waitFor('the querier to bind 5353', (l) => l.event === 'ready');
  return querier;
}

test.serial('the box answers as mailnest.local with its address, and browsing _http._tcp gives the port the web UI listens on', async (t) => {
  const lan = makeLan(t, ['box', 'phone']);
  const box = startBox(t, lan.hosts.box!);
  const health = await announced(box);
  t.is(health.mdns.name, 'mailnest.local');
  t.deepEqual(health.mdns.addresses, [lan.hosts.box!.address]);
  const phone = await startQuerier(t, lan.hosts.phone!);

  let mark = phone.lines.length;
  phone.send({ query: [{ name: 'mailnest.local', type: 'A' }] });
  const resolved = await phone.waitFor('an A answer for mailnest.local', (l) => has(l, (r) => r.name === 'mailnest.local' && r.type === 'A' && r.ttl > 0), 10_000, mark);
  t.deepEqual(
    records(resolved).filter((r) => r.type === 'A').map((r) => r.data),
    [lan.hosts.box!.address],
  );

  mark = phone.lines.length;
  phone.send({ query: [{ name: '_http._tcp.local', type: 'PTR' }] });
  const browsed = await phone.waitFor('a PTR answer for _http._tcp.local', (l) => has(l, (r) => r.name === '_http._tcp.local' && r.type === 'PTR'), 10_000, mark);
  const ptr = records(browsed).find((r) => r.name === '_http._tcp.local' && r.type === 'PTR')!;
  t.is(ptr.data, 'mailnest._http._tcp.local');
  // RFC 6763 §12.1: SRV, TXT and the address ride along, so one answer is enough to connect.
  const srv = records(browsed).find((r) => r.name === ptr.data && r.type === 'SRV')!;
  t.like(srv.data, { port: 10080, target: 'mailnest.local' });
  t.deepEqual(records(browsed).find((r) => r.name === ptr.data && r.type === 'TXT')?.data, ['path=/']);
  t.true(records(browsed).some((r) => r.name === 'mailnest.local' && r.type === 'A' && r.data === lan.hosts.box!.address));

  // The advertised port is the real one: /healthz answers there, and shows the name the web UI can print.
  mark = phone.lines.length;
  phone.send({ fetch: `http://${lan.hosts.box!.address}:${srv.data.port}/healthz` });
  const fetched = await phone.waitFor('GET /healthz', (l) => l.event === 'fetched', 10_000, mark);
  t.is(fetched.status, 200, fetched.body);
  t.like(JSON.parse(fetched.body).services.mdns, { name: 'mailnest.local', responder: 'announced', url: 'http://mailnest.local:10080/' });

  // RFC 6763 §9: the service types, with the mail services under their IANA names, and no port 25.
  mark = phone.lines.length;
  phone.send({ query: [{ name: '_services._dns-sd._udp.local', type: 'PTR' }] });
  const types = await phone.waitFor('the service type list', (l) => has(l, (r) => r.name === '_services._dns-sd._udp.local'), 10_000, mark);
  t.deepEqual(
    records(types).filter((r) => r.name === '_services._dns-sd._udp.local').map((r) => r.data).sort(),
    ['_http._tcp.local', '_https._tcp.local', '_imap._tcp.local', '_imaps._tcp.local', '_pop3._tcp.local', '_pop3s._tcp.local', '_submission._tcp.local', '_submissions._tcp.local'],
  );
  mark = phone.lines.length;
  phone.send({ query: [{ name: 'mailnest._imaps._tcp.local', type: 'SRV' }] });
  const imaps = await phone.waitFor('the imaps SRV', (l) => has(l, (r) => r.name === 'mailnest._imaps._tcp.local' && r.type === 'SRV'), 10_000, mark);
  t.is(records(imaps).find((r) => r.type === 'SRV')!.data.port, 10993);
});

test.serial('a second box on the same LAN probes, finds mailnest.local taken and takes mailnest-2.local', async (t) => {
  const lan = makeLan(t, ['first', 'second', 'phone']);
  const first = startBox(t, lan.hosts.first!);
  t.is((await announced(first)).mdns.name, 'mailnest.local');
  const second = startBox(t, lan.hosts.second!);
  const health = await announced(second);
  t.is(health.mdns.name, 'mailnest-2.local');
  t.is(health.mdns.url, 'http://mailnest-2.local:10080/');
  t.regex(second.stderr(), /mdns name taken by another host, trying the next" taken=mailnest\.local next=mailnest-2\.local/);
  t.regex(second.stderr(), /mdns name claimed" name=mailnest-2\.local/);
  // The first keeps its name: the newcomer gave way without disturbing it.
  t.is((first.lines.filter((l) => l.event === 'health').at(-1) as Line).mdns.name, 'mailnest.local');

  const phone = await startQuerier(t, lan.hosts.phone!);
  let mark = phone.lines.length;
  phone.send({ query: [{ name: 'mailnest-2.local', type: 'A' }] });
  const second2 = await phone.waitFor('an A answer for mailnest-2.local', (l) => has(l, (r) => r.name === 'mailnest-2.local' && r.type === 'A'), 10_000, mark);
  t.is(second2.from, lan.hosts.second!.address);
  t.deepEqual(records(second2).filter((r) => r.type === 'A').map((r) => r.data), [lan.hosts.second!.address]);

  mark = phone.lines.length;
  phone.send({ query: [{ name: '_http._tcp.local', type: 'PTR' }] });
  await phone.waitFor('both boxes in the browse', () => {
    const seen = phone.lines.slice(mark).flatMap((l) => (l.event === 'response' ? records(l) : [])).filter((r) => r.name === '_http._tcp.local').map((r) => r.data);
    return seen.includes('mailnest._http._tcp.local') && seen.includes('mailnest-2._http._tcp.local');
  });
  t.pass();
});

test.serial('two boxes switched on together settle on two names (simultaneous probes, RFC 6762 §8.2)', async (t) => {
  const lan = makeLan(t, ['one', 'two']);
  const one = startBox(t, lan.hosts.one!);
  const two = startBox(t, lan.hosts.two!);
  const names = [(await announced(one)).mdns.name, (await announced(two)).mdns.name];
  t.deepEqual([...names].sort(), ['mailnest-2.local', 'mailnest.local']);
});

test.serial('when another host later answers for its name, the box probes again and keeps or changes the name (RFC 6762 §9)', async (t) => {
  const lan = makeLan(t, ['box', 'rogue']);
  const box = startBox(t, lan.hosts.box!);
  await announced(box);
  const rogue = await startQuerier(t, lan.hosts.rogue!);
  const mark = box.lines.length;
  rogue.send({ respond: [{ name: 'mailnest.local', type: 'A', class: 'IN', ttl: 120, flush: true, data: lan.hosts.rogue!.address }] });
  await box.waitFor('the box to probe again', (l) => l.event === 'health' && l.mdns.responder === 'probing', 10_000, mark);
  t.regex(box.stderr(), /another host answers for our name; probing again/);
  // The rogue does not defend its claim, so the probe finds the name free and the box announces it again.
  const again = await box.waitFor('the box to announce again', (l) => l.event === 'health' && l.mdns.responder === 'announced', 10_000, mark);
  t.is(again.mdns.name, 'mailnest.local');
  const seen = rogue.lines.length;
  await rogue.waitFor('the new announcement', (l) => has(l, (r) => r.name === 'mailnest.local' && r.data === lan.hosts.box!.address && r.ttl > 0), 10_000, seen - 1);
  t.pass();
});

test.serial('at stop the box says goodbye: its records again with TTL 0', async (t) => {
  const lan = makeLan(t, ['box', 'phone']);
  const box = startBox(t, lan.hosts.box!);
  await announced(box);
  const phone = await startQuerier(t, lan.hosts.phone!);
  const mark = phone.lines.length;
  t.is(await box.stop(), 0);
  t.true(box.lines.some((l) => l.event === 'stopped'));
  await phone.waitFor('a goodbye for the address', (l) => has(l, (r) => r.name === 'mailnest.local' && r.type === 'A' && r.ttl === 0), 10_000, mark);
  await phone.waitFor('a goodbye for the web service', (l) => has(l, (r) => r.name === '_http._tcp.local' && r.type === 'PTR' && r.ttl === 0), 10_000, mark);
  // Nothing it sent after the goodbye still claims the name.
  const after = phone.lines.slice(mark).filter((l) => l.event === 'response');
  t.false(after.some((l) => records(l).some((r) => r.name === 'mailnest.local' && r.ttl > 0)));
});

test.serial('it answers only for its own names and only to askers on its link (no reflection)', async (t) => {
  const lan = makeLan(t, ['box', 'phone']);
  const box = startBox(t, lan.hosts.box!);
  await announced(box);
  // A second address on the phone's wire, in a subnet the box is not on: what a spoofed or routed asker looks like.
  lan.ip('phone', 'addr', 'add', '192.168.99.5/24', 'dev', 'eth0');
  // And a route back to it from the box, so that only the box's own check (RFC 6762 §11), not the routing table, keeps the answer home.
  lan.ip('box', 'route', 'add', '192.168.99.0/24', 'dev', 'eth0');
  const phone = await startQuerier(t, lan.hosts.phone!);

  // Each probe is followed by an on-link query for the box's own name: once that is answered, the one before was seen and ignored.
  phone.send({ legacy: [{ name: 'someone-else.local', type: 'A' }], id: 101 });
  phone.send({ legacy: [{ name: 'mailnest.local', type: 'A' }], id: 102 });
  phone.send({ legacy: [{ name: 'mailnest.local', type: 'A' }], id: 103, from: '192.168.99.5' });
  phone.send({ legacy: [{ name: 'mailnest.local', type: 'ANY' }], id: 104 });
  const answered = await phone.waitFor('the legacy unicast answer', (l) => l.event === 'legacy-reply' && l.id === 104);
  const first = await phone.waitFor('the first legacy answer', (l) => l.event === 'legacy-reply' && l.id === 102);
  // RFC 6762 §6.7: straight back to the asker's port, with its id, TTL at most 10 s.
  t.is(first.from, lan.hosts.box!.address);
  t.deepEqual(records(first).map((r) => [r.name, r.type, r.data, r.ttl]), [['mailnest.local', 'A', lan.hosts.box!.address, 10]]);
  t.true(records(answered).every((r) => r.ttl <= 10));
  const replies = phone.lines.filter((l) => l.event === 'legacy-reply').map((l) => l.id);
  t.false(replies.includes(101), 'a name that is not ours is not answered');
  t.false(replies.includes(103), 'an asker off the link is not answered');
  // And nothing was multicast about someone else's name either.
  t.false(phone.lines.some((l) => l.event === 'response' && records(l).some((r) => r.name === 'someone-else.local')));
});

test.serial('mdns=off sends nothing and claims nothing, even on a LAN', async (t) => {
  const lan = makeLan(t, ['quiet', 'witness', 'phone']);
  const phone = await startQuerier(t, lan.hosts.phone!);
  const quiet = startBox(t, lan.hosts.quiet!, 'mdns=off');
  const health = await quiet.waitFor('the health report', (l) => l.event === 'health');
  t.like(health.mdns, { state: 'running', responder: 'off', name: null });
  // A box with mDNS on, started after: had the quiet one claimed or defended mailnest.local, this one would be mailnest-2.
  const witness = startBox(t, lan.hosts.witness!);
  t.is((await announced(witness)).mdns.name, 'mailnest.local');
  const mark = phone.lines.length;
  phone.send({ query: [{ name: 'mailnest.local', type: 'ANY' }] });
  await phone.waitFor('the witness to answer', (l) => l.event === 'response' && l.from === lan.hosts.witness!.address, 10_000, mark);
  t.is(await quiet.stop(), 0);
  t.false(phone.lines.some((l) => l.event === 'response' && l.from === lan.hosts.quiet!.address));
});
