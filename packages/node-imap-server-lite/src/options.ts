// Server options, their defaults, and the logger and event hooks the
// application plugs in. Every limit that protects memory or time is here,
// with the value it has when the application says nothing.

import type { Socket } from 'node:net';
import type { SecureContext, TLSSocket } from 'node:tls';
import type { ImapBackend } from './backend.ts';

export interface ImapLogger {
  debug?(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

export interface AuthFailureEvent {
  sessionId: string;
  remoteAddress: string;
  username: string;
  mechanism: 'LOGIN' | 'PLAIN';
  /** Failures so far on this connection, this one included. */
  failures: number;
}

export interface AuthSuccessEvent {
  sessionId: string;
  remoteAddress: string;
  username: string;
  mechanism: 'LOGIN' | 'PLAIN';
}

export interface ImapServerOptions<User = unknown, Mailbox = unknown> {
  backend: ImapBackend<User, Mailbox>;
  /** Hierarchy separator of mailbox names (one character). */
  separator?: string;
  /** Host name in the greeting. */
  serverName?: string;
  /** Fields of the ID response (RFC 2971); `name` defaults to "node-imap-server-lite". */
  id?: Record<string, string>;
  /** For STARTTLS on a plain port. Without it STARTTLS is not offered. Implicit TLS: pass a TLSSocket to `handle()`. */
  tls?: SecureContext;
  /**
   * Whether a connection counts as secure: LOGIN and AUTHENTICATE are offered
   * only on secure connections (LOGINDISABLED otherwise). Default: TLS, or a
   * loopback peer.
   */
  isSecure?: (socket: Socket | TLSSocket, encrypted: boolean) => boolean;
  /** Octets in one command line. Default 64 KiB. */
  maxLineLength?: number;
  /** Octets in one literal other than an APPEND message. Default 1 MiB. */
  maxLiteralSize?: number;
  /** Octets in one command, literals included (APPEND's message excluded). Default 2 MiB. */
  maxCommandSize?: number;
  /** Octets in one APPEND message (APPENDLIMIT). Default 50 MiB. */
  appendLimit?: number;
  /** Commands parsed ahead of execution. Default 32. */
  maxPendingCommands?: number;
  /** Octets of commands parsed ahead of execution, after login. Default maxPendingCommands × maxCommandSize (the count alone bounds it). */
  maxPendingBytes?: number;
  /**
   * Limits before login, where anyone may connect: small, so that a stranger's
   * connection holds a few KiB. Literals are capped at 4096 octets and
   * LITERAL- is advertised (RFC 7888 §5); APPEND messages are not streamed.
   */
  preAuth?: PreAuthLimits;
  /** Milliseconds an authenticated connection may stay silent, IDLE included. Default 30 min (RFC 3501 §5.4) plus jitter. */
  idleTimeoutMs?: number;
  /** Random extra to the idle timeout, so client and server do not time out at the same instant. Default 60 s. */
  idleTimeoutJitterMs?: number;
  /** Milliseconds before login. Default 60 s. */
  preAuthTimeoutMs?: number;
  /** Delay before answering a failed login. Default 2 s. */
  authFailureDelayMs?: number;
  /** Failed logins on one connection before it is closed. Default 5. */
  maxAuthFailures?: number;
  /** Advertise UTF8=ACCEPT (RFC 6855). Default true. */
  utf8Accept?: boolean;
  /**
   * Every connection logs `connect` (cid, client, tls) and `disconnect` (cid,
   * client, user, ms). A connection this says may be a health probe (e.g. one
   * from loopback, where a supervisor checks the greeting) holds its connect line
   * back until it sends a command other than LOGOUT; if it never does, both lines
   * are logged at debug. Default: no connection is.
   */
  mayBeProbe?: (remoteAddress: string) => boolean;
  /**
   * Called with the connection's socket after each flush of output (so right
   * after each continuation request, "+", RFC 3501 §7.5, when the client is
   * about to send a literal). A client with Nagle's algorithm on that writes the literal and its
   * closing CRLF in two sends (Python's imaplib) holds the CRLF back until the
   * literal is acknowledged; having just sent "+", the server's TCP is in the
   * "interactive" (pingpong) mode where it delays that ACK, 40 ms on Linux. The
   * application can turn on TCP_QUICKACK here, which Node has no API for (as
   * Dovecot does after each write): the literal is then ACKed as soon as it is
   * read, and the CRLF follows at once. Errors thrown are ignored. Default: none.
   */
  quickAck?: (socket: Socket | TLSSocket) => void;
  logger?: ImapLogger;
  /** Called for every failed login (after the event), e.g. by a ban service. */
  onAuthFailure?: (event: AuthFailureEvent) => void;
}

export interface PreAuthLimits {
  /** Octets in one command line before login. Default 36 KiB: room for the largest ID (RFC 2971 §3.3: 30 fields of 1024 octets). */
  maxLineLength?: number;
  /** Octets in one command before login, literals included. Default 40 KiB. */
  maxCommandSize?: number;
  /** Octets of commands parsed ahead of execution before login. Default 8 KiB. */
  maxPendingBytes?: number;
  /** Octets of responses queued for a client that does not read, before login. Default 16 KiB. */
  maxQueuedOutput?: number;
}

/** RFC 7888 §5: the largest non-synchronizing literal LITERAL- allows, and the literal limit before login. */
export const literalMinusLimit = 4096;

export interface ResolvedOptions<User = unknown, Mailbox = unknown> {
  backend: ImapBackend<User, Mailbox>;
  separator: string;
  serverName: string;
  id: Record<string, string>;
  tls: SecureContext | undefined;
  isSecure: (socket: Socket | TLSSocket, encrypted: boolean) => boolean;
  maxLineLength: number;
  maxLiteralSize: number;
  maxCommandSize: number;
  appendLimit: number;
  maxPendingCommands: number;
  maxPendingBytes: number;
  preAuth: Required<PreAuthLimits>;
  idleTimeoutMs: number;
  idleTimeoutJitterMs: number;
  preAuthTimeoutMs: number;
  authFailureDelayMs: number;
  maxAuthFailures: number;
  utf8Accept: boolean;
  mayBeProbe: (remoteAddress: string) => boolean;
  quickAck: ((socket: Socket | TLSSocket) => void) | undefined;
  logger: ImapLogger;
  onAuthFailure: ((event: AuthFailureEvent) => void) | undefined;
}

const silentLogger: ImapLogger = { info() {}, warn() {}, error() {} };

function isLoopback(address: string | undefined): boolean {
  if (!address) return false;
  return address === '::1' || address.startsWith('127.') || address.startsWith('::ffff:127.');
}

function defaultIsSecure(socket: Socket | TLSSocket, encrypted: boolean): boolean {
  return encrypted || isLoopback(socket.remoteAddress);
}

function positive(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value < 0) throw new TypeError(`node-imap-server-lite: option ${name} must be a non-negative number, not ${value}`);
  return value;
}

export function resolveOptions<User, Mailbox>(options: ImapServerOptions<User, Mailbox>): ResolvedOptions<User, Mailbox> {
  if (!options.backend) throw new TypeError('node-imap-server-lite: the backend option is required');
  const separator = options.separator ?? '/';
  const maxCommandSize = positive('maxCommandSize', options.maxCommandSize, 2 * 1024 * 1024);
  const maxPendingCommands = Math.max(1, positive('maxPendingCommands', options.maxPendingCommands, 32));
  if (separator.length !== 1 || /[\s"\\*%(){}\]\x00-\x1f\x7f]/.test(separator)) throw new TypeError(`node-imap-server-lite: the separator must be one plain character, not ${JSON.stringify(separator)}`);
  return {
    backend: options.backend,
    separator,
    serverName: options.serverName ?? 'localhost',
    id: { name: 'node-imap-server-lite', ...options.id },
    tls: options.tls,
    isSecure: options.isSecure ?? defaultIsSecure,
    maxLineLength: positive('maxLineLength', options.maxLineLength, 64 * 1024),
    maxLiteralSize: positive('maxLiteralSize', options.maxLiteralSize, 1024 * 1024),
    maxCommandSize,
    appendLimit: positive('appendLimit', options.appendLimit, 50 * 1024 * 1024),
    maxPendingCommands,
    maxPendingBytes: positive('maxPendingBytes', options.maxPendingBytes, maxPendingCommands * maxCommandSize),
    preAuth: {
      maxLineLength: positive('preAuth.maxLineLength', options.preAuth?.maxLineLength, 36 * 1024),
      maxCommandSize: Math.max(2 * literalMinusLimit, positive('preAuth.maxCommandSize', options.preAuth?.maxCommandSize, 40 * 1024)),
      maxPendingBytes: positive('preAuth.maxPendingBytes', options.preAuth?.maxPendingBytes, 8 * 1024),
      maxQueuedOutput: positive('preAuth.maxQueuedOutput', options.preAuth?.maxQueuedOutput, 16 * 1024),
    },
    idleTimeoutMs: positive('idleTimeoutMs', options.idleTimeoutMs, 30 * 60 * 1000),
    idleTimeoutJitterMs: positive('idleTimeoutJitterMs', options.idleTimeoutJitterMs, 60 * 1000),
    preAuthTimeoutMs: positive('preAuthTimeoutMs', options.preAuthTimeoutMs, 60 * 1000),
    authFailureDelayMs: positive('authFailureDelayMs', options.authFailureDelayMs, 2000),
    maxAuthFailures: Math.max(1, positive('maxAuthFailures', options.maxAuthFailures, 5)),
    utf8Accept: options.utf8Accept ?? true,
    mayBeProbe: options.mayBeProbe ?? (() => false),
    quickAck: options.quickAck,
    logger: options.logger ?? silentLogger,
    onAuthFailure: options.onAuthFailure,
  };
}
