// Delivery status notifications (RFC 3464) as multipart/report (RFC 6522):
// a part for people, the machine-readable message/delivery-status, and the
// headers of the original message (text/rfc822-headers: enough to recognise
// it without sending a large attachment back).

import { randomBytes } from 'node:crypto';
import { rfc5322Date } from '../core/rfc5322-date.ts';

export interface ReportedRecipient {
  recipient: string;
  /** RFC 3463 status, such as 5.1.1. */
  status: string;
  /** The remote server's reply, or what went wrong on our side. */
  diagnostic: string;
  /** The server that answered, if one did. */
  remoteMta?: string | undefined;
  /** The SMTP command the reply answered. */
  command?: string | undefined;
}

export interface DsnInput {
  kind: 'failed' | 'delayed';
  reportingMta: string;
  /** The original envelope sender; the report goes to this address. */
  sender: string;
  arrivalDate: Date;
  lastAttemptDate: Date;
  /** For a delay warning: when we give up. */
  retryUntil?: Date | undefined;
  subject: string;
  originalHeaders: Buffer;
  recipients: ReportedRecipient[];
}

/** The RFC 3463 status in a reply, else the generic one for its class. */
export function statusOf(reply: string, fallbackClass: 4 | 5): string {
  const code = /^([245])\d\d[ -]([245]\.\d{1,3}\.\d{1,3})\b/.exec(reply);
  if (code && code[1] === code[2]![0]) return code[2]!;
  const basic = /^([45])\d\d\b/.exec(reply);
  return basic ? `${basic[1]}.0.0` : `${fallbackClass}.0.0`;
}

/** Header field values here carry addresses and replies: never a line break. */
function oneLine(text: string): string {
  return text.replace(/[\r\n]+/g, ' ').trim();
}

export function buildDsn(input: DsnInput): Buffer {
  const boundary = `mailnest-report-${randomBytes(12).toString('hex')}`;
  const failed = input.kind === 'failed';
  const human = [
    `This is the mail system at ${input.reportingMta}.`,
    '',
    failed
      ? `Your message could not be delivered to ${input.recipients.length === 1 ? 'this recipient' : 'these recipients'}. It has been given up on.`
      : `Your message has not been delivered yet to ${input.recipients.length === 1 ? 'this recipient' : 'these recipients'}. It is still being tried; you do not need to send it again.${input.retryUntil ? ` The last attempt will be around ${rfc5322Date(input.retryUntil)}.` : ''}`,
    '',
    `Subject: ${oneLine(input.subject) || '(no subject)'}`,
    '',
    ...input.recipients.map((r) => `<${r.recipient}>: ${r.remoteMta ? `${r.remoteMta} said: ` : ''}${oneLine(r.diagnostic)}${r.command ? ` (in reply to ${r.command})` : ''}`),
    '',
  ].join('\r\n');
  const perMessage = [`Reporting-MTA: dns; ${input.reportingMta}`, `Arrival-Date: ${rfc5322Date(input.arrivalDate)}`];
  const perRecipient = input.recipients.map((r) =>
    [
      `Final-Recipient: rfc822; ${oneLine(r.recipient)}`,
      `Action: ${input.kind}`,
      `Status: ${r.status}`,
      ...(r.remoteMta ? [`Remote-MTA: dns; ${oneLine(r.remoteMta)}`] : []),
      // RFC 3464 §2.3.6: "smtp" for a server's reply; anything else is our own words.
      `Diagnostic-Code: ${/^[245]\d\d\b/.test(r.diagnostic) ? 'smtp' : 'X-Mailnest'}; ${oneLine(r.diagnostic)}`,
      `Last-Attempt-Date: ${rfc5322Date(input.lastAttemptDate)}`,
      ...(input.retryUntil && !failed ? [`Will-Retry-Until: ${rfc5322Date(input.retryUntil)}`] : []),
    ].join('\r\n'),
  );
  let headers = input.originalHeaders.toString('utf8');
  if (!headers.endsWith('\r\n')) headers += '\r\n';
  const text = [
    `From: Mail Delivery System <MAILER-DAEMON@${input.reportingMta}>`,
    `To: <${input.sender}>`,
    `Subject: ${failed ? 'Undelivered Mail Returned to Sender' : 'Delayed Mail (still being retried)'}`,
    `Date: ${rfc5322Date(input.lastAttemptDate)}`,
    `Message-ID: <${randomBytes(12).toString('hex')}@${input.reportingMta}>`,
    // RFC 3834 §5: an automatic reply, so that auto-responders leave it alone.
    'Auto-Submitted: auto-replied',
    'MIME-Version: 1.0',
    `Content-Type: multipart/report; report-type=delivery-status; boundary="${boundary}"`,
    '',
    `--${boundary}`,
    'Content-Type: text/plain; charset=utf-8',
    'Content-Transfer-Encoding: 8bit',
    'Content-Description: Notification',
    '',
    human,
    `--${boundary}`,
    'Content-Type: message/delivery-status',
    'Content-Description: Delivery report',
    '',
    perMessage.join('\r\n'),
    '',
    perRecipient.join('\r\n\r\n'),
    '',
    `--${boundary}`,
    'Content-Type: text/rfc822-headers',
    'Content-Description: Undelivered message headers',
    '',
    headers.replace(/\r?\n$/, ''),
    '',
    `--${boundary}--`,
    '',
  ].join('\r\n');
  return Buffer.from(text, 'utf8');
}
