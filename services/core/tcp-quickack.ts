// quickAck(socket): turns on TCP_QUICKACK (Linux) on a connection's socket, so
// that the next segment it receives is acknowledged as soon as it is read
// instead of after the delayed-ACK timer (40 ms). The IMAP server calls it after
// each flush of its output, "+" continuation requests included
// (node-imap-server-lite's `quickAck` option):
// a client with Nagle on that sends a literal and its closing CRLF in two
// writes (Python's imaplib, OfflineIMAP) cannot send the CRLF before that ACK.
// Dovecot sets the same option after each write.
//
// Invariants:
// - Node has no API for the option; it is set through the `sockopt` addon
//   (setsockopt(2) on the socket's descriptor). Where the addon cannot be
//   loaded, or the platform is not Linux, or the socket has no descriptor,
//   quickAck does nothing and returns false: the connection works as before,
//   only slower for such clients. It never throws.
// - The option is not sticky: Linux clears it again when the server next
//   answers quickly (it re-enters its interactive mode), which is why it is set
//   after each flush and not once per connection.

import { createRequire } from 'node:module';
import type { Socket } from 'node:net';

/** Linux <netinet/in.h>, <netinet/tcp.h>. */
const IPPROTO_TCP = 6;
const TCP_QUICKACK = 12;

type SockOpt = {
  setsockopt(socket: unknown, level: number, option: number, value: number): void;
  getsockopt(socket: unknown, level: number, option: number): number;
};

let addon: SockOpt | null | undefined;

function load(): SockOpt | null {
  if (addon !== undefined) return addon;
  addon = null;
  if (process.platform !== 'linux') return addon;
  try {
    addon = createRequire(import.meta.url)('sockopt') as SockOpt;
  } catch {
    addon = null;
  }
  return addon;
}

/** The plain TCP socket under a TLSSocket (which wraps it), or the socket itself. */
function tcpSocketOf(socket: Socket): Socket | undefined {
  let current: unknown = socket;
  for (let depth = 0; depth < 3 && current; depth++) {
    const fd = (current as { _handle?: { fd?: unknown } })._handle?.fd;
    if (typeof fd === 'number' && fd >= 0) return current as Socket;
    current = (current as { _parent?: unknown })._parent;
  }
  return undefined;
}

/** Whether quickAck can work in this process (Linux and the addon loaded). */
export function quickAckAvailable(): boolean {
  return load() !== null;
}

/** Sets TCP_QUICKACK on the connection; false when it could not. */
export function quickAck(socket: Socket): boolean {
  const sockopt = load();
  if (!sockopt || socket.destroyed) return false;
  const tcp = tcpSocketOf(socket);
  if (!tcp) return false;
  try {
    sockopt.setsockopt(tcp, IPPROTO_TCP, TCP_QUICKACK, 1);
    return true;
  } catch {
    return false;
  }
}

/**
 * Reads TCP_QUICKACK back: 1 while the socket acknowledges at once (not in the
 * interactive, delayed-ACK mode), 0 otherwise; undefined where it cannot be read.
 * For tests and diagnostics.
 */
export function quickAckState(socket: Socket): number | undefined {
  const sockopt = load();
  const tcp = sockopt && tcpSocketOf(socket);
  if (!sockopt || !tcp) return undefined;
  try {
    return sockopt.getsockopt(tcp, IPPROTO_TCP, TCP_QUICKACK);
  } catch {
    return undefined;
  }
}
