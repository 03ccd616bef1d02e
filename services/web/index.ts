// services/web: HTTPS on 443 + offset (the box certificate) and HTTP on
// 80 + offset, which redirects to HTTPS but for /healthz, ACME challenges and
// mail-client autoconfig. See README.md.

import { randomBytes, X509Certificate } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { Socket } from 'node:net';
import type { Config } from '../config/index.ts';
import type { AuthEvents } from '../core/auth-events.ts';
import { closeAll, listenAll } from '../core/listen.ts';
import type { Logger } from '../core/log.ts';
import type { PortName } from '../core/ports.ts';
import type { Service, ServiceHealth, ServiceState } from '../core/service.ts';
import type { Store } from '../store/index.ts';
import type { TlsFiles } from '../tls/certificate.ts';
import { routes as apiRoutes } from './api/index.ts';
import { currentHostname } from './api/setup.ts';
import { isAutoconfigPath, outlookAutodiscover, pickDomain, readAutodiscoverAddress, thunderbirdConfig, type ClientPorts } from './autoconfig.ts';
import type { CertificateInfo, DoctorControl, QueueControl, WebContext } from './context.ts';
import { ApiAnswer, ApiError, checkAccess, checkStateChange, errorAnswer, errorBody, readJsonBody, Router, type ApiRequest, type Route } from './router.ts';
import { Sessions, type SessionOptions } from './sessions.ts';
import { SetupMachine } from './setup.ts';
import { StaticFiles } from './static.ts';
import { FailureThrottle } from './throttle.ts';

export interface HealthReport {
  status: 'ok' | 'degraded' | 'starting' | 'stopping';
  [key: string]: unknown;
}

export interface WebOptions {
  addresses: readonly string[];
  /** The HTTP port (80 + offset; 0: any free port). */
  port: number;
  /** The HTTPS port (443 + offset; 0: any free port). */
  httpsPort: number;
  logger: Logger;
  health: () => Promise<HealthReport>;
  tls: TlsFiles;
  /** The built web UI (dist/web); undefined or missing gives a page saying to build it. */
  assets: string | undefined;
  store: Store;
  config: Config;
  dataDir: string;
  queue: QueueControl;
  authEvents: AuthEvents;
  /** Where every service listens (the web ports are filled in by this service). */
  ports: () => Promise<Partial<Record<PortName, number>>>;
  doctor?: DoctorControl;
  sessions?: SessionOptions;
  setup?: { claimWaitMs?: number; maxWaiting?: number };
  /** Extra routes (tests). */
  routes?: readonly Route[];
  /** Failed sign-ins, kept by the services process so that a reload does not forget them; default: this service's own. */
  loginThrottle?: FailureThrottle;
  /** Reloads the services process (stops this service too); routes call it after their answer, through reloadAfterAnswer. */
  reload?: (reason: string) => void;
}

/** Failed web sign-ins: 1 free, then 1 s doubling to 5 minutes, at most 10000 keys (README, Sessions). */
export function newLoginThrottle(): FailureThrottle {
  return new FailureThrottle({ freeFailures: 1, baseMs: 1000, maxMs: 5 * 60_000, maxKeys: 10_000 });
}

/** Every answer, HTTP or HTTPS, carries these (and HSTS on HTTPS). */
export const securityHeaders: Record<string, string> = {
  'content-security-policy': "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cross-origin-opener-policy': 'same-origin',
};
const hsts = 'max-age=31536000';

/** SHA-256 fingerprint of a PEM certificate, as 'AB:CD:...'. */
export function certificateInfo(tls: TlsFiles): CertificateInfo {
  const x509 = new X509Certificate(tls.cert);
  return { sha256: x509.fingerprint256, names: tls.subjectAltNames, validTo: tls.validTo.toISOString(), source: tls.source };
}

export class WebService implements Service {
  readonly name = 'web';
  readonly sessions: Sessions;
  readonly setup: SetupMachine;
  readonly tls: CertificateInfo;
  private state: ServiceState = 'stopped';
  private servers: Server[] = [];
  private listening: string[] = [];
  private httpPort = 0;
  private httpsPort = 0;
  private readonly router: Router;
  private readonly staticFiles: StaticFiles;
  private context: WebContext | undefined;
  private readonly connectionIds = new WeakMap<Socket, string>();

  constructor(private readonly options: WebOptions) {
    this.router = new Router([...apiRoutes, ...(options.routes ?? [])]);
    this.staticFiles = new StaticFiles(options.assets);
    this.sessions = new Sessions(options.store, options.sessions);
    this.tls = certificateInfo(options.tls);
    this.setup = new SetupMachine({ store: options.store, dataDir: options.dataDir, sessions: this.sessions, logger: options.logger, ...options.setup });
  }

  async start(): Promise<void> {
    this.state = 'starting';
    const { logger, addresses } = this.options;
    try {
      this.setup.start();
      this.sessions.start();
      const http = await listenAll(() => this.createServer(false), addresses, this.options.port, logger, 'web');
      this.servers.push(...(http.servers as Server[]));
      const https = await listenAll(() => this.createServer(true), addresses, this.options.httpsPort, logger, 'web (https)');
      this.servers.push(...(https.servers as Server[]));
      this.listening = [...http.listening, ...https.listening];
      this.httpPort = portOf(http.listening[0]!);
      this.httpsPort = portOf(https.listening[0]!);
      const ports = { ...(await this.options.ports()), http: this.httpPort, https: this.httpsPort } as Record<PortName, number>;
      this.context = {
        store: this.options.store,
        config: this.options.config,
        queue: this.options.queue,
        health: this.options.health,
        doctor: this.options.doctor,
        authEvents: this.options.authEvents,
        logger,
        tls: this.tls,
        ports,
        setup: this.setup,
        sessions: this.sessions,
        loginThrottle: this.options.loginThrottle ?? newLoginThrottle(),
        dataDir: this.options.dataDir,
        reload: this.options.reload,
      };
    } catch (error) {
      this.state = 'failed';
      this.setup.stop();
      this.sessions.stop();
      await closeAll(this.servers, 0);
      this.servers = [];
      throw error;
    }
    this.state = 'running';
    for (const addr of onPort(this.listening, this.httpPort)) logger.info('listening', { addr, url: `http://${addr}/` });
    for (const addr of onPort(this.listening, this.httpsPort)) logger.info('listening', { addr, url: `https://${addr}/` });
    const code = this.setup.setupCode;
    if (code) {
      logger.info('setup needed', { code, sha256: this.tls.sha256, url: `https://${this.options.config.hostname}${this.httpsPort === 443 ? '' : `:${this.httpsPort}`}/setup` });
    }
  }

  async stop(): Promise<void> {
    if (this.state === 'stopped') return;
    this.state = 'stopping';
    this.setup.stop();
    this.sessions.stop();
    for (const server of this.servers) server.closeIdleConnections();
    await closeAll(this.servers, 5000, (server) => (server as Server).closeAllConnections());
    this.servers = [];
    this.state = 'stopped';
  }

  health(): ServiceHealth {
    return { state: this.state, listening: this.listening, ports: { http: this.httpPort, https: this.httpsPort } };
  }

  private createServer(secure: boolean): Server {
    const listener = (request: IncomingMessage, response: ServerResponse) => {
      const cid = this.cidOf(request.socket);
      for (const [name, value] of Object.entries(securityHeaders)) response.setHeader(name, value);
      if (secure) response.setHeader('strict-transport-security', hsts);
      this.logWhenDone(request, response, cid, secure);
      this.handle(request, response, secure, cid).catch((error: unknown) => {
        this.options.logger.error('request failed', { cid, method: request.method, path: request.url?.slice(0, 200), error });
        if (!response.headersSent) sendJson(response, 500, errorBody('internal', 'something went wrong on the box; the log says what'));
        else response.destroy();
      });
    };
    const server = secure ? createHttpsServer({ key: this.options.tls.key, cert: this.options.tls.cert }, listener) : createServer(listener);
    server.keepAliveTimeout = 5000;
    server.headersTimeout = 10000;
    server.requestTimeout = 30000;
    // A TLS handshake that never finishes must not hold a socket for long.
    if (secure) (server as unknown as { setTimeout(ms: number): void }).setTimeout(60_000);
    return server as Server;
  }

  private cidOf(socket: Socket): string {
    let cid = this.connectionIds.get(socket);
    if (!cid) {
      cid = randomBytes(4).toString('hex');
      this.connectionIds.set(socket, cid);
    }
    return cid;
  }

  /**
   * One line per request, when the answer is sent. /healthz is asked every few
   * seconds by the firmware supervisor (and by monitoring): debug, not info.
   */
  private logWhenDone(request: IncomingMessage, response: ServerResponse, cid: string, secure: boolean): void {
    const started = Date.now();
    const client = request.socket.remoteAddress;
    response.once('close', () => {
      let path: string;
      try {
        path = new URL(request.url ?? '/', 'http://localhost').pathname;
      } catch {
        path = '(not a path)';
      }
      this.options.logger.log(path === '/healthz' ? 'debug' : 'info', 'request', {
        cid,
        client,
        scheme: secure ? 'https' : 'http',
        method: request.method,
        path: path.slice(0, 200),
        status: response.statusCode,
        ms: Date.now() - started,
      });
    });
  }

  private async handle(request: IncomingMessage, response: ServerResponse, secure: boolean, cid: string): Promise<void> {
    let url: URL;
    try {
      url = new URL(request.url ?? '/', 'http://localhost');
    } catch {
      return sendJson(response, 400, errorBody('bad-request', 'the request target is not a path'));
    }
    const path = url.pathname;
    if (path === '/healthz') {
      if (request.method !== 'GET' && request.method !== 'HEAD') return sendJson(response, 405, errorBody('method-not-allowed', 'use GET'), { allow: 'GET, HEAD' });
      const report = await this.options.health();
      return sendJson(response, report.status === 'ok' ? 200 : 503, report);
    }
    if (isAutoconfigPath(path)) return this.autoconfig(request, response, url);
    if (path.startsWith('/.well-known/acme-challenge/')) {
      // No ACME client yet: answered here (not redirected) so that one can be added without moving paths.
      return sendJson(response, 404, errorBody('not-found', 'no ACME challenge is pending'));
    }
    if (!secure) return this.redirect(request, response, url);
    if (path === '/api' || path.startsWith('/api/')) return this.api(request, response, url, cid);
    if (request.method !== 'GET' && request.method !== 'HEAD') return sendJson(response, 405, errorBody('method-not-allowed', 'pages are only read with GET'), { allow: 'GET, HEAD' });
    return this.staticFiles.serve(request, response, path);
  }

  /** RFC 9110 §15.4.9: 308 keeps the method and body, so an API call sent to HTTP still arrives. */
  private redirect(request: IncomingMessage, response: ServerResponse, url: URL): void {
    const host = hostOf(request.headers.host) ?? this.options.config.hostname;
    const port = this.httpsPort === 443 ? '' : `:${this.httpsPort}`;
    const location = `https://${host}${port}${url.pathname}${url.search}`;
    const text = `Moved to ${location}\n`;
    response.writeHead(308, { location, 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-cache' });
    response.end(request.method === 'HEAD' ? undefined : text);
  }

  private async autoconfig(request: IncomingMessage, response: ServerResponse, url: URL): Promise<void> {
    const context = this.context!;
    const hostname = currentHostname(context);
    const ports = context.ports as unknown as ClientPorts;
    const domains = context.store.domains.list().map((d) => d.name);
    const lower = url.pathname.toLowerCase();
    let xml: string;
    if (lower === '/autodiscover/autodiscover.xml') {
      if (request.method !== 'POST' && request.method !== 'GET' && request.method !== 'HEAD') return sendJson(response, 405, errorBody('method-not-allowed', 'use POST'), { allow: 'POST, GET' });
      const address = request.method === 'POST' ? await readAutodiscoverAddress(request) : (url.searchParams.get('emailaddress') ?? undefined);
      if (!address) return sendXml(response, 400, '<?xml version="1.0" encoding="utf-8"?>\n<Error>send the EMailAddress in the request</Error>\n');
      xml = outlookAutodiscover(hostname, address, ports);
    } else if (url.pathname === '/.well-known/autoconfig/mail/config-v1.1.xml' || url.pathname === '/mail/config-v1.1.xml') {
      if (request.method !== 'GET' && request.method !== 'HEAD') return sendJson(response, 405, errorBody('method-not-allowed', 'use GET'), { allow: 'GET, HEAD' });
      xml = thunderbirdConfig(hostname, pickDomain(url.searchParams.get('emailaddress') ?? undefined, domains, hostname), ports);
    } else return sendJson(response, 404, errorBody('not-found', 'no such autoconfig file'));
    return sendXml(response, 200, xml);
  }

  private async api(request: IncomingMessage, response: ServerResponse, url: URL, cid: string): Promise<void> {
    const context = this.context!;
    const method = request.method ?? 'GET';
    let headers: Record<string, string | string[]> = {};
    let closeAfter = false;
    try {
      const match = this.router.match(method, url.pathname);
      if (!match) throw new ApiError(404, 'not-found', `there is no API route ${url.pathname.slice(0, 200)}`);
      if ('allowed' in match) {
        throw new ApiError(405, 'method-not-allowed', `use ${match.allowed.join(' or ')}`, undefined, { allow: match.allowed.join(', ') });
      }
      const { route, params } = match;
      if (route.setupStates) {
        const state = this.setup.state;
        if (!route.setupStates.includes(state)) {
          if (state === 'complete') throw new ApiError(409, 'setup-complete', 'this box is already set up; sign in instead');
          throw new ApiError(409, 'setup-not-claimed', 'claim the box first: type the setup code or press its button');
        }
      }
      const session = this.sessions.fromRequest(request.headers);
      checkAccess(route.access, session);
      if (route.access === 'admin' && !this.setup.adminAllowed(session!)) throw new ApiError(403, 'forbidden', 'this session is not the one that claimed the box; sign in again');
      const changes = method !== 'GET' && method !== 'HEAD';
      if (changes) checkStateChange(request.headers, session, `https://${request.headers.host ?? ''}`);
      let body: unknown;
      try {
        body = await readJsonBody(request);
      } catch (error) {
        if (error instanceof ApiError && error.status === 413) closeAfter = true;
        throw error;
      }
      const afterAnswer = (action: () => void) => {
        // 'close' comes after the answer was handed to the socket, or after the client went away: either way nothing more is sent.
        response.once('close', action);
      };
      const apiRequest: ApiRequest = { method, path: url.pathname, params, query: url.searchParams, body, session, client: request.socket.remoteAddress ?? '', cid, headers: request.headers, afterAnswer };
      const result = await route.handle(apiRequest, context);
      if (result instanceof ApiAnswer) {
        headers = result.headers;
        return sendJson(response, result.status, result.body, headers);
      }
      return sendJson(response, 200, result ?? {});
    } catch (error) {
      const failed = errorAnswer(error);
      if (failed.internal) context.logger.error('API handler failed', { cid, method, path: url.pathname.slice(0, 200), error });
      const extra: Record<string, string> = { ...failed.headers };
      if (closeAfter) extra.connection = 'close';
      sendJson(response, failed.status, failed.body, extra);
      if (closeAfter) request.resume();
    }
  }
}

function portOf(hostPort: string): number {
  return Number(hostPort.slice(hostPort.lastIndexOf(':') + 1));
}

function onPort(listening: string[], port: number): string[] {
  return listening.filter((addr) => portOf(addr) === port);
}

/** The host name of a Host header (without its port), or undefined when it is not a plain name or address. */
export function hostOf(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const match = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]{1,253})(?::\d{1,5})?$/.exec(header.trim());
  return match?.[1];
}

function sendJson(response: ServerResponse, status: number, body: unknown, headers: Record<string, string | string[]> = {}): void {
  const text = JSON.stringify(body, null, 2) + '\n';
  response.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store', ...headers });
  response.end(response.req.method === 'HEAD' ? undefined : text);
}

function sendXml(response: ServerResponse, status: number, xml: string): void {
  response.writeHead(status, { 'content-type': 'application/xml; charset=utf-8', 'content-length': Buffer.byteLength(xml), 'cache-control': 'no-cache' });
  response.end(response.req.method === 'HEAD' ? undefined : xml);
}
