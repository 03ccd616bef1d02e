// DNS lookups with a deadline each, answered as one of three things a check
// can reason about: records, none (NXDOMAIN or NODATA: the name or the type
// is not published), or trouble (timeout, SERVFAIL, refused: we do not know).
// A check never reads "no answer" as "not published".

import { connect } from 'node:net';
import type { LookupResolver } from '../dns/index.ts';

export type Lookup<T> = { kind: 'found'; records: T[] } | { kind: 'none' } | { kind: 'trouble'; problem: string };

/** Node's codes for "the DNS says there is nothing" (RFC 1035 §4.1.1 RCODE 3, or an empty answer). */
const nothingCodes = new Set(['ENOTFOUND', 'ENODATA']);

export class Lookups {
  /** Every lookup made in this run, for the log (and tests). */
  count = 0;

  constructor(
    readonly resolver: LookupResolver,
    private readonly deadlineMs: number,
    private readonly signal: AbortSignal,
  ) {}

  private async ask<T>(what: string, query: () => Promise<T[]>): Promise<Lookup<T>> {
    this.count++;
    if (this.signal.aborted) return { kind: 'trouble', problem: 'the check was stopped' };
    let timer: NodeJS.Timeout | undefined;
    let onAbort: (() => void) | undefined;
    const deadline = new Promise<Lookup<T>>((resolve) => {
      timer = setTimeout(() => resolve({ kind: 'trouble', problem: `no answer to ${what} within ${Math.round(this.deadlineMs / 100) / 10} s` }), this.deadlineMs);
      onAbort = () => resolve({ kind: 'trouble', problem: 'the check was stopped' });
      this.signal.addEventListener('abort', onAbort, { once: true });
    });
    const answer = query().then(
      (records): Lookup<T> => (records.length ? { kind: 'found', records } : { kind: 'none' }),
      (error: NodeJS.ErrnoException): Lookup<T> =>
        nothingCodes.has(error.code ?? '') ? { kind: 'none' } : { kind: 'trouble', problem: `${what}: ${error.code ?? error.message}` },
    );
    try {
      return await Promise.race([answer, deadline]);
    } finally {
      clearTimeout(timer);
      if (onAbort) this.signal.removeEventListener('abort', onAbort);
    }
  }

  a(name: string): Promise<Lookup<string>> {
    return this.ask(`A ${name}`, () => this.resolver.resolve4(name));
  }

  mx(name: string): Promise<Lookup<{ exchange: string; priority: number }>> {
    return this.ask(`MX ${name}`, () => this.resolver.resolveMx(name));
  }

  /** Each TXT record with its character-strings joined (RFC 7208 §3.3, RFC 6376 §3.6.2.2). */
  txt(name: string): Promise<Lookup<string>> {
    return this.ask(`TXT ${name}`, async () => (await this.resolver.resolveTxt(name)).map((parts) => parts.join('')));
  }

  ptr(name: string): Promise<Lookup<string>> {
    return this.ask(`PTR ${name}`, () => this.resolver.resolvePtr(name));
  }

  srv(name: string): Promise<Lookup<{ name: string; port: number; priority: number; weight: number }>> {
    return this.ask(`SRV ${name}`, () => this.resolver.resolveSrv(name));
  }
}

/** A name as the DNS compares it: lower case, no trailing dot. */
export function sameName(a: string, b: string): boolean {
  return a.replace(/\.$/, '').toLowerCase() === b.replace(/\.$/, '').toLowerCase();
}

/** 192.0.2.10 → 10.2.0.192, the label order of in-addr.arpa (RFC 1035 §3.5) and of DNSBLs (RFC 5782 §2.1). */
export function reversedIPv4(address: string): string {
  return address.split('.').reverse().join('.');
}

export function ipv4Number(address: string): number {
  return address.split('.').reduce((n, octet) => n * 256 + Number(octet), 0);
}

/** Addresses no one on the internet can reach: RFC 1918, loopback, link-local, shared (RFC 6598), this network. */
export function isPrivateIPv4(address: string): boolean {
  const n = ipv4Number(address);
  const within = (base: string, bits: number) => Math.floor(n / 2 ** (32 - bits)) === Math.floor(ipv4Number(base) / 2 ** (32 - bits));
  return within('10.0.0.0', 8) || within('172.16.0.0', 12) || within('192.168.0.0', 16) || within('127.0.0.0', 8) || within('169.254.0.0', 16) || within('100.64.0.0', 10) || within('0.0.0.0', 8);
}

/** Opens a TCP connection and closes it at once: 'open', or why not. */
export function probeTcp(host: string, port: number, deadlineMs: number, signal: AbortSignal): Promise<{ open: true } | { open: false; problem: string; timedOut: boolean }> {
  return new Promise((resolve) => {
    let settled = false;
    const socket = connect({ host, port });
    const finish = (result: { open: true } | { open: false; problem: string; timedOut: boolean }) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      socket.destroy();
      resolve(result);
    };
    const onAbort = () => finish({ open: false, problem: 'the check was stopped', timedOut: false });
    signal.addEventListener('abort', onAbort, { once: true });
    const timer = setTimeout(() => finish({ open: false, problem: `no answer within ${Math.round(deadlineMs / 1000)} s`, timedOut: true }), deadlineMs);
    socket.once('connect', () => finish({ open: true }));
    socket.once('error', (error: NodeJS.ErrnoException) => finish({ open: false, problem: error.code === 'ECONNREFUSED' ? 'the connection was refused' : (error.code ?? error.message), timedOut: false }));
  });
}
