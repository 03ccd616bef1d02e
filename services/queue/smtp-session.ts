// One SMTP client session to one address: connect, greeting, EHLO, STARTTLS,
// AUTH when a relay asks for it, one transaction (MAIL, RCPT for each
// recipient, DATA), QUIT. Built on nodemailer's SMTPConnection, which speaks
// the protocol; this file decides what each outcome means for the queue.
//
// RFC 5321 §4.2.1 / §4.5.4.1: a reply's first digit decides: 2 sent, 4 try
// again later, 5 give up. A session that fails before the transaction starts
// (no connection, a bad greeting, a failed TLS upgrade) says nothing about the
// recipients: the caller tries the next address.
//
// RFC 5321 §4.5.3.2: the socket timeout (`socketTimeoutMs`, 5 minutes) covers
// the greeting, MAIL, RCPT, DATA and each data block; the wait for the reply to
// the final dot has its own, longer one (§4.5.3.2.6, `dataTimeoutMs`, 10
// minutes), set on the socket once the whole message has been handed over.
//
// RFC 7435 §5 (as Postfix's `may` level): when an MX offers STARTTLS and the
// handshake fails, the same host is tried once more in plaintext. A relay
// whose security is `starttls` or `tls` never falls back.
//
// Stopping: `stop` cuts off a session that has not yet sent the final dot (the
// peer cannot have taken the message; nothing is known about the recipients);
// after the dot, only `abandon` cuts it off, and then the peer may have taken it.

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
  /** RFC 5321 §4.5.3.2.6: the wait for the reply to the final dot. */
  dataTimeoutMs: number;
  /** Aborted when the queue stops: cuts the session off unless the final dot has been sent. */
  stop?: AbortSignal | undefined;
  /** Aborted when the queue will not wait any longer: cuts the session off, even while it waits for the reply to the dot. */
  abandon?: AbortSignal | undefined;
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
  | {
      connected: true;
      outcomes: RecipientOutcome[];
      tls: boolean;
      /** The STARTTLS handshake failed (this error) and the session went on in plaintext on a new connection. */
      tlsFallback?: string;
    }
  /** Stopped by `stop` or `abandon`; `dotSent` says whether the peer may have taken the message. */
  | { connected: 'cut-off'; dotSent: boolean };

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

/** What one connection did: it never reached the transaction, it was cut off, or it has outcomes. */
type ConnectionResult = SessionResult | { connected: 'tls-failed'; error: string };

export async function runSession(target: SessionTarget, options: SessionOptions, transaction: Transaction): Promise<SessionResult> {
  const first = await runConnection(target, options, transaction, false);
  if (first.connected !== 'tls-failed') return first;
  // RFC 7435 §5: opportunistic TLS that fails is no worse than none; a relay that requires TLS is never used without it.
  if (options.security !== 'opportunistic') return { connected: false, error: first.error };
  const second = await runConnection(target, options, transaction, true);
  if (second.connected === 'tls-failed') return { connected: false, error: second.error };
  if (second.connected === true) return { ...second, tlsFallback: first.error };
  if (second.connected === false) return { connected: false, error: `TLS handshake failed (${first.error}); in plaintext: ${second.error}` };
  return second;
}

async function runConnection(target: SessionTarget, options: SessionOptions, transaction: Transaction, plaintext: boolean): Promise<ConnectionResult> {
  if (options.stop?.aborted || options.abandon?.aborted) return { connected: 'cut-off', dotSent: false };
  // RFC 6066 §3: SNI carries host names only.
  const servername = isIP(target.name) === 0 ? target.name : undefined;
  const connection = new SMTPConnection({
    host: target.host,
    port: target.port,
    secure: options.security === 'tls',
    requireTLS: options.security === 'starttls',
    opportunisticTLS: options.security === 'opportunistic' && !plaintext,
    ignoreTLS: plaintext,
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
  let dotSent = false;
  let cutOff = false;
  let cut: (result: ConnectionResult) => void = () => {};
  const whenCut = new Promise<ConnectionResult>((resolve) => (cut = resolve));
  const cutOffNow = () => {
    if (cutOff) return;
    cutOff = true;
    connection.close();
    cut({ connected: 'cut-off', dotSent });
  };
  const onStop = () => {
    if (!dotSent) cutOffNow();
  };
  options.stop?.addEventListener('abort', onStop);
  options.abandon?.addEventListener('abort', cutOffNow);
  // nodemailer does not call back once close() has run, so every wait also ends when the session is cut off.
  const untilCut = <T>(step: Promise<T>): Promise<T | ConnectionResult> => Promise.race([step, whenCut]);
  try {
    try {
      const connected = await untilCut(
        new Promise<void>((resolve, reject) => {
          connection.once('error', reject);
          connection.connect(() => {
            connection.removeListener('error', reject);
            resolve();
          });
        }),
      );
      if (connected !== undefined) return connected;
    } catch (error) {
      // A handshake that failed after the peer took STARTTLS (the error comes while upgrading): runSession decides what next.
      if (connection.upgrading && !connection.secure) return { connected: 'tls-failed', error: describe(error as SmtpError) };
      // No connection, a refusing greeting (RFC 5321 §3.1) or a failed TLS upgrade: the caller tries the next address.
      return { connected: false, error: describe(error as SmtpError) };
    }
    if (options.auth) {
      try {
        const loggedIn = await untilCut(new Promise<void>((resolve, reject) => connection.login({ user: options.auth!.user, pass: options.auth!.pass }, (error) => (error ? reject(error) : resolve()))));
        if (loggedIn !== undefined) return loggedIn;
      } catch (error) {
        // A refused login is the owner's setting to fix, not the recipients' fault: keep the mail and retry.
        const reply = `login refused: ${describe(error as SmtpError)}`;
        return { connected: true, tls: connection.secure, outcomes: transaction.recipients.map((recipient) => ({ recipient, result: 'temporary', reply, command: 'AUTH' })) };
      }
    }
    const message = transaction.message();
    message.once('end', () => {
      // The whole message is with the client, which writes the final dot now: from here on the peer may take it.
      dotSent = true;
      const socket = connection._socket;
      if (socket) socket.setTimeout(options.dataTimeoutMs);
    });
    const outcomes = await untilCut(
      new Promise<RecipientOutcome[]>((resolve) => {
        connection.send({ from: transaction.sender, to: transaction.recipients, size: transaction.size, use8BitMime: true }, message, (error, info) => {
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
        });
      }),
    );
    if (!Array.isArray(outcomes)) return outcomes;
    return { connected: true, tls: connection.secure, outcomes };
  } finally {
    options.stop?.removeEventListener('abort', onStop);
    options.abandon?.removeEventListener('abort', cutOffNow);
    if (!cutOff) {
      connection.quit();
      // quit() waits for the peer's 221; a peer that never answers is cut off.
      setTimeout(() => connection.close(), 5000).unref();
    }
  }
}
