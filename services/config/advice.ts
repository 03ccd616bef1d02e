// Settings that are valid but will not work on the internet: said once at the
// start of `mailnest serve` (one log line each) and where the user looks at
// the value (`mailnest domain dns`), never refused, because a development box
// or a test runs fine with them.

import type { Store } from '../store/index.ts';
import type { Config } from './schema.ts';

export interface Advice {
  message: string;
  fields: Record<string, string>;
}

// Names that never resolve on the public internet: mDNS (RFC 6762), the
// names of RFC 2606 §2 and RFC 8375, and what installers and home routers use.
const privateSuffixes = ['local', 'localdomain', 'localhost', 'lan', 'home', 'internal', 'intranet', 'invalid', 'home.arpa'];

/** True for a name other servers can look up: at least two labels, not an IP address, not a private suffix. */
export function isFullDomainName(hostname: string): boolean {
  const name = hostname.toLowerCase().replace(/\.$/, '');
  if (!name.includes('.')) return false;
  // An IP address is no name at all for MX and HELO.
  if (/^[\d.]+$/.test(name)) return false;
  return !privateSuffixes.some((suffix) => name === suffix || name.endsWith(`.${suffix}`));
}

/**
 * What to say about the hostname setting, or undefined when it is a full
 * domain name. The hostname is the MX target, the HELO name and the domain of
 * MAILER-DAEMON@ in bounces, so a machine name such as `vm` breaks all three.
 */
export function hostnameAdvice(hostname: string, domains: string[]): Advice | undefined {
  if (isFullDomainName(hostname)) return undefined;
  const suggestion = `mail.${domains[0] ?? 'example.com'}`;
  return {
    message: `the hostname ${hostname} is not a full domain name, and other servers use it for MX, HELO and bounces (MAILER-DAEMON@${hostname}); set one that resolves to this box: mailnest config set hostname ${suggestion}`,
    fields: { hostname, suggestion },
  };
}

/** The advice for a starting server, one entry per log line. */
export function startupAdvice(store: Store, config: Config): Advice[] {
  const advice: Advice[] = [];
  const hostname = hostnameAdvice(config.hostname, store.domains.list().map((d) => d.name));
  if (hostname) advice.push(hostname);
  const named = store.owner.named();
  const owner = store.owner.find();
  if (named !== undefined && owner && owner.address !== named) {
    advice.push({
      message: `the postmaster setting names ${named}, which is not an enabled user; mail for postmaster and abuse@ goes to ${owner.address} instead (mailnest config set postmaster ADDRESS to choose)`,
      fields: { postmaster: named, owner: owner.address },
    });
  }
  return advice;
}
