// Enough of SPF (RFC 7208) to tell whether a domain's record lets a given
// IPv4 address send: the mechanisms all, include, a, mx, ip4 and the
// redirect modifier, with the limit of 10 lookups (§4.6.4). What it does not
// evaluate (macros §7, exists, ptr, ip6 for an IPv4 address) never matches,
// so at worst the doctor says "not allowed" for a record that a receiver
// would pass through one of those; the finding then names the record.

import { ipv4Number, type Lookups } from './lookups.ts';

export type SpfResult = 'pass' | 'fail' | 'softfail' | 'neutral' | 'none' | 'permerror' | 'temperror';

const qualifiers: Record<string, SpfResult> = { '+': 'pass', '-': 'fail', '~': 'softfail', '?': 'neutral' };

/** RFC 7208 §4.5: the TXT records that begin with "v=spf1" followed by a space or the end. */
export function spfRecords(txt: readonly string[]): string[] {
  return txt.filter((record) => /^v=spf1(\s|$)/i.test(record));
}

function inNetwork(ip: string, network: string, bits: number): boolean {
  if (!/^\d{1,3}(\.\d{1,3}){3}$/.test(network) || !(bits >= 0 && bits <= 32)) return false;
  const size = 2 ** (32 - bits);
  return Math.floor(ipv4Number(ip) / size) === Math.floor(ipv4Number(network) / size);
}

interface Budget {
  lookups: number;
}

/** The SPF result for `ip` sending as `domain` (check_host(), §4). */
export async function checkHost(domain: string, ip: string, lookups: Lookups, budget: Budget = { lookups: 0 }, depth = 0): Promise<SpfResult> {
  if (depth > 10) return 'permerror';
  const txt = await lookups.txt(domain);
  if (txt.kind === 'trouble') return 'temperror';
  const records = txt.kind === 'found' ? spfRecords(txt.records) : [];
  if (records.length === 0) return 'none';
  if (records.length > 1) return 'permerror';
  return evaluate(records[0]!, domain, ip, lookups, budget, depth);
}

async function evaluate(record: string, domain: string, ip: string, lookups: Lookups, budget: Budget, depth: number): Promise<SpfResult> {
  const terms = record.split(/\s+/).slice(1).filter(Boolean);
  let redirect: string | undefined;
  const spend = (): boolean => ++budget.lookups <= 10;
  for (const term of terms) {
    const modifier = /^([a-z][a-z0-9_.-]*)=(.*)$/i.exec(term);
    if (modifier) {
      if (modifier[1]!.toLowerCase() === 'redirect') redirect = modifier[2];
      continue;
    }
    const match = /^([+\-~?]?)([a-z0-9]+)(?::([^/]*))?(?:\/(\d+))?(?:\/\/\d+)?$/i.exec(term);
    if (!match) return 'permerror';
    const qualifier = qualifiers[match[1] || '+']!;
    const mechanism = match[2]!.toLowerCase();
    const target = match[3] ?? domain;
    const bits = match[4] === undefined ? 32 : Number(match[4]);
    // A domain-spec with macros (§7) is not expanded here: the term cannot match.
    const hasMacro = target.includes('%');
    let matched = false;
    switch (mechanism) {
      case 'all':
        matched = true;
        break;
      case 'ip4':
        matched = match[3] !== undefined && inNetwork(ip, match[3], bits);
        break;
      case 'ip6':
        break;
      case 'a': {
        if (!spend()) return 'permerror';
        if (hasMacro) break;
        const a = await lookups.a(target);
        if (a.kind === 'trouble') return 'temperror';
        matched = a.kind === 'found' && a.records.some((address) => inNetwork(ip, address, bits));
        break;
      }
      case 'mx': {
        if (!spend()) return 'permerror';
        if (hasMacro) break;
        const mx = await lookups.mx(target);
        if (mx.kind === 'trouble') return 'temperror';
        // §4.6.4: at most 10 MX names are looked up.
        for (const host of mx.kind === 'found' ? mx.records.slice(0, 10) : []) {
          const a = await lookups.a(host.exchange);
          if (a.kind === 'found' && a.records.some((address) => inNetwork(ip, address, bits))) {
            matched = true;
            break;
          }
        }
        break;
      }
      case 'include': {
        if (!spend()) return 'permerror';
        if (match[3] === undefined) return 'permerror';
        if (hasMacro) break;
        // §5.2: the included record's pass is a match; its fail, softfail or neutral is not; none is an error.
        const inner = await checkHost(target, ip, lookups, budget, depth + 1);
        if (inner === 'temperror') return 'temperror';
        if (inner === 'permerror' || inner === 'none') return 'permerror';
        matched = inner === 'pass';
        break;
      }
      case 'exists':
      case 'ptr':
        if (!spend()) return 'permerror';
        break;
      default:
        return 'permerror';
    }
    if (matched) return qualifier;
  }
  if (redirect !== undefined) {
    if (!spend()) return 'permerror';
    if (redirect.includes('%')) return 'neutral';
    const result = await checkHost(redirect, ip, lookups, budget, depth + 1);
    return result === 'none' ? 'permerror' : result;
  }
  return 'neutral';
}
