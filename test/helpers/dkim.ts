// A DNS resolver for mailauth's DKIM verification that knows the TXT records
// `mailnest domain dns` prints for a domain's keys, and nothing else.

import { domainRecords, type DomainKeys } from '../../services/dkim/index.ts';

export function dkimResolverFor(keys: DomainKeys) {
  const records = new Map(domainRecords(keys.domain, 'mail.example.test', keys).filter((r) => r.type === 'TXT').map((r) => [r.name.replace(/\.$/, ''), r.value]));
  return async (name: string, type: string) => {
    const value = type === 'TXT' ? records.get(name) : undefined;
    if (!value) throw Object.assign(new Error(`no ${type} for ${name}`), { code: 'ENOTFOUND' });
    return [[value]];
  };
}
