// Where mail for a remote domain goes, in this order (RFC 5321 §5.1 for MX):
//   1. the transport table: a fixed host:port for that domain;
//   2. the smarthost (relay), when one is set: everything else goes there;
//   3. the domain's MX records, lowest preference first, equal preferences in
//      random order; no MX records: the domain's own A/AAAA (the implicit MX);
//      a null MX (RFC 7505 §3: one MX of preference 0 naming ".") or a domain
//      that does not exist: the mail cannot be delivered.

import type { MailResolver } from '../dns/index.ts';
import type { Relay, Store } from '../store/index.ts';
import type { SessionOptions, SessionTarget } from './smtp-session.ts';

export interface Route {
  /** For logs: where the mail goes and why. */
  via: 'transport' | 'relay' | 'mx';
  /** Addresses to try in order until one answers. */
  targets: () => Promise<SessionTarget[]>;
  security: SessionOptions['security'];
  verify: boolean;
  auth?: { user: string; pass: string } | undefined;
}

/** A lookup that cannot route the mail; `permanent` ends it with a bounce. */
export class RouteError extends Error {
  constructor(
    message: string,
    readonly permanent: boolean,
    /** RFC 3463 status for the report. */
    readonly status: string,
  ) {
    super(message);
    this.name = 'RouteError';
  }
}

/** RFC 5321 §5.1 leaves the number of MX hosts tried to us; more than this is a misconfiguration or an attack. */
const maxAddresses = 10;

/** The destination a domain's mail counts against for connection limits, known without DNS (the same order as `route`). */
export function routeKey(store: Store, domain: string): string {
  const transport = store.transports.find(domain);
  if (transport) return `transport:${transport.host}:${transport.port}`;
  if (store.relay.get()) return 'relay';
  return `mx:${domain}`;
}

/** `mxPort` is 25 on the internet; tests put their peer on another port. */
export function route(store: Store, resolver: MailResolver, domain: string, mxPort = 25): Route {
  const transport = store.transports.find(domain);
  if (transport) {
    const target = { host: transport.host, port: transport.port, name: transport.host };
    return { via: 'transport', targets: async () => [target], security: 'opportunistic', verify: false };
  }
  const relay = store.relay.get();
  if (relay) return relayRoute(relay);
  return { via: 'mx', targets: () => mxTargets(resolver, domain, mxPort), security: 'opportunistic', verify: false };
}

function relayRoute(relay: Relay): Route {
  // A password that cannot be opened (its key file is gone) keeps the mail queued with the reason, rather than trying without it.
  if (relay.passwordProblem) throw new RouteError(relay.passwordProblem, false, '4.3.5');
  return {
    via: 'relay',
    targets: async () => [{ host: relay.host, port: relay.port, name: relay.host }],
    security: relay.security,
    verify: relay.verify,
    auth: relay.username !== null && relay.password !== null ? { user: relay.username, pass: relay.password } : undefined,
  };
}

function dnsCode(error: unknown): string {
  return (error as NodeJS.ErrnoException).code ?? 'EUNKNOWN';
}

/** RFC 5321 §5.1: the MX hosts of a domain, each host's addresses, in the order to try them. */
export async function mxTargets(resolver: MailResolver, domain: string, port = 25): Promise<SessionTarget[]> {
  let hosts: string[];
  try {
    const records = await resolver.resolveMx(domain);
    const real = records.filter((r) => r.exchange !== '' && r.exchange !== '.');
    if (real.length === 0 && records.length > 0) {
      throw new RouteError(`${domain} does not accept mail (null MX, RFC 7505)`, true, '5.1.10');
    }
    hosts = shuffleWithinPreference(real).map((r) => r.exchange);
  } catch (error) {
    if (error instanceof RouteError) throw error;
    const code = dnsCode(error);
    if (code === 'ENOTFOUND') throw new RouteError(`the domain ${domain} does not exist`, true, '5.1.2');
    if (code !== 'ENODATA') throw new RouteError(`MX lookup for ${domain} failed (${code})`, false, '4.4.3');
    // No MX records: the domain itself is the implicit MX.
    hosts = [domain];
  }
  const targets: SessionTarget[] = [];
  let lastFailure = '';
  for (const host of hosts) {
    const addresses = await addressesOf(resolver, host).catch((error: unknown) => {
      lastFailure = `${host}: ${dnsCode(error)}`;
      return [] as string[];
    });
    for (const address of addresses) targets.push({ host: address, port, name: host });
    if (targets.length >= maxAddresses) break;
  }
  if (targets.length === 0) {
    if (hosts.length === 1 && hosts[0] === domain && /ENODATA|ENOTFOUND/.test(lastFailure)) {
      throw new RouteError(`${domain} has no MX and no address records`, true, '5.1.2');
    }
    throw new RouteError(`no address found for the mail servers of ${domain}${lastFailure ? ` (${lastFailure})` : ''}`, false, '4.4.4');
  }
  return targets.slice(0, maxAddresses);
}

/** IPv4 first: a home connection often has no working IPv6 route. */
async function addressesOf(resolver: MailResolver, host: string): Promise<string[]> {
  const [v4, v6] = await Promise.allSettled([resolver.resolve4(host), resolver.resolve6(host)]);
  const found = [...(v4.status === 'fulfilled' ? v4.value : []), ...(v6.status === 'fulfilled' ? v6.value : [])];
  if (found.length === 0) {
    const failure = [v4, v6].find((r): r is PromiseRejectedResult => r.status === 'rejected' && !['ENODATA', 'ENOTFOUND'].includes(dnsCode(r.reason)));
    throw failure ? failure.reason : Object.assign(new Error('no address records'), { code: v4.status === 'rejected' ? dnsCode(v4.reason) : 'ENODATA' });
  }
  return found;
}

function shuffleWithinPreference<T extends { priority: number }>(records: T[]): T[] {
  const shuffled = records.map((r) => ({ r, k: Math.random() }));
  shuffled.sort((a, b) => a.r.priority - b.r.priority || a.k - b.k);
  return shuffled.map((s) => s.r);
}
