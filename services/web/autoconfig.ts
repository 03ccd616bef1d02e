// Mail client autoconfiguration, so that a phone or a desktop client finds
// the box's servers from the address alone:
// - Thunderbird's autoconfig (the "config-v1.1.xml" format of
//   https://wiki.mozilla.org/Thunderbird:Autoconfiguration:ConfigFileFormat):
//   GET /.well-known/autoconfig/mail/config-v1.1.xml and
//   GET /mail/config-v1.1.xml (?emailaddress=...).
// - Outlook's POX autodiscover ([MS-OXDSCLI] §2.2.4, the 2006a response
//   schema): POST /autodiscover/autodiscover.xml with the address in
//   <EMailAddress>; GET is answered too, for clients that try it first.
// Both are served on HTTP and HTTPS: a client asks before it trusts anything.
//
// Invariants: every value put into XML is escaped; the request body is read
// up to 16 KiB and only <EMailAddress> is taken from it (no XML parser, so
// no entity expansion).

import type { IncomingMessage } from 'node:http';

export interface ClientPorts {
  imaps: number;
  imap: number;
  pop3s: number;
  pop3: number;
  submissions: number;
  submission: number;
}

export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]!);
}

/** The domain the client's address is in when it is one of ours, else the first of ours, else the host name. */
export function pickDomain(address: string | undefined, localDomains: string[], hostname: string): string {
  const domain = address?.includes('@') ? address.slice(address.lastIndexOf('@') + 1).toLowerCase() : undefined;
  if (domain && localDomains.includes(domain)) return domain;
  return localDomains[0] ?? hostname;
}

export function thunderbirdConfig(hostname: string, domain: string, ports: ClientPorts): string {
  const h = escapeXml(hostname);
  const server = (kind: 'incomingServer' | 'outgoingServer', type: string, port: number, socket: 'SSL' | 'STARTTLS') =>
    `    <${kind} type="${type}">
      <hostname>${h}</hostname>
      <port>${port}</port>
      <socketType>${socket}</socketType>
      <authentication>password-cleartext</authentication>
      <username>%EMAILADDRESS%</username>
    </${kind}>`;
  return `<?xml version="1.0" encoding="UTF-8"?>
<clientConfig version="1.1">
  <emailProvider id="${escapeXml(domain)}">
    <domain>${escapeXml(domain)}</domain>
    <displayName>Mailnest (${h})</displayName>
    <displayShortName>Mailnest</displayShortName>
${server('incomingServer', 'imap', ports.imaps, 'SSL')}
${server('incomingServer', 'imap', ports.imap, 'STARTTLS')}
${server('incomingServer', 'pop3', ports.pop3s, 'SSL')}
${server('outgoingServer', 'smtp', ports.submissions, 'SSL')}
${server('outgoingServer', 'smtp', ports.submission, 'STARTTLS')}
  </emailProvider>
</clientConfig>
`;
}

export function outlookAutodiscover(hostname: string, address: string, ports: ClientPorts): string {
  const protocol = (type: string, port: number) => `      <Protocol>
        <Type>${type}</Type>
        <Server>${escapeXml(hostname)}</Server>
        <Port>${port}</Port>
        <DomainRequired>off</DomainRequired>
        <LoginName>${escapeXml(address)}</LoginName>
        <SPA>off</SPA>
        <SSL>on</SSL>
        <AuthRequired>on</AuthRequired>
      </Protocol>`;
  return `<?xml version="1.0" encoding="utf-8"?>
<Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006">
  <Response xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a">
    <Account>
      <AccountType>email</AccountType>
      <Action>settings</Action>
${protocol('IMAP', ports.imaps)}
${protocol('POP3', ports.pop3s)}
${protocol('SMTP', ports.submissions)}
    </Account>
  </Response>
</Autodiscover>
`;
}

const maxRequestBytes = 16 * 1024;

/** The <EMailAddress> of an autodiscover request body, or undefined. */
export async function readAutodiscoverAddress(request: IncomingMessage): Promise<string | undefined> {
  let text = '';
  for await (const chunk of request as AsyncIterable<Buffer>) {
    text += chunk.toString('utf8');
    if (text.length > maxRequestBytes) return undefined;
  }
  const match = /<EMailAddress>\s*([^<\s]{1,320})\s*<\/EMailAddress>/i.exec(text);
  return match?.[1];
}

/** Is this one of the autoconfig paths? (case-insensitive for /autodiscover/, as Outlook varies it.) */
export function isAutoconfigPath(path: string): boolean {
  return path.startsWith('/.well-known/autoconfig/') || path === '/mail/config-v1.1.xml' || path.toLowerCase().startsWith('/autodiscover/');
}
