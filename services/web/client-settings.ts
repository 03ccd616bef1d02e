// What a mail program (a phone above all) needs to reach a mailbox: the card
// the wizard prints with a QR code, the answer of mailbox creation and of
// /api/me. The ports are the ones clients reach (the port offset applied,
// port 0 resolved: WebContext.ports); the host is the hostname setting as
// stored now (the wizard may have changed it since the start).
//
// Implicit TLS everywhere (RFC 8314 §3.3, §4.1: 993, 995, 465): it is the one
// each client offers first and cannot be downgraded by stripping STARTTLS.
// The user name is the full address (what IMAP, POP3 and submission log in with).

import type { PortName } from '../core/ports.ts';

export type ClientSecurity = 'tls' | 'starttls';

export interface ClientServer {
  host: string;
  port: number;
  security: ClientSecurity;
}

export interface ClientSettings {
  address: string;
  username: string;
  imap: ClientServer;
  pop3: ClientServer;
  smtp: ClientServer;
}

export function clientSettings(address: string, hostname: string, ports: Record<PortName, number>): ClientSettings {
  return {
    address,
    username: address,
    imap: { host: hostname, port: ports.imaps, security: 'tls' },
    pop3: { host: hostname, port: ports.pop3s, security: 'tls' },
    smtp: { host: hostname, port: ports.submissions, security: 'tls' },
  };
}
