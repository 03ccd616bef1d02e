// One SMTP client session to one address: connect, greeting, EHLO, STARTTLS,
// AUTH when a relay asks for it, one transaction (MAIL, RCPT for each
// recipient, DATA), QUIT. Built on nodemailer's SMTPConnection, which speaks
// the protocol; this file decides what each outcome means for the queue.
//
// RFC 5321 §4.2.1 / §4.5.4.1: a reply's first digit decides: 2 sent, 4 try
// again later, 5 give up. A session that fails before the transaction starts
// (no connection, a bad greeting, a failed TLS upgrade) says nothing about the
// recipients: the caller tries the next address.

import { isIP } from 'node:net';
import type { Readable } from 'node:stream';
import SMTPConnection from 'nodemailer/lib/smtp-connection';

export interface SessionTarget {
  /** What to connect to: an IP address, or a host name for the system resolver. */
  host: string;
  port: number;
  /** The name for TLS (SNI, certificate) and reports, when `host` is an address. */
  name: string;
}

export interface SessionOptions {
  /** Our name, for EHLO. */
  clientName: string;
  /** `opportunistic`: STARTTLS when offered, any certificate (RFC 7435); `starttls`: STARTTLS required; `tls`: implicit TLS. */
  security: 'opportunistic' | 'starttls' | 'tls';
  /** Check the certificate (a relay); opportunistic TLS never does. */
  verify: boolean;
  auth?: { user: string; pass: string } | undefined;
  connectTimeoutMs: number;
  socketTimeoutMs: number;
}

export interface Transaction {
  sender: string;
  recipients: string[];
  size: number;
  message: () => Readable;
}

export interface RecipientOutcome {
  recipient: string;
  result: 'sent' | 'temporary' | 'permanent';
  /** The server's reply, or what went wrong. */
  reply: string;
  /** In reply to which command (RFC 3464 wants it in the report). */
  command?: string | undefined;
}

export type SessionResult =
  | { connected: false; error: string }
  | { connected: true; outcomes: RecipientOutcome[]; tls: boolean };

interface SmtpError extends Error {
  code?: string;
  responseCode?: number;
  response?: string;
  command?: string;
  recipient?: string;
  rejectedErrors?: SmtpError[];
}

function describe(error: SmtpError): string {
  if (error.response) return error.response.replace(/\r?\n/g, ' ').trim();
  return error.message;
}

function classify(code: number | undefined): 'temporary' | 'permanent' {
  return code !== undefined && code >= 500 && code < 600 ? 'permanent' : 'temporary';
}

export async function runSession(target: SessionTarget, options: SessionOptions, transaction: Transaction): Promise<SessionResult> {
  // RFC 6066 §3: SNI carries host names only.
  const servername = isIP(target.name) === 0 ? target.name : undefined;
  const connection = new SMTPConnection({
    host: target.host,
    port: target.port,
    secure: options.security === 'tls',
    requireTLS: options.security === 'starttls',
    opportunisticTLS: options.security === 'opportunistic',
    name: options.clientName,
    servername,
    tls: { rejectUnauthorized: options.security !== 'opportunistic' && options.verify, servername, minVersion: 'TLSv1.2' },
    connectionTimeout: options.connectTimeoutMs,
    greetingTimeout: options.connectTimeoutMs,
    socketTimeout: options.socketTimeoutMs,
    logger: false,
  });
  // Errors also arrive as events; without a listener one would end the process.
  connection.on('error', () => {});
  try {
    try {
      await new Promise<void>((resolve, reject) => {
        connection.once('error', reject);
        connection.connect(() => {
          connection.removeListener('error', reject);
          resolve();
        });
      });
    } catch (error) {
      // No connection, a refusing greeting (RFC 5321 §3.1) or a failed TLS upgrade: the caller tries the next address.
      return { connected: false, error: describe(error as SmtpError) };
    }
    if (options.auth) {
      try {
        await new Promise<void>((resolve, reject) => connection.login({ user: options.auth!.user, pass: options.auth!.pass }, (error) => (error ? reject(error) : resolve())));
      } catch (error) {
        // A refused login is the owner's setting to fix, not the recipients' fault: keep the mail and retry.
        const reply = `login refused: ${describe(error as SmtpError)}`;
        return { connected: true, tls: connection.secure, outcomes: transaction.recipients.map((recipient) => ({ recipient, result: 'temporary', reply, command: 'AUTH' })) };
      }
    }
    const outcomes = await new Promise<RecipientOutcome[]>((resolve) => {
      connection.send(
        { from: transaction.sender, to: transaction.recipients, size: transaction.size, use8BitMime: true },
        transaction.message(),
        (error, info) => {
          // With an error, it speaks for every recipient without a refusal of its own.
          const failure = error as SmtpError | null;
          const refusals = ((failure ? failure.rejectedErrors : info.rejectedErrors) ?? []) as SmtpError[];
          const rejected = new Map(refusals.map((r) => [r.recipient ?? '', r]));
          resolve(
            transaction.recipients.map((recipient): RecipientOutcome => {
              const own = rejected.get(recipient) ?? failure;
              if (own) return { recipient, result: classify(own.responseCode), reply: describe(own), command: own.command };
              return { recipient, result: 'sent', reply: String(info.response ?? '').trim(), command: 'DATA' };
            }),
          );
        },
      );
    });
    return { connected: true, tls: connection.secure, outcomes };
  } finally {
    connection.quit();
    // quit() waits for the peer's 221; a peer that never answers is cut off.
    setTimeout(() => connection.close(), 5000).unref();
  }
}
