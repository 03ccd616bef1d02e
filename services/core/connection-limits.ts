// Caps on open connections, per client address and in all, shared by IMAP,
// POP3 and SMTP: each service has its own ConnectionLimits and asks it at
// accept time. A stranger cannot hold more than `perAddress` connections
// (and the memory each costs), and no flood takes more than `total`.
//
// Invariants a reader must keep:
// - Every admitted connection is released exactly once, when its socket
//   closes, whatever path closed it; the release function is idempotent, so
//   calling it from several close paths is safe.
// - An IPv4-mapped IPv6 address (::ffff:192.0.2.1, what a dual-stack socket
//   reports) counts as the IPv4 address. Other IPv6 addresses count per /64:
//   one host picks freely among the 2^64 addresses of its network, as a
//   family behind one IPv4 NAT shares one address.
// - Loopback clients (programs on the box itself: the web UI's webmail later,
//   benchmarks, tests) are not held to the per-address limit unless
//   `exemptLoopback` is false; they count towards the total.

import { isIPv6 } from 'node:net';

export interface ConnectionLimitSettings {
  /** Open connections from one client address (an IPv6 /64). */
  perAddress: number;
  /** Open connections in all. */
  total: number;
  /** Loopback addresses are free of the per-address limit (default true). */
  exemptLoopback?: boolean;
}

/**
 * Defaults a family never reaches: phones keep several IMAP connections each
 * (one per watched folder), and a household shares one address behind its
 * router, yet a stranger cannot pin down more than 20 connections' worth.
 */
export const defaultConnectionLimits: ConnectionLimitSettings = { perAddress: 20, total: 200 };

export type Admission = { admitted: true; key: string; release: () => void } | { admitted: false; key: string; reason: 'per-address' | 'total'; limit: number };

export class ConnectionLimits {
  private readonly open = new Map<string, number>();
  private count = 0;

  constructor(readonly settings: ConnectionLimitSettings = defaultConnectionLimits) {
    if (!(settings.perAddress >= 1) || !(settings.total >= 1)) throw new TypeError(`connection limits must be at least 1, not ${JSON.stringify(settings)}`);
  }

  /** Admits a connection from `address` (a socket's remoteAddress), or says which limit refuses it. */
  admit(address: string | undefined): Admission {
    const key = addressKey(address);
    const fromThere = this.open.get(key) ?? 0;
    const exempt = this.settings.exemptLoopback !== false && isLoopbackKey(key);
    if (!exempt && fromThere >= this.settings.perAddress) return { admitted: false, key, reason: 'per-address', limit: this.settings.perAddress };
    if (this.count >= this.settings.total) return { admitted: false, key, reason: 'total', limit: this.settings.total };
    this.open.set(key, fromThere + 1);
    this.count += 1;
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      this.count -= 1;
      const left = (this.open.get(key) ?? 1) - 1;
      if (left > 0) this.open.set(key, left);
      else this.open.delete(key);
    };
    return { admitted: true, key, release };
  }

  /** Connections open now, in all or from one address. */
  active(address?: string): number {
    return address === undefined ? this.count : (this.open.get(addressKey(address)) ?? 0);
  }

  /** Distinct addresses (IPv6 /64s) with open connections. */
  get addresses(): number {
    return this.open.size;
  }
}

/** What a connection counts against: the IPv4 address, or the IPv6 /64. */
export function addressKey(address: string | undefined): string {
  if (!address) return 'unknown';
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(address);
  if (mapped) return mapped[1]!;
  if (!isIPv6(address)) return address;
  return `${expandIPv6(address).slice(0, 4).join(':')}::/64`;
}

function isLoopbackKey(key: string): boolean {
  return key.startsWith('127.') || key === '0:0:0:0::/64';
}

/** The eight 16-bit groups of an IPv6 address, as lower-case hex without leading zeros. */
function expandIPv6(address: string): string[] {
  const zoneless = address.split('%')[0]!;
  const [head, tail] = zoneless.includes('::') ? zoneless.split('::') : [zoneless, undefined];
  const parse = (part: string | undefined) => (part ? part.split(':') : []);
  let left = parse(head);
  let right = parse(tail);
  // An embedded IPv4 tail (::1.2.3.4) is two groups.
  const toGroups = (groups: string[]) =>
    groups.flatMap((group) => {
      if (!group.includes('.')) return [group];
      const [a, b, c, d] = group.split('.').map(Number) as [number, number, number, number];
      return [((a << 8) | b).toString(16), ((c << 8) | d).toString(16)];
    });
  left = toGroups(left);
  right = toGroups(right);
  const missing = tail === undefined ? 0 : 8 - left.length - right.length;
  return [...left, ...Array<string>(missing).fill('0'), ...right].map((group) => parseInt(group, 16).toString(16));
}

/**
 * Decides which refusals get a log line: the first for a client address, then
 * at most one a minute, so that a flood of refused connections cannot flood
 * the log. Forgets addresses after a while (bounded memory).
 */
export function refusalLogThrottle(intervalMs = 60_000, maxAddresses = 1000): (key: string, now?: number) => boolean {
  const lastLogged = new Map<string, number>();
  return (key, now = Date.now()) => {
    const last = lastLogged.get(key);
    if (last !== undefined && now - last < intervalMs) return false;
    if (lastLogged.size >= maxAddresses) {
      for (const [address, at] of lastLogged) if (now - at >= intervalMs) lastLogged.delete(address);
      if (lastLogged.size >= maxAddresses) lastLogged.clear();
    }
    lastLogged.set(key, now);
    return true;
  };
}
