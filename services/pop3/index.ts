// services/pop3: POP3 on 110 + offset (STLS) and 995 + offset (implicit TLS).
// See README.md.

import { createServer, type Server, type Socket } from 'node:net';
import { createSecureContext, type SecureContext } from 'node:tls';
import type { AuthEvents } from '../core/auth-events.ts';
import { ConnectionLimits, defaultConnectionLimits, type ConnectionLimitSettings } from '../core/connection-limits.ts';
import { LimitedAccept } from '../core/limited-accept.ts';
import { closeAll, listenAll } from '../core/listen.ts';
import type { Logger } from '../core/log.ts';
import type { Service, ServiceHealth, ServiceState } from '../core/service.ts';
import type { Store } from '../store/index.ts';
import { Pop3Session } from './session.ts';

export interface Pop3Options {
  addresses: readonly string[];
  port: number;
  tlsPort: number;
  hostname: string;
  tls: { key: string; cert: string };
  store: Store;
  authEvents: AuthEvents;
  logger: Logger;
  authFailureDelayMs?: number;
  idleTimeoutMs?: number;
  /** Open connections per client address and in all, over 110 and 995 together. */
  connectionLimits?: ConnectionLimitSettings;
}

export class Pop3Service implements Service {
  readonly name = 'pop3';
  private state: ServiceState = 'stopped';
  private servers: Server[] = [];
  private listening: string[] = [];
  private ports: Record<string, number> = {};
  private readonly sessions = new Set<Pop3Session>();
  private readonly locks = new Set<number>();
  private readonly secureContext: SecureContext;
  readonly limits: ConnectionLimits;
  private readonly acceptor: LimitedAccept;
  private peakOfClosed = 0;

  constructor(private readonly options: Pop3Options) {
    this.secureContext = createSecureContext({ key: options.tls.key, cert: options.tls.cert, minVersion: 'TLSv1.2' });
    this.limits = new ConnectionLimits(options.connectionLimits ?? defaultConnectionLimits);
    this.acceptor = new LimitedAccept({
      limits: this.limits,
      secureContext: this.secureContext,
      logger: options.logger,
      plainTls: 'stls',
      // RFC 2449 §8, RFC 3206 SYS/TEMP: try again later.
      refusalLine: (reason) => `-ERR [SYS/TEMP] ${reason === 'per-address' ? 'Too many connections from your address; close some and try again later' : 'Too many connections to this server; try again later'}\r\n`,
      serve: (socket, secure) => this.accept(socket, secure),
    });
  }

  private accept(socket: Socket, secure: boolean): void {
    const session = new Pop3Session(
      socket,
      {
        store: this.options.store,
        logger: this.options.logger,
        hostname: this.options.hostname,
        secureContext: this.secureContext,
        locks: this.locks,
        authFailureDelayMs: this.options.authFailureDelayMs ?? 2000,
        idleTimeoutMs: this.options.idleTimeoutMs ?? 10 * 60 * 1000,
        onAuthFailure: (username, remoteAddress, reason) => this.options.authEvents.failed({ service: 'pop3', username, remoteAddress, reason }),
        closed: (s) => {
          this.sessions.delete(s);
          this.peakOfClosed = Math.max(this.peakOfClosed, s.peakBufferedBytes);
        },
      },
      secure,
    );
    this.sessions.add(session);
    session.start();
  }

  async start(): Promise<void> {
    this.state = 'starting';
    try {
      const plain = await listenAll(() => createServer((socket) => this.acceptor.accept(socket, false)), this.options.addresses, this.options.port, this.options.logger, 'pop3');
      this.servers.push(...plain.servers);
      // 995 is accepted as plain TCP and wrapped here, so that the connection
      // limits apply before any TLS handshake is done for a stranger.
      const secure = await listenAll(
        () => createServer((socket) => this.acceptor.accept(socket, true)),
        this.options.addresses,
        this.options.tlsPort,
        this.options.logger,
        'pop3s',
      );
      this.servers.push(...secure.servers);
      this.listening = [...plain.listening, ...secure.listening];
      const portOf = (addr: string) => Number(addr.slice(addr.lastIndexOf(':') + 1));
      this.ports = { pop3: portOf(plain.listening[0]!), pop3s: portOf(secure.listening[0]!) };
    } catch (error) {
      this.state = 'failed';
      await closeAll(this.servers, 0);
      throw error;
    }
    this.state = 'running';
    for (const addr of this.listening) this.options.logger.info('listening', { addr, tls: addr.endsWith(`:${this.ports.pop3s}`) ? 'implicit' : 'stls' });
  }

  /** Stops accepting and closes every session; sessions not at QUIT delete nothing. */
  async stop(): Promise<void> {
    if (this.state === 'stopped') return;
    this.state = 'stopping';
    const closed = closeAll(this.servers, 0);
    for (const session of [...this.sessions]) session.close('server stopping');
    await closed;
    this.state = 'stopped';
  }

  /** What the sessions hold for their connections now, and the most one session has held at once. */
  get buffered(): { bytes: number; peakPerSession: number } {
    let bytes = 0;
    let peak = this.peakOfClosed;
    for (const session of this.sessions) {
      bytes += session.bufferedBytes;
      peak = Math.max(peak, session.peakBufferedBytes);
    }
    return { bytes, peakPerSession: peak };
  }

  health(): ServiceHealth {
    return { state: this.state, listening: this.listening, ports: this.ports, sessions: this.sessions.size, refusedConnections: this.acceptor.refused };
  }
}
