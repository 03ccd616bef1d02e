// services/imap: IMAP on 143 + offset (STARTTLS) and 993 + offset (implicit
// TLS), node-imap-server-lite over the mail store. See README.md.

import { createServer, type Server } from 'node:net';
import { createSecureContext } from 'node:tls';
import { ImapServer } from 'node-imap-server-lite';
import type { AuthEvents } from '../core/auth-events.ts';
import { ConnectionLimits, defaultConnectionLimits, type ConnectionLimitSettings } from '../core/connection-limits.ts';
import { isLoopback } from '../core/connection-log.ts';
import { LimitedAccept } from '../core/limited-accept.ts';
import { closeAll, listenAll } from '../core/listen.ts';
import type { Logger } from '../core/log.ts';
import type { Service, ServiceHealth, ServiceState } from '../core/service.ts';
import { quickAck, quickAckAvailable } from '../core/tcp-quickack.ts';
import type { Store } from '../store/index.ts';
import type { BodyAnalyzer } from '../store/receive.ts';
import { StoreBackend, type ImapUser, type MailboxHandle } from './backend.ts';

export interface ImapOptions {
  addresses: readonly string[];
  /** 143 + offset: plain, with STARTTLS. */
  port: number;
  /** 993 + offset: implicit TLS. */
  tlsPort: number;
  hostname: string;
  tls: { key: string; cert: string };
  maxMessageBytes: number;
  store: Store;
  createAnalyzer: () => BodyAnalyzer;
  authEvents: AuthEvents;
  logger: Logger;
  /** Delay before a failed login is answered (the library's default is 2 s). */
  authFailureDelayMs?: number;
  /** Open connections per client address and in all, over 143 and 993 together. */
  connectionLimits?: ConnectionLimitSettings;
}

export class ImapService implements Service {
  readonly name = 'imap';
  private state: ServiceState = 'stopped';
  private servers: Server[] = [];
  private listening: string[] = [];
  private ports: Record<string, number> = {};
  readonly server: ImapServer<ImapUser, MailboxHandle>;
  readonly limits: ConnectionLimits;
  private readonly acceptor: LimitedAccept;

  constructor(private readonly options: ImapOptions) {
    const secureContext = createSecureContext({ key: options.tls.key, cert: options.tls.cert, minVersion: 'TLSv1.2' });
    this.limits = new ConnectionLimits(options.connectionLimits ?? defaultConnectionLimits);
    this.acceptor = new LimitedAccept({
      limits: this.limits,
      secureContext,
      logger: options.logger,
      plainTls: 'starttls',
      // RFC 3501 §7.1.5: BYE, then the connection closes.
      refusalLine: (reason) => `* BYE ${reason === 'per-address' ? 'Too many connections from your address; close some and try again' : 'Too many connections to this server; try again later'}\r\n`,
      serve: (socket) => void this.server.handle(socket),
    });
    this.server = new ImapServer<ImapUser, MailboxHandle>({
      backend: new StoreBackend({
        store: options.store,
        createAnalyzer: options.createAnalyzer,
        maxMessageBytes: options.maxMessageBytes,
        logger: options.logger,
        onAuthFailure: (event) => options.authEvents.failed(event),
      }),
      serverName: options.hostname,
      id: { name: 'Mailnest', vendor: 'Mailnest' },
      tls: secureContext,
      appendLimit: options.maxMessageBytes,
      // The supervisor's greeting probe comes from loopback (firmware/probes.ts).
      mayBeProbe: isLoopback,
      // APPEND from clients that send the literal and its CRLF apart (../core/tcp-quickack.ts).
      quickAck: (socket) => void quickAck(socket),
      logger: options.logger,
      ...(options.authFailureDelayMs !== undefined ? { authFailureDelayMs: options.authFailureDelayMs } : {}),
    });
  }

  async start(): Promise<void> {
    this.state = 'starting';
    if (process.platform === 'linux' && !quickAckAvailable()) {
      this.options.logger.warn('the sockopt addon did not load: an APPEND from a client that sends the literal and its CRLF apart waits 40 ms for the delayed ACK');
    }
    try {
      const plain = await listenAll(() => createServer((socket) => this.acceptor.accept(socket, false)), this.options.addresses, this.options.port, this.options.logger, 'imap');
      this.servers.push(...plain.servers);
      // 993 is accepted as plain TCP and wrapped here, so that the connection
      // limits apply before any TLS handshake is done for a stranger.
      const secure = await listenAll(
        () => createServer((socket) => this.acceptor.accept(socket, true)),
        this.options.addresses,
        this.options.tlsPort,
        this.options.logger,
        'imaps',
      );
      this.servers.push(...secure.servers);
      this.listening = [...plain.listening, ...secure.listening];
      const portOf = (addr: string) => Number(addr.slice(addr.lastIndexOf(':') + 1));
      this.ports = { imap: portOf(plain.listening[0]!), imaps: portOf(secure.listening[0]!) };
    } catch (error) {
      this.state = 'failed';
      await closeAll(this.servers, 0);
      throw error;
    }
    this.state = 'running';
    for (const addr of this.listening) this.options.logger.info('listening', { addr, tls: addr.endsWith(`:${this.ports.imaps}`) ? 'implicit' : 'starttls' });
  }

  /** Stops accepting, says BYE to every session, and closes what is still open after a short grace. */
  async stop(): Promise<void> {
    if (this.state === 'stopped') return;
    this.state = 'stopping';
    const closed = closeAll(this.servers, 0);
    await this.server.close(2000);
    await closed;
    this.state = 'stopped';
  }

  health(): ServiceHealth {
    return { state: this.state, listening: this.listening, ports: this.ports, connections: this.server.connections, refusedConnections: this.acceptor.refused };
  }
}
