// One message's SMTP client session to one address: connect, greeting, EHLO,
// STARTTLS, AUTH when a relay asks for it, one transaction (MAIL, RCPT for each
// recipient, DATA), then QUIT, or the connection is parked for the next message
// to the same server (session-cache.ts: RSET before it is used again, at most
// N messages, a short idle time). Built on nodemailer's SMTPConnection, which
// speaks the protocol; this file decides what each outcome means for the queue.
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
//
// Reuse (RFC 5321 §4.1.1.5, as Postfix's connection cache): a parked connection
// is sent RSET before the next MAIL; if that fails, or the connection drops
// before the peer has answered anything of the new transaction, nothing was
// taken, and the message goes on a fresh connection without being charged.
// Only a transaction that ended without an error parks its connection.

import { isIP } from 'node:net';
import type { Readable } from 'node:stream';
import SMTPConnection from 'nodemailer/lib/smtp-connection';
import { OpenSession, type SessionCache } from './session-cache.ts';

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
      /** The message went on a connection parked by an earlier one. */
      reused?: boolean;
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

/** Where parked connections wait, and how many the message's destination may hold open. */
export interface SessionReuse {
  cache: SessionCache;
  /** The queue's destination key (routeKey). */
  destination: string;
  /** Connections to the destination allowed open at once (maxPerDestination). */
  limit: number;
}

type CutOff = { connected: 'cut-off'; dotSent: boolean };

/** What one connection did: it never reached the transaction, it was cut off, or it has outcomes. */
type ConnectionResult = SessionResult | { connected: 'tls-failed'; error: string };

function isCutOff(value: unknown): value is CutOff {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && (value as CutOff).connected === 'cut-off';
}

/** The server and settings a connection was opened for: a parked one is reused only for the same. */
export function profileOf(target: SessionTarget, options: SessionOptions): string {
  return JSON.stringify([target.host, target.port, target.name, options.clientName, options.security, options.verify, options.auth?.user ?? null, options.auth?.pass ?? null]);
}

/**
 * Watches the queue's signals for one step of a connection: `stop` cuts it off
 * until the final dot is sent, `abandon` at any time. nodemailer does not call
 * back once close() has run, so every wait races `untilCut`.
 */
function guard(connection: SMTPConnection, options: SessionOptions) {
  let dotSent = false;
  let cutOff = false;
  let cut: (result: CutOff) => void = () => {};
  const whenCut = new Promise<CutOff>((resolve) => (cut = resolve));
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
  if (options.abandon?.aborted) cutOffNow();
  else if (options.stop?.aborted) onStop();
  return {
    untilCut: <T>(step: Promise<T>): Promise<T | CutOff> => Promise.race([step, whenCut]),
    markDotSent: () => {
      dotSent = true;
    },
    get dotSent() {
      return dotSent;
    },
    get cutOff() {
      return cutOff;
    },
    dispose: () => {
      options.stop?.removeEventListener('abort', onStop);
      options.abandon?.removeEventListener('abort', cutOffNow);
    },
  };
}

/** nodemailer's internals for a command it has no pipelined form of (its reset() would clear the next envelope when the reply comes). */
interface CommandQueue {
  _supportedExtensions: string[];
  _sendCommand(command: string): void;
  _responseActions: ((reply: string) => void)[];
}

function supportsPipelining(connection: SMTPConnection): boolean {
  return (connection as unknown as CommandQueue)._supportedExtensions?.includes('PIPELINING') === true;
}

/** Sends RSET without waiting; resolves with whether the reply was 2xx (false too when the connection ends first). */
function pipelineReset(connection: SMTPConnection): Promise<boolean> {
  const queue = connection as unknown as CommandQueue;
  return new Promise<boolean>((resolve) => {
    const onEnd = () => resolve(false);
    connection.once('end', onEnd);
    queue._responseActions.push((reply) => {
      connection.removeListener('end', onEnd);
      resolve(reply.charAt(0) === '2');
    });
    queue._sendCommand('RSET');
  });
}

export async function runSession(target: SessionTarget, options: SessionOptions, transaction: Transaction, reuse?: SessionReuse): Promise<SessionResult> {
  const profile = profileOf(target, options);
  if (reuse) {
    for (let idle = reuse.cache.take(profile); idle; idle = reuse.cache.take(profile)) {
      const done = await transact(idle, options, transaction, true);
      if (done === 'stale' || isCutOff(done)) reuse.cache.release(idle);
      if (done === 'stale') continue;
      if (isCutOff(done)) return done;
      conclude(idle, done.clean, options, reuse);
      return { connected: true, tls: idle.tls, outcomes: done.outcomes, reused: true };
    }
    // A new connection: parked ones of this destination make room, so that the open ones stay within its limit.
    reuse.cache.makeRoom(reuse.destination, reuse.limit);
  }
  const first = await runConnection(target, options, transaction, false, profile, reuse);
  if (first.connected !== 'tls-failed') return first;
  // RFC 7435 §5: opportunistic TLS that fails is no worse than none; a relay that requires TLS is never used without it.
  if (options.security !== 'opportunistic') return { connected: false, error: first.error };
  const second = await runConnection(target, options, transaction, true, profile, reuse);
  if (second.connected === 'tls-failed') return { connected: false, error: second.error };
  if (second.connected === true) return { ...second, tlsFallback: first.error };
  if (second.connected === false) return { connected: false, error: `TLS handshake failed (${first.error}); in plaintext: ${second.error}` };
  return second;
}

/** After a transaction: parked for the next message when it ended cleanly and the limits allow, else QUIT. */
function conclude(session: OpenSession, clean: boolean, options: SessionOptions, reuse: SessionReuse | undefined): void {
  const stopping = options.stop?.aborted || options.abandon?.aborted;
  if (clean && reuse && !stopping && reuse.cache.park(session, reuse.limit)) return;
  reuse?.cache.release(session);
  session.quit();
}

async function runConnection(target: SessionTarget, options: SessionOptions, transaction: Transaction, plaintext: boolean, profile: string, reuse: SessionReuse | undefined): Promise<ConnectionResult> {
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
  const session = new OpenSession(connection, profile, reuse?.destination ?? '');
  const watch = guard(connection, options);
  let ready = false;
  try {
    try {
      const connected = await watch.untilCut(
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
        const loggedIn = await watch.untilCut(new Promise<void>((resolve, reject) => connection.login({ user: options.auth!.user, pass: options.auth!.pass }, (error) => (error ? reject(error) : resolve()))));
        if (loggedIn !== undefined) return loggedIn;
      } catch (error) {
        // A refused login is the owner's setting to fix, not the recipients' fault: keep the mail and retry.
        const reply = `login refused: ${describe(error as SmtpError)}`;
        return { connected: true, tls: connection.secure, outcomes: transaction.recipients.map((recipient) => ({ recipient, result: 'temporary', reply, command: 'AUTH' })) };
      }
    }
    ready = true;
  } finally {
    watch.dispose();
    // Not reaching the transaction: the connection is done with (a cut-off one is closed already).
    if (!ready && !watch.cutOff) session.quit();
  }
  session.tls = connection.secure;
  reuse?.cache.hold(session);
  const done = await transact(session, options, transaction, false);
  // A fresh connection is never 'stale': that needs an earlier message on it.
  if (done === 'stale' || isCutOff(done)) reuse?.cache.release(session);
  if (done === 'stale') return { connected: false, error: 'the connection closed before the transaction' };
  if (isCutOff(done)) return done;
  conclude(session, done.clean, options, reuse);
  return { connected: true, tls: session.tls, outcomes: done.outcomes };
}

/**
 * One transaction on an open connection. `reused`: the connection carried an
 * earlier message, so RSET goes first, and a connection that fails before the
 * peer answered anything of this transaction is 'stale' (closed here; nothing
 * was taken, the caller sends on a fresh one).
 */
async function transact(session: OpenSession, options: SessionOptions, transaction: Transaction, reused: boolean): Promise<{ outcomes: RecipientOutcome[]; clean: boolean } | CutOff | 'stale'> {
  const connection = session.connection;
  const watch = guard(connection, options);
  try {
    if (watch.cutOff) return { connected: 'cut-off', dotSent: false };
    // RFC 5321 §4.1.1.5: whatever the last transaction left is cleared, and the 250 shows the peer is still there.
    // With PIPELINING, RSET leads the command group of the envelope (RFC 2920 §3.1); else its reply comes first.
    let resetReply: Promise<boolean> | undefined;
    const pipelined = reused && supportsPipelining(connection);
    if (reused && !pipelined) {
      try {
        const reset = await watch.untilCut(new Promise<void>((resolve, reject) => connection.reset((error) => (error ? reject(error) : resolve()))));
        if (reset !== undefined) return reset;
      } catch {
        session.close();
        return 'stale';
      }
    }
    const socket = connection._socket;
    if (pipelined && socket) {
      socket.cork();
      resetReply = pipelineReset(connection);
    }
    const message = transaction.message();
    message.once('end', () => {
      // The whole message is with the client, which writes the final dot now: from here on the peer may take it.
      watch.markDotSent();
      const socket = connection._socket;
      if (socket) socket.setTimeout(options.dataTimeoutMs);
    });
    let failure: SmtpError | null = null;
    const outcomes = await watch.untilCut(
      new Promise<RecipientOutcome[]>((resolve) => {
        connection.send({ from: transaction.sender, to: transaction.recipients, size: transaction.size, use8BitMime: true }, message, (error, info) => {
          // With an error, it speaks for every recipient without a refusal of its own.
          failure = error as SmtpError | null;
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
        // The RSET and the envelope leave in one segment.
        if (pipelined && socket) socket.uncork();
      }),
    );
    if (isCutOff(outcomes)) return outcomes;
    session.messages += 1;
    const failed = failure as SmtpError | null;
    // Its reply came before the MAIL's; a refused RSET leaves the outcome as the peer gave it, and the connection is not kept.
    const resetOk = resetReply ? await resetReply : true;
    if (reused && failed && failed.responseCode === undefined && !watch.dotSent) {
      // The peer went away (its idle timeout) before it answered this transaction: nothing was taken.
      message.destroy();
      session.close();
      return 'stale';
    }
    // Back to the ordinary reply timeout for what follows on this connection (RSET, QUIT).
    if (socket) socket.setTimeout(options.socketTimeoutMs);
    return { outcomes, clean: failed === null && resetOk };
  } finally {
    watch.dispose();
  }
}
