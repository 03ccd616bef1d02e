// A browser stand-in for API tests: HTTPS to the box on 127.0.0.1 with its
// self-signed certificate trusted (node:https with `ca`), a cookie jar, and
// the CSRF token remembered from the answers that carry one.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';

export interface WebAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
  body: Record<string, any>;
}

export interface RequestOptions {
  json?: unknown;
  /** A raw body (sent as is, with the headers given). */
  body?: string | Buffer;
  headers?: Record<string, string>;
  /** Send X-CSRF-Token (default: when a token is known and the method changes state). */
  csrf?: boolean;
}

/** The box's certificate, to trust as the only CA. */
export function boxCertificate(data: string): Buffer {
  return readFileSync(join(data, 'tls', 'cert.pem'));
}

export class WebClient {
  readonly cookies = new Map<string, string>();
  csrfToken: string | undefined;

  constructor(
    readonly port: number,
    readonly ca: Buffer,
    readonly options: { secure?: boolean } = {},
  ) {}

  get origin(): string {
    return `https://127.0.0.1:${this.port}`;
  }

  get(path: string, options: RequestOptions = {}): Promise<WebAnswer> {
    return this.request('GET', path, options);
  }
  post(path: string, json?: unknown, options: RequestOptions = {}): Promise<WebAnswer> {
    return this.request('POST', path, { json, ...options });
  }
  put(path: string, json?: unknown, options: RequestOptions = {}): Promise<WebAnswer> {
    return this.request('PUT', path, { json, ...options });
  }
  delete(path: string, options: RequestOptions = {}): Promise<WebAnswer> {
    return this.request('DELETE', path, options);
  }

  request(method: string, path: string, options: RequestOptions = {}): Promise<WebAnswer> {
    const headers: Record<string, string> = { accept: 'application/json', ...options.headers };
    let payload: Buffer | undefined;
    if (options.json !== undefined) {
      payload = Buffer.from(JSON.stringify(options.json));
      headers['content-type'] ??= 'application/json';
    } else if (options.body !== undefined) payload = Buffer.from(options.body);
    if (payload) headers['content-length'] = String(payload.length);
    const sendCsrf = options.csrf ?? (method !== 'GET' && method !== 'HEAD');
    if (sendCsrf && this.csrfToken) headers['x-csrf-token'] = this.csrfToken;
    if (this.cookies.size) headers.cookie = [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
    const secure = this.options.secure ?? true;
    return new Promise((resolve, reject) => {
      const make = secure ? httpsRequest : httpRequest;
      const req = make({ host: '127.0.0.1', port: this.port, method, path, headers, agent: false, ...(secure ? { ca: this.ca } : {}) }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', reject);
        res.on('end', () => {
          for (const cookie of res.headers['set-cookie'] ?? []) {
            const [pair = ''] = cookie.split(';');
            const at = pair.indexOf('=');
            const name = pair.slice(0, at);
            const value = pair.slice(at + 1);
            if (/Max-Age=0/i.test(cookie) || value === '') this.cookies.delete(name);
            else this.cookies.set(name, value);
          }
          const text = Buffer.concat(chunks).toString('utf8');
          let body: Record<string, any> = {};
          if ((res.headers['content-type'] ?? '').startsWith('application/json')) {
            try {
              body = JSON.parse(text) as Record<string, any>;
            } catch {
              body = {};
            }
          }
          if (typeof body.csrfToken === 'string') this.csrfToken = body.csrfToken;
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, body });
        });
      });
      req.on('error', reject);
      req.end(payload);
    });
  }
}
