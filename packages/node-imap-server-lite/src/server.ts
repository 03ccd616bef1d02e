// The server: accepts connections and runs one Session per connection.
//
// It owns no port by itself: `handle(socket)` serves a socket the application
// accepted (plain, or a TLSSocket for implicit TLS on 993), and `listen()` is
// a convenience that creates a net.Server or tls.Server doing just that.
// `close()` stops listening, says BYE to every session and destroys the
// sockets still open after the grace period.
//
// Events (also delivered as options.onAuthFailure for the ban service):
//   authFailure (AuthFailureEvent), authSuccess (AuthSuccessEvent),
//   sessionError ({ sessionId, error }): a backend or library bug, logged too.

import { EventEmitter } from 'node:events';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { TLSSocket, type SecureContext } from 'node:tls';
import { resolveOptions, type ImapServerOptions, type ResolvedOptions } from './options.ts';
import { Session } from './session/session.ts';

export interface ListenOptions {
  port: number;
  host?: string;
  /** Implicit TLS (IMAPS): every connection starts with a TLS handshake. */
  tls?: SecureContext;
}

export class ImapServer<User = unknown, Mailbox = unknown> extends EventEmitter {
  readonly options: ResolvedOptions<User, Mailbox>;
  private readonly sessions = new Set<Session>();
  private readonly servers: Server[] = [];
  private closing = false;
  private peakOfClosed = 0;

  constructor(options: ImapServerOptions<User, Mailbox>) {
    super();
    this.options = resolveOptions(options);
  }

  /** Serves one accepted connection. */
  handle(socket: Socket | TLSSocket): Session {
    socket.setNoDelay?.(true);
    const session = new Session(this.options as ResolvedOptions, socket, {
      closed: (s) => {
        this.sessions.delete(s);
        this.peakOfClosed = Math.max(this.peakOfClosed, s.peakBufferedBytes);
      },
      emit: (event, payload) => {
        if (event === 'sessionError' && this.listenerCount('sessionError') === 0) return;
        this.emit(event, payload);
      },
    });
    if (this.closing) {
      socket.destroy();
      return session;
    }
    this.sessions.add(session);
    session.start();
    return session;
  }

  /** Listens on a port; resolves with the bound address (port 0 picks a free one). */
  async listen(options: ListenOptions): Promise<AddressInfo> {
    const context = options.tls;
    const server: Server = createServer((socket) => {
      if (!context) {
        this.handle(socket);
        return;
      }
      // Implicit TLS: the session starts once the handshake is done.
      const secure = new TLSSocket(socket, { isServer: true, secureContext: context });
      const timer = setTimeout(() => secure.destroy(), 30_000);
      secure.once('secure', () => {
        clearTimeout(timer);
        this.handle(secure);
      });
      secure.once('error', () => {
        clearTimeout(timer);
        secure.destroy();
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port, options.host ?? '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.servers.push(server);
    return server.address() as AddressInfo;
  }

  get connections(): number {
    return this.sessions.size;
  }

  /**
   * Memory the sessions hold for their connections (unparsed input, commands
   * parsed ahead, output not yet sent): now in all, and the most any one
   * session has held at once since the server started.
   */
  get buffered(): { bytes: number; peakPerSession: number } {
    let bytes = 0;
    let peak = this.peakOfClosed;
    for (const session of this.sessions) {
      bytes += session.bufferedBytes;
      peak = Math.max(peak, session.peakBufferedBytes);
    }
    return { bytes, peakPerSession: peak };
  }

  /** Stops listening, sends BYE to every session, and destroys what is still open after `graceMs`. */
  async close(graceMs = 1000): Promise<void> {
    this.closing = true;
    const stopped = Promise.all(this.servers.splice(0).map((server) => new Promise<void>((resolve) => server.close(() => resolve()))));
    await Promise.all([...this.sessions].map((session) => session.shutdown('Server shutting down')));
    const timer = setTimeout(() => {
      for (const session of this.sessions) session.destroy();
    }, graceMs);
    await stopped;
    clearTimeout(timer);
    for (const session of this.sessions) session.destroy();
  }
}
