// The records this box owns on the link, and the answer to a question about
// them. Pure functions: no socket, no clock. See README.md for the RFC map.
//
// Invariants:
// - Only names this box owns are ever answered: `<label>.local`, its service
//   instances, the service types it advertises and `_services._dns-sd._udp.local`.
//   Any other question gets nothing, so the responder cannot be used to
//   reflect or amplify traffic for someone else's names.
// - An answer holds at most the box's own record set, which is small and fixed:
//   its size is bounded by the number of adverts and addresses, never by the query.

import { isIPv4, isIPv6 } from 'node:net';

/**
 * A resource record as multicast-dns (its codec, dns-packet) reads and writes
 * it; only the fields used here, so that a record from the wire of any type fits.
 */
export interface Answer {
  name: string;
  type: string;
  class?: string;
  ttl?: number;
  /** The cache-flush bit of a unique record (§10.2). */
  flush?: boolean;
  data?: unknown;
}

export interface Question {
  name: string;
  type: string;
  /** 'IN'; dns-packet leaves the QU bit (§5.4) in, so IN with QU reads 'UNKNOWN_32769'. */
  class?: string;
}

/** RFC 6762 §10: records naming a host (A, AAAA, SRV) live 120 s, the others 75 minutes. */
export const hostRecordTtl = 120;
export const otherRecordTtl = 4500;

/** RFC 6763 §9: the name that lists every service type advertised on the link. */
export const serviceTypesName = '_services._dns-sd._udp.local';

/** One DNS-SD service this box offers (RFC 6763 §4–§6). */
export interface Advert {
  /** The service type, `_http._tcp` (RFC 6763 §7: `_<IANA service name>._tcp`). */
  type: string;
  port: number;
  /** TXT strings, `key=value` (RFC 6763 §6.3); empty means the one empty string of §6.1. */
  txt: string[];
}

/** The addresses this box has on one link (one interface), as it advertises them. */
export interface Link {
  interface: string;
  /** IPv4 addresses with their prefix length: the transport runs over IPv4. */
  ipv4: { address: string; prefix: number }[];
  /** Global and unique-local IPv6 addresses (no fe80::, which is useless without a zone). */
  ipv6: string[];
}

export interface Identity {
  /** The one DNS label this box claimed: `mailnest`, `mailnest-2`. */
  label: string;
  adverts: readonly Advert[];
}

export const hostName = (label: string): string => `${label}.local`;
export const serviceTypeName = (advert: Advert): string => `${advert.type}.local`;
/** RFC 6763 §4.1: `<Instance>.<Service>.<Domain>`; the instance is the box's label, unique once the host name is. */
export const instanceName = (label: string, advert: Advert): string => `${label}.${advert.type}.local`;

/** DNS names compare case-insensitively for ASCII (RFC 6762 §16). */
export const sameName = (a: string, b: string): boolean => a.toLowerCase() === b.toLowerCase();

/** The address records of the host on one link: unique, so they carry the cache-flush bit (§10.2). */
export function addressRecords(label: string, link: Link, ttl = hostRecordTtl): Answer[] {
  const name = hostName(label);
  return [
    ...link.ipv4.map((a): Answer => ({ name, type: 'A', class: 'IN', ttl, flush: true, data: a.address })),
    ...link.ipv6.map((address): Answer => ({ name, type: 'AAAA', class: 'IN', ttl, flush: true, data: address })),
  ];
}

function srvRecord(identity: Identity, advert: Advert, ttl = hostRecordTtl): Answer {
  return { name: instanceName(identity.label, advert), type: 'SRV', class: 'IN', ttl, flush: true, data: { priority: 0, weight: 0, port: advert.port, target: hostName(identity.label) } };
}

function txtRecord(identity: Identity, advert: Advert, ttl = otherRecordTtl): Answer {
  return { name: instanceName(identity.label, advert), type: 'TXT', class: 'IN', ttl, flush: true, data: advert.txt.length > 0 ? [...advert.txt] : [''] };
}

function ptrRecord(advert: Advert, label: string, ttl = otherRecordTtl): Answer {
  return { name: serviceTypeName(advert), type: 'PTR', class: 'IN', ttl, data: instanceName(label, advert) };
}

function serviceTypeRecord(advert: Advert, ttl = otherRecordTtl): Answer {
  return { name: serviceTypesName, type: 'PTR', class: 'IN', ttl, data: serviceTypeName(advert) };
}

/** The records only this box may hold (§8.1 probes them, §9 defends them): address, SRV and TXT. */
export function uniqueRecords(identity: Identity, link: Link): Answer[] {
  return [...addressRecords(identity.label, link), ...identity.adverts.flatMap((advert) => [srvRecord(identity, advert), txtRecord(identity, advert)])];
}

/** Every record of the box on one link, for announcing (§8.3) and goodbye (§10.1, with ttl 0). */
export function allRecords(identity: Identity, link: Link): Answer[] {
  return [...uniqueRecords(identity, link), ...identity.adverts.flatMap((advert) => [ptrRecord(advert, identity.label), serviceTypeRecord(advert)])];
}

/** The names the box probes for before it uses them (§8.1): the host and every instance. */
export function uniqueNames(identity: Identity): string[] {
  return [hostName(identity.label), ...identity.adverts.map((advert) => instanceName(identity.label, advert))];
}

/** A record's data as the uncompressed bytes on the wire, for comparing two records (§8.2, §9, §7.1). */
export function rdata(record: Answer): Buffer {
  const data = record.data;
  switch (record.type) {
    case 'A':
      return typeof data === 'string' && isIPv4(data) ? Buffer.from(data.split('.').map(Number)) : Buffer.from(String(data));
    case 'AAAA':
      return typeof data === 'string' && isIPv6(data) ? ipv6Bytes(data) : Buffer.from(String(data));
    case 'PTR':
      return nameBytes(String(data));
    case 'SRV': {
      const srv = data as { priority?: number; weight?: number; port?: number; target?: string };
      const head = Buffer.alloc(6);
      head.writeUInt16BE(srv.priority ?? 0, 0);
      head.writeUInt16BE(srv.weight ?? 0, 2);
      head.writeUInt16BE(srv.port ?? 0, 4);
      return Buffer.concat([head, nameBytes(srv.target ?? '')]);
    }
    case 'TXT': {
      const strings = (Array.isArray(data) ? data : [data]).map((s) => (Buffer.isBuffer(s) ? s : Buffer.from(String(s ?? ''))));
      return Buffer.concat(strings.flatMap((s) => [Buffer.from([s.length]), s]));
    }
    default:
      return Buffer.isBuffer(data) ? data : Buffer.from(JSON.stringify(data ?? null));
  }
}

/** A domain name as length-prefixed labels, lower-cased (names compare case-insensitively, §16). */
function nameBytes(name: string): Buffer {
  const labels = name.replace(/\.$/, '').split('.').filter(Boolean).map((label) => Buffer.from(label.toLowerCase()));
  return Buffer.concat([...labels.flatMap((label) => [Buffer.from([label.length]), label]), Buffer.from([0])]);
}

function ipv6Bytes(address: string): Buffer {
  let text = address.split('%')[0]!;
  const embedded = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (embedded) {
    const [a, b, c, d] = embedded[1]!.split('.').map(Number) as [number, number, number, number];
    text = `${text.slice(0, embedded.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.includes('::') ? (text.split('::') as [string, string]) : [text, undefined];
  const headGroups = head ? head.split(':') : [];
  const tailGroups = tail ? tail.split(':') : [];
  const groups = tail === undefined ? headGroups : [...headGroups, ...Array<string>(8 - headGroups.length - tailGroups.length).fill('0'), ...tailGroups];
  const bytes = Buffer.alloc(16);
  groups.slice(0, 8).forEach((group, i) => bytes.writeUInt16BE(parseInt(group || '0', 16), i * 2));
  return bytes;
}

export function sameRecord(a: Answer, b: Answer): boolean {
  return sameName(a.name, b.name) && a.type === b.type && rdata(a).equals(rdata(b));
}

/**
 * §8.2: simultaneous probes are settled by comparing the proposed records,
 * sorted, as (class, type, rdata) bytes. Positive: ours win; negative: theirs
 * win (we wait a second and probe again); 0: identical (our own echo).
 */
export function compareProbes(ours: readonly Answer[], theirs: readonly Answer[]): number {
  const key = (record: Answer) => {
    const head = Buffer.alloc(4);
    head.writeUInt16BE(1, 0); // class IN: every record here is IN
    head.writeUInt16BE(typeNumber(record.type), 2);
    return Buffer.concat([head, rdata(record)]);
  };
  const a = ours.map(key).sort(Buffer.compare);
  const b = theirs.map(key).sort(Buffer.compare);
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const order = Buffer.compare(a[i]!, b[i]!);
    if (order !== 0) return order;
  }
  return a.length - b.length;
}

const typeNumbers: Record<string, number> = { A: 1, PTR: 12, TXT: 16, AAAA: 28, SRV: 33 };
function typeNumber(type: string): number {
  return typeNumbers[type] ?? 0xffff;
}

export interface Reply {
  answers: Answer[];
  additionals: Answer[];
  /** Whether any answer is a shared record (PTR): those are delayed 20–120 ms (§6). */
  shared: boolean;
}

/** At most this many questions of one query are looked at; real queriers ask a handful. */
export const maxQuestions = 16;

/**
 * RFC 6762 §6 and RFC 6763 §12: what this box answers to `questions` on `link`,
 * minus what the querier already knows (§7.1 known-answer suppression: the
 * same record with at least half its TTL left). Undefined when none of the
 * questions is about this box.
 */
export function answerQuestions(identity: Identity, link: Link, questions: readonly Question[], knownAnswers: readonly Answer[]): Reply | undefined {
  const answers: Answer[] = [];
  const additionals: Answer[] = [];
  const host = hostName(identity.label);
  const add = (list: Answer[], records: Answer[]) => {
    for (const record of records) if (!answers.some((r) => sameRecord(r, record)) && !list.some((r) => sameRecord(r, record))) list.push(record);
  };
  const addresses = (type: 'A' | 'AAAA' | 'ANY') => addressRecords(identity.label, link).filter((r) => type === 'ANY' || r.type === type);
  for (const question of questions.slice(0, maxQuestions)) {
    // dns-packet leaves the QU bit (§5.4) in the class: 'UNKNOWN_32769' is IN with QU.
    if (question.class !== undefined && question.class !== 'IN' && question.class !== 'ANY' && question.class !== 'UNKNOWN_32769') continue;
    const type = question.type;
    if (sameName(question.name, host)) {
      if (type === 'A' || type === 'AAAA' || type === 'ANY') add(answers, addresses(type));
      // §6.2: the other address family rides along as additional records.
      if (type === 'A') add(additionals, addresses('AAAA'));
      if (type === 'AAAA') add(additionals, addresses('A'));
      continue;
    }
    if (sameName(question.name, serviceTypesName)) {
      if (type === 'PTR' || type === 'ANY') add(answers, identity.adverts.map((advert) => serviceTypeRecord(advert)));
      continue;
    }
    for (const advert of identity.adverts) {
      if (sameName(question.name, serviceTypeName(advert)) && (type === 'PTR' || type === 'ANY')) {
        add(answers, [ptrRecord(advert, identity.label)]);
        add(additionals, [srvRecord(identity, advert), txtRecord(identity, advert), ...addresses('ANY')]);
      } else if (sameName(question.name, instanceName(identity.label, advert))) {
        if (type === 'SRV' || type === 'ANY') add(answers, [srvRecord(identity, advert)]);
        if (type === 'TXT' || type === 'ANY') add(answers, [txtRecord(identity, advert)]);
        if (type === 'SRV' || type === 'ANY') add(additionals, addresses('ANY'));
      }
    }
  }
  const known = (record: Answer) => knownAnswers.some((k) => sameRecord(k, record) && (k.ttl ?? 0) >= (record.ttl ?? 0) / 2);
  const kept = answers.filter((record) => !known(record));
  if (kept.length === 0) return undefined;
  return { answers: kept, additionals: additionals.filter((record) => !known(record) && !kept.some((r) => sameRecord(r, record))), shared: kept.some((r) => r.type === 'PTR') };
}

/**
 * The next name to try after a conflict (§9): `mailnest` → `mailnest-2` →
 * `mailnest-3`, always a valid DNS label of at most 63 characters.
 */
export function nextLabel(base: string, attempt: number): string {
  if (attempt <= 1) return base;
  const suffix = `-${attempt}`;
  return `${base.slice(0, 63 - suffix.length).replace(/-+$/, '')}${suffix}`;
}
