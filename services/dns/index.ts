// services/dns: the resolver outgoing mail uses for MX, A and AAAA lookups,
// and the doctor for its checks (TXT, PTR, SRV, DNSBL queries). It is Node's
// c-ares resolver (node:dns promises.Resolver), pointed at the servers of the
// `dns-servers` setting, or at the system's when it is empty; tests point it
// at a small DNS server on 127.0.0.1. See README.md.

import { promises as dns } from 'node:dns';

export type MailResolver = Pick<dns.Resolver, 'resolveMx' | 'resolve4' | 'resolve6' | 'resolveTxt'>;

/** What the doctor asks: everything the mail resolver does, and PTR and SRV. */
export type LookupResolver = MailResolver & Pick<dns.Resolver, 'resolvePtr' | 'resolveSrv' | 'cancel'>;

export interface ResolverTimings {
  /** The wait for one answer, per try (c-ares doubles it on each retry). */
  timeoutMs: number;
  tries: number;
}

// RFC 5321 §5: a lookup that does not answer is a temporary failure; keep it short.
const mailTimings: ResolverTimings = { timeoutMs: 5000, tries: 2 };

export function createResolver(servers: readonly string[], timings: ResolverTimings = mailTimings): LookupResolver {
  const resolver = new dns.Resolver({ timeout: timings.timeoutMs, tries: timings.tries });
  if (servers.length > 0) resolver.setServers([...servers]);
  return resolver;
}

// Sender authentication (services/filter): 1 s, then 2 s (c-ares doubles it); the stage bounds each whole check too.
const authTimings: ResolverTimings = { timeoutMs: 1000, tries: 2 };

/** The `resolve(name, type)` function mailauth calls, on the same servers as the mail resolver. */
export function createAuthResolver(servers: readonly string[], timings: ResolverTimings = authTimings): (name: string, type: string) => Promise<unknown> {
  const resolver = new dns.Resolver({ timeout: timings.timeoutMs, tries: timings.tries });
  if (servers.length > 0) resolver.setServers([...servers]);
  return (name, type) => resolver.resolve(name, type);
}
