// The capability list, with the RFC that defines each. Only what works is
// advertised: a capability here is a promise that every command and response
// it defines is implemented (see README.md for what each covers).
//
// The list depends on the connection: STARTTLS only on a plain connection
// that can upgrade, LOGINDISABLED and no AUTH= before the connection is secure,
// QUOTA only when the backend answers quota questions, with the resources it
// declares (RFC 9208 §5: advertising QUOTA=RES-MESSAGE promises a message
// count and limit).

import type { ResolvedOptions } from '../options.ts';

/** Capabilities every session has, in the order they are listed. */
export const baseCapabilities = [
  'IMAP4rev1', // RFC 3501
  'SASL-IR', // RFC 4959
  'ID', // RFC 2971
  'ENABLE', // RFC 5161
  'IDLE', // RFC 2177
  'NAMESPACE', // RFC 2342
  'UNSELECT', // RFC 3691
  'UIDPLUS', // RFC 4315
  'MOVE', // RFC 6851
  'CHILDREN', // RFC 3348
  'SPECIAL-USE', // RFC 6154
  'CREATE-SPECIAL-USE', // RFC 6154 §3
  'LIST-EXTENDED', // RFC 5258
  'LIST-STATUS', // RFC 5819
  'CONDSTORE', // RFC 7162 §3.1
  'QRESYNC', // RFC 7162 §3.2
  'ESEARCH', // RFC 4731
  'SEARCHRES', // RFC 5182
  'WITHIN', // RFC 5032
  'SORT', // RFC 5256
  'SORT=DISPLAY', // RFC 5957
  'STATUS=SIZE', // RFC 8438
] as const;

export interface CapabilityContext {
  secure: boolean;
  tlsActive: boolean;
  authenticated: boolean;
}

export function capabilityList(options: ResolvedOptions, context: CapabilityContext): string[] {
  const list: string[] = [...baseCapabilities];
  // RFC 7888 §5: before login non-synchronizing literals are taken up to 4096
  // octets only (LITERAL-); after login up to the literal limits (LITERAL+).
  // Never both at once.
  list.splice(1, 0, context.authenticated ? 'LITERAL+' : 'LITERAL-');
  if (options.utf8Accept) list.push('UTF8=ACCEPT'); // RFC 6855
  list.push(`APPENDLIMIT=${options.appendLimit}`); // RFC 7889
  const quota = quotaResources(options);
  if (quota.length > 0) list.push('QUOTA', ...quota.map((name) => `QUOTA=RES-${name}`)); // RFC 9208 §3.1, §5
  if (!context.authenticated) {
    if (options.tls && !context.tlsActive) list.push('STARTTLS'); // RFC 3501 §6.2.1
    if (context.secure) list.push('AUTH=PLAIN'); // RFC 4616
    else list.push('LOGINDISABLED'); // RFC 3501 §6.2.3
  }
  return list;
}

/** The quota resources advertised: those the backend declares, when it also answers GETQUOTA and GETQUOTAROOT. */
export function quotaResources(options: ResolvedOptions): readonly string[] {
  const backend = options.backend;
  if (!backend.getQuotaRoots || !backend.getQuota || !backend.quotaResources) return [];
  return [...new Set(backend.quotaResources)];
}

/** Extensions ENABLE can turn on (RFC 5161 §3.1). */
export function enableable(options: ResolvedOptions): Set<string> {
  const set = new Set(['CONDSTORE', 'QRESYNC']);
  if (options.utf8Accept) set.add('UTF8=ACCEPT');
  return set;
}
