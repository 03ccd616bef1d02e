// Which addresses the box advertises, from the `listen` setting and the
// machine's interfaces; and whether mDNS runs at all (`mdns` setting).
//
// Invariants:
// - Only addresses the services listen on are advertised: `0.0.0.0` means every
//   IPv4 address of the LAN interfaces, `::` every IPv6 one, a single address
//   only itself. A name that resolves to an address nothing listens on is a lie.
// - Loopback is never advertised: an answer of 127.0.0.1 sends the asker to
//   itself. A box that listens on loopback only has nothing to say on a LAN,
//   so `auto` is off there (development and every test).
// - IPv6 link-local addresses (fe80::/10) are not advertised: a browser cannot
//   use them without a zone index.

import { isIP } from 'node:net';
import { networkInterfaces, type NetworkInterfaceInfo } from 'node:os';
import type { Link } from './records.ts';

export type MdnsMode = 'on' | 'off' | 'auto';

export function isLoopback(address: string): boolean {
  return address === '::1' || /^127\./.test(address) || /^::ffff:127\./i.test(address);
}

/** `auto` runs mDNS when the services listen on anything beside loopback. */
export function mdnsEnabled(mode: MdnsMode, listen: readonly string[]): boolean {
  if (mode !== 'auto') return mode === 'on';
  return listen.some((address) => !isLoopback(address));
}

const isLinkLocal6 = (address: string) => /^fe[89ab]/i.test(address);

/** The links to answer on: one per interface that has an IPv4 address the box listens on. */
export function linksFor(listen: readonly string[], interfaces: NodeJS.Dict<NetworkInterfaceInfo[]> = networkInterfaces()): Link[] {
  const any4 = listen.includes('0.0.0.0');
  const any6 = listen.includes('::');
  const exact = new Set(listen.filter((address) => isIP(address) !== 0).map((address) => address.toLowerCase()));
  const links: Link[] = [];
  for (const [name, infos] of Object.entries(interfaces)) {
    const link: Link = { interface: name, ipv4: [], ipv6: [] };
    for (const info of infos ?? []) {
      if (info.internal || isLoopback(info.address)) continue;
      if (info.family === 'IPv4' && (any4 || exact.has(info.address))) {
        link.ipv4.push({ address: info.address, prefix: prefixLength(info) });
      } else if (info.family === 'IPv6' && !isLinkLocal6(info.address) && (any6 || exact.has(info.address.toLowerCase()))) {
        link.ipv6.push(info.address);
      }
    }
    // The transport is IPv4 multicast (224.0.0.251): a link without IPv4 cannot be answered on.
    if (link.ipv4.length > 0) links.push(link);
  }
  return links;
}

function prefixLength(info: NetworkInterfaceInfo): number {
  if (info.cidr) return Number(info.cidr.slice(info.cidr.indexOf('/') + 1));
  return info.netmask.split('.').reduce((bits, octet) => bits + (Number(octet) >>> 0).toString(2).replace(/0/g, '').length, 0);
}

function ipv4Number(address: string): number {
  return address.split('.').reduce((n, octet) => (n << 8) + Number(octet), 0) >>> 0;
}

/** The link whose IPv4 subnet holds `source`: where a query came from (§11: only on-link queries are answered). */
export function linkOf(links: readonly Link[], source: string): Link | undefined {
  const address = source.replace(/^::ffff:/i, '');
  if (isIP(address) !== 4) return undefined;
  const value = ipv4Number(address);
  return links.find((link) =>
    link.ipv4.some(({ address: own, prefix }) => {
      const mask = prefix === 0 ? 0 : (~0 << (32 - prefix)) >>> 0;
      return ((value & mask) >>> 0) === ((ipv4Number(own) & mask) >>> 0);
    }),
  );
}

/** Two link lists advertise the same thing (so a re-announce is not needed). */
export function sameLinks(a: readonly Link[], b: readonly Link[]): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}
