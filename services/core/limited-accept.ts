// Accepting a TCP connection under the connection limits, for the services
// that own their sockets (IMAP on 143/993, POP3 on 110/995): the connection
// is counted first, then served, after the TLS handshake on an implicit-TLS
// port. SMTP gets the same limits through smtp-server's onConnect.
//
// Invariants a reader must keep:
// - The slot is given back when the TCP socket closes, whatever closed it
//   (the release is idempotent).
// - A refused client costs no TLS handshake: on an implicit-TLS port it is
//   closed at once; on a plain port it gets one line saying why, then the
//   connection closes.
// - A handshake that does not finish within `handshakeTimeoutMs` is cut off.

import type { Socket } from 'node:net';
import { TLSSocket, type SecureContext } from 'node:tls';
import { refusalLogThrottle, type Admission, type ConnectionLimits } from './connection-limits.ts';
import type { Logger } from './log.ts';

const handshakeTimeoutMs = 30_000;

export interface LimitedAcceptOptions {
  limits: ConnectionLimits;
  secureContext: SecureContext;
  logger: Logger;
  /** How the plain port's TLS is named in the refusal log line (`starttls`, `stls`). */
  plainTls: string;
  /** The one line a refused client on the plain port reads, CRLF included. */
  refusalLine: (reason: Extract<Admission, { admitted: false }>['reason']) => string;
  /** Serves an admitted connection (`secure`: the TLS handshake of an implicit-TLS port is done). */
  serve: (socket: Socket, secure: boolean) => void;
}

export class LimitedAccept {
  /** Connections refused so far (for /healthz). */
  refused = 0;
  private readonly shouldLogRefusal = refusalLogThrottle();

  constructor(private readonly options: LimitedAcceptOptions) {}

  /** A new TCP connection on a plain port, or (`implicitTls`) on one where TLS starts at once. */
  accept(socket: Socket, implicitTls: boolean): void {
    socket.on('error', () => {});
    const admission = this.options.limits.admit(socket.remoteAddress);
    if (!admission.admitted) return this.refuse(socket, admission, implicitTls);
    socket.once('close', admission.release);
    if (!implicitTls) return this.options.serve(socket, false);
    const secure = new TLSSocket(socket, { isServer: true, secureContext: this.options.secureContext });
    const timer = setTimeout(() => secure.destroy(), handshakeTimeoutMs);
    timer.unref();
    let established = false;
    secure.once('secure', () => {
      established = true;
      clearTimeout(timer);
      this.options.serve(secure, true);
    });
    secure.on('error', (error) => {
      if (established) return;
      clearTimeout(timer);
      this.options.logger.debug('tls handshake failed', { client: socket.remoteAddress, error });
      secure.destroy();
    });
  }

  private refuse(socket: Socket, admission: Extract<Admission, { admitted: false }>, implicitTls: boolean): void {
    this.refused += 1;
    if (this.shouldLogRefusal(admission.key)) {
      this.options.logger.info('connection refused', { client: socket.remoteAddress, reason: admission.reason, limit: admission.limit, tls: implicitTls ? 'implicit' : this.options.plainTls });
    }
    if (implicitTls) {
      socket.destroy();
      return;
    }
    socket.end(this.options.refusalLine(admission.reason));
    setTimeout(() => socket.destroy(), 2000).unref();
  }
}
