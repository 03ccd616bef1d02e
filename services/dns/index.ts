// services/dns: the resolver outgoing mail uses for MX, A and AAAA lookups.
// It is Node's c-ares resolver (node:dns promises.Resolver), pointed at the
// servers of the `dns-servers` setting, or at the system's when it is empty;
// tests point it at a small DNS server on 127.0.0.1.

import { promises as dns } from 'node:dns';

export type MailResolver = Pick<dns.Resolver, 'resolveMx' | 'resolve4' | 'resolve6' | 'resolveTxt'>;

export function createResolver(servers: readonly string[]): MailResolver {
  // RFC 5321 §5: a lookup that does not answer is a temporary failure; keep it short.
  const resolver = new dns.Resolver({ timeout: 5000, tries: 2 });
  if (servers.length > 0) resolver.setServers([...servers]);
  return resolver;
}
