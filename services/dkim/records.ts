// The DNS records a domain's owner publishes so that mail to and from it
// works: MX (RFC 5321 §5), SPF (RFC 7208), the two DKIM keys (RFC 6376 §3.6.1,
// RFC 8463 §4.2), DMARC (RFC 7489 §6.1), and the SRV records mail programs
// use to find IMAP, POP3 and submission by themselves (RFC 6186).

import type { DomainKeys } from './keys.ts';

export interface DnsRecord {
  name: string;
  type: 'MX' | 'TXT' | 'SRV';
  value: string;
  why: string;
}

/** The SRV records mail programs use to find IMAP, POP3 and submission (RFC 6186 §3, RFC 8314 §5.1). */
export function clientSrvRecords(domain: string, hostname: string): DnsRecord[] {
  const host = `${hostname}.`;
  const at = `${domain}.`;
  const srv = (service: string, port: number, why: string): DnsRecord => ({ name: `_${service}._tcp.${at}`, type: 'SRV', value: `0 1 ${port} ${host}`, why });
  return [
    srv('submission', 587, 'mail programs find the sending server (STARTTLS)'),
    srv('submissions', 465, 'mail programs find the sending server (TLS)'),
    srv('imap', 143, 'mail programs find IMAP (STARTTLS)'),
    srv('imaps', 993, 'mail programs find IMAP (TLS)'),
    srv('pop3', 110, 'mail programs find POP3 (STARTTLS)'),
    srv('pop3s', 995, 'mail programs find POP3 (TLS)'),
  ];
}

/** The DMARC policy record (RFC 7489 §6.1). */
export function dmarcRecord(domain: string): DnsRecord {
  return { name: `_dmarc.${domain}.`, type: 'TXT', value: `v=DMARC1; p=quarantine; adkim=s; aspf=s; rua=mailto:postmaster@${domain}`, why: 'receivers quarantine mail that fails SPF and DKIM, and report to postmaster' };
}

export function domainRecords(domain: string, hostname: string, keys: DomainKeys): DnsRecord[] {
  const host = `${hostname}.`;
  const at = `${domain}.`;
  return [
    { name: at, type: 'MX', value: `10 ${host}`, why: 'mail for the domain goes to this server' },
    { name: at, type: 'TXT', value: 'v=spf1 mx -all', why: 'only this server sends mail for the domain (add your smarthost, e.g. include:..., if you use one)' },
    { name: `${keys.rsa.selector}._domainkey.${at}`, type: 'TXT', value: `v=DKIM1; k=rsa; p=${keys.rsa.publicKeyText}`, why: 'the RSA key outgoing mail is signed with' },
    { name: `${keys.ed25519.selector}._domainkey.${at}`, type: 'TXT', value: `v=DKIM1; k=ed25519; p=${keys.ed25519.publicKeyText}`, why: 'the Ed25519 key of the second signature' },
    dmarcRecord(domain),
    ...clientSrvRecords(domain, hostname),
  ];
}

/** Zone-file text: TXT values longer than 255 octets are split into quoted strings (RFC 1035 §3.3.14). */
export function zoneFile(records: DnsRecord[]): string {
  const width = Math.max(...records.map((r) => r.name.length));
  return records
    .map((r) => {
      const value = r.type === 'TXT' ? (r.value.match(/.{1,255}/g) ?? ['']).map((part) => `"${part}"`).join(' ') : r.value;
      return `; ${r.why}\n${r.name.padEnd(width)}  IN ${r.type.padEnd(3)}  ${value}`;
    })
    .join('\n');
}
