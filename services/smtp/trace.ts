// Trace headers added to every message received (RFC 5321 §4.4): Return-Path
// with the envelope sender, and a Received line naming the client, this host,
// the protocol (RFC 3848 / RFC 6531 §3.7.3 keywords: ESMTP, ESMTPS, ESMTPSA,
// UTF8SMTPS, ...) and, for a single recipient only, `for <address>` (more would
// leak Bcc recipients to each other).

import { rfc5322Date } from '../core/rfc5322-date.ts';

export interface TraceInfo {
  sender: string;
  heloName: string;
  clientAddress: string;
  hostname: string;
  protocol: string;
  id: string;
  recipients: string[];
  tls?: { protocol: string; cipher: string } | undefined;
  date?: Date;
}

/** Keeps client-supplied text from breaking the header: printable, no parentheses. */
function clean(text: string): string {
  return text.replace(/[^\x21-\x7e]/g, '?').replace(/[()\\]/g, '?').slice(0, 255) || 'unknown';
}

export function traceHeaders(info: TraceInfo): Buffer {
  const date = info.date ?? new Date();
  const address = info.clientAddress.replace(/^::ffff:/, '');
  const literal = address.includes(':') ? `IPv6:${address}` : address;
  const lines = [
    `Return-Path: <${info.sender}>`,
    `Received: from ${clean(info.heloName)} ([${literal}])`,
    `\tby ${info.hostname} (Mailnest) with ${info.protocol} id ${clean(info.id)}`,
  ];
  if (info.tls) lines.push(`\t(using ${clean(info.tls.protocol)} with cipher ${clean(info.tls.cipher)})`);
  if (info.recipients.length === 1) lines.push(`\tfor <${info.recipients[0]}>`);
  lines[lines.length - 1] += ';';
  lines.push(`\t${rfc5322Date(date)}`);
  return Buffer.from(lines.join('\r\n') + '\r\n', 'utf8');
}
