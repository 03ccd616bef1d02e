// The responder's decisions without a network: names, answers, links, modes, settings.

import test from 'ava';
import type { NetworkInterfaceInfo } from 'node:os';
import { parseSetting } from '../../services/config/schema.ts';
import { advertsFor } from '../../services/mdns/index.ts';
import { linkOf, linksFor, mdnsEnabled } from '../../services/mdns/links.ts';
import { answerQuestions, compareProbes, maxQuestions, nextLabel, uniqueRecords, type Identity, type Link } from '../../services/mdns/records.ts';
import { portFor } from '../../services/core/ports.ts';
import { startServices } from '../helpers/services.ts';

const identity: Identity = { label: 'mailnest', adverts: advertsFor((name) => portFor(name, 0)) };
const link: Link = { interface: 'eth0', ipv4: [{ address: '192.168.1.20', prefix: 24 }], ipv6: ['2001:db8::20'] };

test('after a conflict the next name is mailnest-2, then -3, always one label of at most 63 characters', (t) => {
  t.is(nextLabel('mailnest', 1), 'mailnest');
  t.is(nextLabel('mailnest', 2), 'mailnest-2');
  t.is(nextLabel('mailnest', 3), 'mailnest-3');
  const long = 'a'.repeat(60) + '-b';
  t.is(nextLabel(long, 12).length, 63);
  t.regex(nextLabel('a'.repeat(62) + '-', 100), /^a+-100$/);
});

test('only its own names are answered; anything else gets nothing', (t) => {
  t.is(answerQuestions(identity, link, [{ name: 'printer.local', type: 'A', class: 'IN' }], []), undefined);
  t.is(answerQuestions(identity, link, [{ name: 'example.com', type: 'ANY', class: 'IN' }], []), undefined);
  t.is(answerQuestions(identity, link, [{ name: '_ipp._tcp.local', type: 'PTR', class: 'IN' }], []), undefined);
  const a = answerQuestions(identity, link, [{ name: 'MailNest.Local', type: 'A', class: 'IN' }], [])!;
  t.deepEqual(a.answers.map((r) => [r.type, r.data, r.ttl, r.flush]), [['A', '192.168.1.20', 120, true]]);
  // §6.2: the other family as an additional record.
  t.deepEqual(a.additionals.map((r) => [r.type, r.data]), [['AAAA', '2001:db8::20']]);
  t.false(a.shared);
});

test('a PTR browse brings SRV, TXT and the addresses along (RFC 6763 §12.1), and is marked shared for the §6 delay', (t) => {
  const reply = answerQuestions(identity, link, [{ name: '_imaps._tcp.local', type: 'PTR', class: 'UNKNOWN_32769' }], [])!;
  t.deepEqual(reply.answers.map((r) => [r.name, r.data, r.ttl]), [['_imaps._tcp.local', 'mailnest._imaps._tcp.local', 4500]]);
  t.deepEqual(reply.additionals.map((r) => r.type), ['SRV', 'TXT', 'A', 'AAAA']);
  t.like(reply.additionals[0]!.data, { port: 993, target: 'mailnest.local' });
  t.deepEqual(reply.additionals[1]!.data, ['']);
  t.true(reply.shared);
});

test('known answers with at least half their TTL left are not repeated (RFC 6762 §7.1)', (t) => {
  const question = [{ name: 'mailnest.local', type: 'A', class: 'IN' }];
  const fresh = { name: 'mailnest.local', type: 'A', class: 'IN', ttl: 100, data: '192.168.1.20' };
  t.is(answerQuestions(identity, link, question, [fresh]), undefined);
  t.truthy(answerQuestions(identity, link, question, [{ ...fresh, ttl: 30 }]));
  t.truthy(answerQuestions(identity, link, question, [{ ...fresh, data: '192.168.1.99' }]));
});

test('a query of many questions gets at most the box own record set', (t) => {
  const many = Array.from({ length: 200 }, (_, i) => ({ name: i === 199 ? 'mailnest.local' : '_services._dns-sd._udp.local', type: 'PTR', class: 'IN' }));
  const reply = answerQuestions(identity, link, many, [])!;
  t.is(reply.answers.length, identity.adverts.length, 'each service type once, however often it is asked');
  const late = [...Array.from({ length: maxQuestions }, () => ({ name: 'other.local', type: 'A', class: 'IN' })), { name: 'mailnest.local', type: 'A', class: 'IN' }];
  t.is(answerQuestions(identity, link, late, []), undefined, `questions past the first ${maxQuestions} are not read`);
});

test('simultaneous probes: the lexicographically later record set wins; identical sets (our own echo) tie (RFC 6762 §8.2)', (t) => {
  const ours = uniqueRecords({ label: 'mailnest', adverts: [] }, link);
  const higher = uniqueRecords({ label: 'mailnest', adverts: [] }, { ...link, ipv4: [{ address: '192.168.1.200', prefix: 24 }] });
  t.is(compareProbes(ours, ours), 0);
  t.true(compareProbes(ours, higher) < 0);
  t.true(compareProbes(higher, ours) > 0);
});

const iface = (address: string, family: 'IPv4' | 'IPv6', cidr: string, internal = false): NetworkInterfaceInfo =>
  ({ address, family, cidr, internal, netmask: '', mac: '00:00:00:00:00:00', ...(family === 'IPv6' ? { scopeid: 0 } : {}) }) as NetworkInterfaceInfo;
const machine = {
  lo: [iface('127.0.0.1', 'IPv4', '127.0.0.1/8', true), iface('::1', 'IPv6', '::1/128', true)],
  eth0: [iface('192.168.1.20', 'IPv4', '192.168.1.20/24'), iface('fe80::1', 'IPv6', 'fe80::1/64'), iface('2001:db8::20', 'IPv6', '2001:db8::20/64')],
  wlan0: [iface('10.0.0.5', 'IPv4', '10.0.0.5/16')],
  v6only: [iface('2001:db8:1::1', 'IPv6', '2001:db8:1::1/64')],
};

test('the advertised addresses follow the listen setting; loopback and fe80:: never', (t) => {
  t.deepEqual(linksFor(['0.0.0.0', '::'], machine), [
    { interface: 'eth0', ipv4: [{ address: '192.168.1.20', prefix: 24 }], ipv6: ['2001:db8::20'] },
    { interface: 'wlan0', ipv4: [{ address: '10.0.0.5', prefix: 16 }], ipv6: [] },
  ]);
  t.deepEqual(linksFor(['0.0.0.0'], machine).map((l) => l.ipv6), [[], []], 'no AAAA when nothing listens on IPv6');
  t.deepEqual(linksFor(['10.0.0.5'], machine), [{ interface: 'wlan0', ipv4: [{ address: '10.0.0.5', prefix: 16 }], ipv6: [] }]);
  t.deepEqual(linksFor(['127.0.0.1'], machine), []);
});

test('queries are answered only from a source on one of the links (RFC 6762 §11)', (t) => {
  const links = linksFor(['0.0.0.0'], machine);
  t.is(linkOf(links, '192.168.1.77')?.interface, 'eth0');
  t.is(linkOf(links, '10.0.200.1')?.interface, 'wlan0');
  t.is(linkOf(links, '192.168.2.1'), undefined);
  t.is(linkOf(links, '8.8.8.8'), undefined);
  t.is(linkOf(links, '2001:db8::99'), undefined);
});

test('mdns=auto is on unless the box listens on loopback only', (t) => {
  t.false(mdnsEnabled('auto', ['127.0.0.1']));
  t.false(mdnsEnabled('auto', ['127.0.0.1', '::1']));
  t.true(mdnsEnabled('auto', ['0.0.0.0', '::']));
  t.true(mdnsEnabled('auto', ['127.0.0.1', '192.168.1.20']));
  t.true(mdnsEnabled('on', ['127.0.0.1']));
  t.false(mdnsEnabled('off', ['0.0.0.0']));
});

test('the mdns settings: one DNS label for the name, on/off/auto for the mode', (t) => {
  t.is(parseSetting('mdns-name', 'Kitchen-Box'), 'kitchen-box');
  t.is(parseSetting('mdns-name', 'mailnest.local'), 'mailnest');
  t.throws(() => parseSetting('mdns-name', 'mail nest'), { message: /setting mdns-name: "mail nest" is not one name of letters, digits and hyphens/ });
  t.throws(() => parseSetting('mdns-name', 'a.b'), { message: /mdns-name/ });
  t.is(parseSetting('mdns', 'off'), 'off');
  t.throws(() => parseSetting('mdns', 'yes'), { message: /setting mdns: "yes" is not one of on, off, auto/ });
});

test('a services process on loopback (every test, make run) keeps mDNS off and says why in /healthz', async (t) => {
  const { services } = await startServices(t);
  const health = await services.health();
  t.is(health.status, 'ok');
  t.like((health.services as Record<string, unknown>).mdns, { state: 'running', responder: 'off', name: null, url: null });
  t.regex(String(((health.services as Record<string, Record<string, unknown>>).mdns!).detail), /loopback only/);
});
