// services/web: HTTP on 80 + offset. See README.md.

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { closeAll, listenAll } from '../core/listen.ts';
import type { Logger } from '../core/log.ts';
import type { Service, ServiceHealth, ServiceState } from '../core/service.ts';

export interface HealthReport {
  status: 'ok' | 'degraded' | 'starting' | 'stopping';
  [key: string]: unknown;
}

export interface WebOptions {
  addresses: readonly string[];
  port: number;
  logger: Logger;
  health: () => Promise<HealthReport>;
}

export class WebService implements Service {
  readonly name = 'web';
  private state: ServiceState = 'stopped';
  private servers: Server[] = [];
  private listening: string[] = [];

  constructor(private readonly options: WebOptions) {}

  async start(): Promise<void> {
    this.state = 'starting';
    try {
      const listeners = await listenAll(() => this.createServer(), this.options.addresses, this.options.port, this.options.logger, 'web');
      this.servers = listeners.servers as Server[];
      this.listening = listeners.listening;
    } catch (error) {
      this.state = 'failed';
      throw error;
    }
    this.state = 'running';
    for (const addr of this.listening) this.options.logger.info('listening', { addr, url: `http://${addr}/` });
  }

  async stop(): Promise<void> {
    if (this.state === 'stopped') return;
    this.state = 'stopping';
    for (const server of this.servers) server.closeIdleConnections();
    await closeAll(this.servers, 5000, (server) => (server as Server).closeAllConnections());
    this.state = 'stopped';
  }

  health(): ServiceHealth {
    return { state: this.state, listening: this.listening };
  }

  private createServer(): Server {
    const server = createServer((request, response) => {
      this.logWhenDone(request, response);
      this.handle(request, response).catch((error: unknown) => {
        this.options.logger.error('request failed', { method: request.method, path: request.url, error });
        if (!response.headersSent) sendJson(response, 500, { error: 'internal error' });
        else response.destroy();
      });
    });
    server.keepAliveTimeout = 5000;
    server.headersTimeout = 10000;
    server.requestTimeout = 30000;
    return server;
  }

  /**
   * One line per request, when the answer is sent. /healthz is asked every few
   * seconds by the firmware supervisor (and by monitoring): debug, not info.
   */
  private logWhenDone(request: IncomingMessage, response: ServerResponse): void {
    const started = Date.now();
    response.once('close', () => {
      let path: string;
      try {
        path = new URL(request.url ?? '/', 'http://localhost').pathname;
      } catch {
        path = '(not a path)';
      }
      this.options.logger.log(path === '/healthz' ? 'debug' : 'info', 'request', {
        client: request.socket.remoteAddress,
        method: request.method,
        path: path.slice(0, 200),
        status: response.statusCode,
        ms: Date.now() - started,
      });
    });
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const path = new URL(request.url ?? '/', 'http://localhost').pathname;
    if (path === '/healthz') {
      if (request.method !== 'GET' && request.method !== 'HEAD') return sendJson(response, 405, { error: 'use GET' }, { allow: 'GET, HEAD' });
      const report = await this.options.health();
      return sendJson(response, report.status === 'ok' ? 200 : 503, report);
    }
    sendJson(response, 404, { error: 'not found' });
  }
}

function sendJson(response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body, null, 2) + '\n';
  response.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store', ...headers });
  response.end(response.req.method === 'HEAD' ? undefined : text);
}
