// The multicast DNS responder (RFC 6762) for the box's own names, on
// multicast-dns (packet codec and socket events). See README.md.
//
// Invariants:
// - Nothing is answered before the name is won: probe (§8.1), then announce
//   (§8.3). A conflict while probing takes the next name (§9); a conflict
//   after it resets to probing.
// - Only queries from an on-link source are answered (§11): the source must sit
//   in the IPv4 subnet of one of the links. Unicast replies (QU §5.4, legacy
//   §6.7) also draw on a small per-second budget, and a record is multicast on
//   a link at most once a second (§6; 250 ms when defending a probe), so a
//   flood of queries gives a bounded trickle of answers, only about this box.
// - One socket for every link; each send first selects its link's interface,
//   and sends are serialized so that the selection holds for that send.
// - stop() sends goodbyes (TTL 0, §10.1) for everything announced, then closes
//   the socket; every timer is cleared and every wait released.

import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import makeMdns from 'multicast-dns';
import type { Logger } from '../core/log.ts';
import { linkOf, sameLinks } from './links.ts';
import {
  allRecords,
  answerQuestions,
  compareProbes,
  hostName,
  maxQuestions,
  nextLabel,
  rdata,
  sameName,
  sameRecord,
  uniqueNames,
  uniqueRecords,
  type Advert,
  type Answer,
  type Identity,
  type Question,
  type Link,
} from './records.ts';

export type ResponderState = 'starting' | 'waiting-for-address' | 'probing' | 'announced' | 'failed' | 'stopped';

export interface ResponderOptions {
  /** The label wanted (`mdns-name`): `mailnest` for mailnest.local. */
  label: string;
  adverts: readonly Advert[];
  /** The links to answer on, asked again every `refreshMs` (DHCP may give the address after the start). */
  links: () => Link[];
  logger: Logger;
  port?: number;
  refreshMs?: number;
}

const group = '224.0.0.251';
const standardPort = 5353;
/** Keeps each packet inside one Ethernet frame (§17 allows more, fragments help nobody). */
const maxPacketBytes = 1400;
/** §9: after this many names, give up rather than count forever. */
const maxAttempts = 100;
const unicastRepliesPerSecond = 20;

/** multicast-dns, with the send() its types leave out (it encodes any packet, query or response, to any address). */
type Mdns = ReturnType<typeof makeMdns> & { send(packet: Packet, to: { address: string; port: number }, done: (error?: Error | null) => void): void };

type Packet = { id?: number; type?: string; flags?: number; questions?: Question[]; answers?: Answer[]; authorities?: Answer[]; additionals?: Answer[] };

interface Probe {
  identity: Identity;
  conflict: boolean;
  deferred: boolean;
}

export class MdnsResponder {
  state: ResponderState = 'starting';
  detail: string | undefined;
  private socket: Socket | undefined;
  private mdns: Mdns | undefined;
  private links: Link[] = [];
  private joined = new Map<string, string>();
  private identity: Identity | undefined;
  private probe: Probe | undefined;
  private attempt = 1;
  private generation = 0;
  private conflictTimes: number[] = [];
  private lastMulticast = new Map<string, number>();
  private unicast = { second: 0, sent: 0 };
  private sending: Promise<void> = Promise.resolve();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly waits = new Set<() => void>();
  private refreshTimer: NodeJS.Timeout | undefined;
  private readonly port: number;

  constructor(private readonly options: ResponderOptions) {
    this.port = options.port ?? standardPort;
  }

  /** The name won, `mailnest-2.local`, once announced. */
  get name(): string | undefined {
    return this.state === 'announced' && this.identity ? hostName(this.identity.label) : undefined;
  }

  get addresses(): string[] {
    return this.links.flatMap((link) => [...link.ipv4.map((a) => a.address), ...link.ipv6]);
  }

  /** Binds 0.0.0.0:5353 and begins probing; rejects only when the socket cannot be had. */
  async start(): Promise<void> {
    const socket = createSocket({ type: 'udp4', reuseAddr: true });
    this.socket = socket;
    // multicast: false: the group memberships and the outgoing interface are ours to manage, per link.
    const mdns = makeMdns({ socket, bind: '0.0.0.0', port: this.port, multicast: false }) as Mdns;
    this.mdns = mdns;
    await new Promise<void>((resolve, reject) => {
      mdns.once('ready', resolve);
      mdns.once('error', reject);
    }).catch((error: unknown) => {
      this.state = 'failed';
      this.detail = `cannot use UDP port ${this.port}: ${(error as Error).message}`;
      mdns.destroy();
      throw error;
    });
    mdns.on('error', (error: Error) => this.options.logger.warn('mdns socket error', { error }));
    mdns.on('warning', (error: Error) => this.options.logger.debug('mdns warning', { error: error.message }));
    // §11: sent with IP TTL 255, so receivers can tell on-link packets.
    socket.setMulticastTTL(255);
    // Looped back, so a querier on this box (avahi, a browser) hears the answers too; our own echo is told apart by identical data.
    socket.setMulticastLoopback(true);
    mdns.on('query', (query: Packet, rinfo: RemoteInfo) => this.onQuery(query, rinfo));
    mdns.on('response', (response: Packet) => this.onResponse(response));
    this.refreshLinks();
    this.refreshTimer = setInterval(() => this.refreshLinks(), this.options.refreshMs ?? 10_000);
    this.refreshTimer.unref();
    void this.claim();
  }

  /** Goodbye for everything announced (§10.1), then close. */
  async stop(): Promise<void> {
    if (this.state === 'stopped') return;
    const announced = this.state === 'announced' ? this.identity : undefined;
    this.generation++;
    this.state = 'stopped';
    clearInterval(this.refreshTimer);
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    for (const release of this.waits) release();
    this.waits.clear();
    if (announced && this.mdns) {
      for (const link of this.links) this.sendRecords(link, allRecords(announced, link).map((record) => ({ ...record, ttl: 0 })));
      await Promise.race([this.sending, new Promise((resolve) => setTimeout(resolve, 1000).unref())]);
      this.options.logger.info('mdns goodbye sent', { name: hostName(announced.label) });
    }
    const mdns = this.mdns;
    this.mdns = undefined;
    if (mdns) await new Promise<void>((resolve) => mdns.destroy(() => resolve()));
  }

  private refreshLinks(): void {
    if (!this.socket || this.state === 'stopped') return;
    let next: Link[];
    try {
      next = this.options.links();
    } catch (error) {
      this.options.logger.warn('mdns cannot read the network interfaces', { error });
      return;
    }
    if (sameLinks(next, this.links) && this.joined.size > 0) return;
    const wanted = new Map(next.map((link) => [link.interface, link.ipv4[0]!.address]));
    for (const [name, address] of this.joined) {
      if (wanted.get(name) === address) continue;
      try {
        this.socket.dropMembership(group, address);
      } catch {
        // The interface or its address is gone already, and the membership with it.
      }
      this.joined.delete(name);
    }
    const usable: Link[] = [];
    for (const link of next) {
      const address = link.ipv4[0]!.address;
      if (this.joined.get(link.interface) !== address) {
        try {
          this.socket.addMembership(group, address);
          this.joined.set(link.interface, address);
        } catch (error) {
          this.options.logger.warn('mdns cannot join the multicast group on an interface', { interface: link.interface, address, error: (error as Error).message });
          continue;
        }
      }
      usable.push(link);
    }
    const changed = !sameLinks(usable, this.links);
    this.links = usable;
    if (!changed) return;
    this.options.logger.info('mdns links', { links: usable.map((l) => `${l.interface}=${[...l.ipv4.map((a) => a.address), ...l.ipv6].join('+')}`).join(' ') || 'none' });
    if (this.state === 'waiting-for-address' && usable.length > 0) void this.claim();
    // §8.4: changed address records are announced again; their cache-flush bit replaces the old ones.
    else if (this.state === 'announced' && this.identity) void this.announce(this.identity, this.generation);
    else if (this.state === 'announced' && usable.length === 0) this.state = 'waiting-for-address';
  }

  /** §8.1 probing, §8.2 simultaneous probes, §9 the next name on a conflict; then §8.3 announcing. */
  private async claim(): Promise<void> {
    const generation = ++this.generation;
    const current = () => generation === this.generation;
    while (current()) {
      if (this.links.length === 0) {
        this.state = 'waiting-for-address';
        this.detail = 'no LAN address to advertise yet: the name is claimed when the box gets one';
        return;
      }
      const identity: Identity = { label: nextLabel(this.options.label, this.attempt), adverts: this.options.adverts };
      const probe: Probe = { identity, conflict: false, deferred: false };
      this.probe = probe;
      this.state = 'probing';
      this.detail = undefined;
      // §8.1: a random 0–250 ms first, so that boxes powered on together do not probe in lockstep.
      await this.sleep(Math.random() * 250);
      for (let i = 0; i < 3 && current() && !probe.conflict && !probe.deferred; i++) {
        for (const link of this.links) this.sendProbe(link, identity);
        await this.sleep(250);
      }
      this.probe = undefined;
      if (!current()) return;
      if (probe.deferred) {
        // §8.2: lost the tie-break; the winner announces within the second, then we probe again and meet it.
        await this.sleep(1000);
        continue;
      }
      if (probe.conflict) {
        const now = Date.now();
        this.conflictTimes = [...this.conflictTimes.filter((t) => now - t < 10_000), now];
        this.attempt++;
        if (this.attempt > maxAttempts) {
          this.state = 'failed';
          this.detail = `every name from ${this.options.label}.local to ${nextLabel(this.options.label, maxAttempts)}.local is taken on this network`;
          this.options.logger.error('mdns found no free name', { tried: maxAttempts });
          return;
        }
        this.options.logger.info('mdns name taken by another host, trying the next', { taken: hostName(identity.label), next: hostName(nextLabel(this.options.label, this.attempt)) });
        // §9: fifteen conflicts in ten seconds means something is wrong; slow down to one probe in five seconds.
        if (this.conflictTimes.length >= 15) await this.sleep(5000);
        continue;
      }
      this.identity = identity;
      this.state = 'announced';
      this.options.logger.info('mdns name claimed', { name: hostName(identity.label), addresses: this.addresses.join(',') });
      await this.announce(identity, generation);
      return;
    }
  }

  /** §8.3: at least two unsolicited responses, one second apart. */
  private async announce(identity: Identity, generation: number): Promise<void> {
    for (let i = 0; i < 2 && generation === this.generation && this.state === 'announced'; i++) {
      if (i > 0) await this.sleep(1000);
      if (generation !== this.generation) return;
      for (const link of this.links) this.sendRecords(link, allRecords(identity, link));
    }
  }

  private sendProbe(link: Link, identity: Identity): void {
    // §8.1: a query of type ANY for each name, the proposed records in the authority section (for §8.2).
    const questions: Question[] = uniqueNames(identity).map((name) => ({ name, type: 'ANY', class: 'IN' }));
    for (const authorities of chunks(uniqueRecords(identity, link), maxPacketBytes - sizeOfQuestions(questions))) {
      this.send(link, { type: 'query', questions, authorities });
    }
  }

  private sendRecords(link: Link, records: Answer[]): void {
    for (const answers of chunks(records, maxPacketBytes)) this.send(link, { type: 'response', flags: 1 << 10, answers });
  }

  /** Multicast on one link: select its interface, then send; serialized so that the selection holds. */
  private send(link: Link, message: Packet, to: { address: string; port: number } = { address: group, port: this.port }): void {
    const mdns = this.mdns;
    const socket = this.socket;
    if (!mdns || !socket) return;
    this.sending = this.sending.then(
      () =>
        new Promise<void>((resolve) => {
          try {
            socket.setMulticastInterface(link.ipv4[0]!.address);
          } catch (error) {
            this.options.logger.debug('mdns cannot select the interface', { interface: link.interface, error: (error as Error).message });
          }
          mdns.send(message, to, (error?: Error | null) => {
            if (error) this.options.logger.debug('mdns send failed', { interface: link.interface, error: error.message });
            resolve();
          });
        }),
    );
  }

  private onResponse(response: Packet): void {
    const records = [...(response.answers ?? []), ...(response.additionals ?? [])].filter((r) => (r.ttl ?? 0) > 0);
    const probe = this.probe;
    if (probe) {
      // §8.1: while probing, any record with a name being probed, other than our own echo, is a conflict.
      const names = uniqueNames(probe.identity);
      const ours = this.links.flatMap((link) => allRecords(probe.identity, link));
      if (records.some((r) => names.some((n) => sameName(n, r.name)) && !ours.some((o) => sameRecord(o, r)))) probe.conflict = true;
      return;
    }
    const identity = this.identity;
    if (this.state !== 'announced' || !identity) return;
    // §9: after announcing, a conflict is one of our unique names and types with other data; go back to probing.
    const ours = this.links.flatMap((link) => uniqueRecords(identity, link));
    const conflicting = records.find((r) => ours.some((o) => sameName(o.name, r.name) && o.type === r.type) && !ours.some((o) => sameRecord(o, r)));
    if (!conflicting) return;
    this.options.logger.warn('mdns another host answers for our name; probing again', { name: conflicting.name, type: conflicting.type });
    void this.claim();
  }

  private onQuery(query: Packet, rinfo: RemoteInfo): void {
    const questions = (query.questions ?? []).slice(0, maxQuestions);
    const probe = this.probe;
    if (probe) {
      // §8.2: another host probes the same name at the same time; the lexicographically later record set wins.
      const names = uniqueNames(probe.identity);
      const theirs = (query.authorities ?? []).filter((r) => names.some((n) => sameName(n, r.name)));
      const all = this.links.flatMap((link) => uniqueRecords(probe.identity, link));
      // Our own probe, looped back, carries exactly our records.
      if (theirs.length > 0 && !theirs.every((t) => all.some((o) => sameRecord(o, t)))) {
        const link = linkOf(this.links, rinfo.address);
        const ours = (link ? uniqueRecords(probe.identity, link) : all).filter((r) => theirs.some((t) => sameName(t.name, r.name)));
        if (compareProbes(ours, theirs) < 0) probe.deferred = true;
      }
      return;
    }
    const identity = this.identity;
    if (this.state !== 'announced' || !identity) return;
    // §11: a query from off the link is not answered at all (and neither is anything from a link we do not serve).
    const link = linkOf(this.links, rinfo.address);
    if (!link) return;
    const reply = answerQuestions(identity, link, questions, query.answers ?? []);
    if (!reply) return;
    if (rinfo.port !== this.port) {
      // §6.7 legacy unicast (dig -p 5353 @224.0.0.251): back to the asker, its id and question, TTLs of at most 10 s, no cache-flush bit.
      const legacy = (records: Answer[]) => records.map((r) => ({ ...r, ttl: Math.min(r.ttl ?? 0, 10), flush: false }));
      const [answers, additionals] = fit(legacy(reply.answers), legacy(reply.additionals), maxPacketBytes - sizeOfQuestions(questions));
      if (this.unicastAllowed()) this.send(link, { id: query.id, type: 'response', flags: 1 << 10, questions, answers, additionals }, { address: rinfo.address, port: rinfo.port });
      return;
    }
    const [answers, additionals] = fit(reply.answers, reply.additionals, maxPacketBytes);
    // §5.4: every question asks for a unicast reply (QU bit; dns-packet leaves it in the class).
    if (questions.every((q) => q.class === 'UNKNOWN_32769')) {
      if (this.unicastAllowed()) this.send(link, { type: 'response', flags: 1 << 10, answers, additionals }, { address: rinfo.address, port: rinfo.port });
      return;
    }
    // §6: a record is multicast on a link at most once a second, or every 250 ms in defence of a probe (§8.1).
    const now = Date.now();
    const interval = (query.authorities ?? []).length > 0 ? 250 : 1000;
    const key = (r: Answer) => `${link.interface} ${r.name.toLowerCase()} ${r.type} ${rdata(r).toString('hex')}`;
    const due = answers.filter((r) => now - (this.lastMulticast.get(key(r)) ?? 0) >= interval);
    if (due.length === 0) return;
    for (const r of due) this.lastMulticast.set(key(r), now);
    if (this.lastMulticast.size > 1000) this.lastMulticast.clear();
    // §6: unique answers go at once; shared ones (PTR) after 20–120 ms, so that many responders do not collide.
    const delay = reply.shared ? 20 + Math.random() * 100 : 0;
    this.later(delay, () => this.send(link, { type: 'response', flags: 1 << 10, answers: due, additionals }));
  }

  private unicastAllowed(): boolean {
    const second = Math.floor(Date.now() / 1000);
    if (this.unicast.second !== second) this.unicast = { second, sent: 0 };
    return ++this.unicast.sent <= unicastRepliesPerSecond;
  }

  private later(ms: number, run: () => void): void {
    if (ms <= 0) return run();
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      run();
    }, ms);
    this.timers.add(timer);
  }

  /** A wait that stop() ends at once. */
  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const release = () => {
        clearTimeout(timer);
        this.timers.delete(timer);
        this.waits.delete(release);
        resolve();
      };
      const timer = setTimeout(release, ms);
      this.timers.add(timer);
      this.waits.add(release);
    });
  }
}

/** An upper bound of a record's size on the wire (names uncompressed). */
function sizeOf(record: Answer): number {
  return record.name.length + 2 + 10 + rdata(record).length;
}

function sizeOfQuestions(questions: readonly Question[]): number {
  return 12 + questions.reduce((sum, q) => sum + q.name.length + 2 + 4, 0);
}

/** Splits records into packets of at most `limit` bytes each. */
function chunks(records: Answer[], limit: number): Answer[][] {
  const out: Answer[][] = [];
  let current: Answer[] = [];
  let size = 12;
  for (const record of records) {
    if (current.length > 0 && size + sizeOf(record) > limit) {
      out.push(current);
      current = [];
      size = 12;
    }
    current.push(record);
    size += sizeOf(record);
  }
  if (current.length > 0) out.push(current);
  return out;
}

/** Keeps an answer inside one packet: additional records go first, then answers beyond the limit. */
function fit(answers: Answer[], additionals: Answer[], limit: number): [Answer[], Answer[]] {
  let size = 12;
  const keptAnswers = answers.filter((r) => (size += sizeOf(r)) <= limit);
  const keptAdditionals = additionals.filter((r) => (size += sizeOf(r)) <= limit);
  return [keptAnswers, keptAdditionals];
}
