// The built web UI (dist/web, made by esbuild from web-ui/):
// - /assets/NAME: a content-hashed file, `Cache-Control: public,
//   max-age=31536000, immutable`, sent precompressed (NAME.br or NAME.gz
//   beside it) when the client accepts it (RFC 9110 §12.5.3 Accept-Encoding,
//   §8.4 Content-Encoding; Vary: Accept-Encoding, §12.5.5).
// - any other GET that is not /api/...: index.html with `Cache-Control:
//   no-cache`, so the UI's own routes (/setup, /admin/..., /me) load, and a
//   new build is seen at once.
// - no dist/web: a 503 page saying to run `make build`, never a crash.
//
// Invariants: a path is a file name matched by one pattern, never joined to
// the folder as given, so nothing outside the folder can be read.

import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join } from 'node:path';

const contentTypes: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.html': 'text/html; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.webp': 'image/webp',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
  '.webmanifest': 'application/manifest+json',
};

const safeName = /^[A-Za-z0-9][A-Za-z0-9._-]{0,200}$/;
export const immutable = 'public, max-age=31536000, immutable';

/** The encodings the client accepts, from the Accept-Encoding header, best first among br and gzip. */
export function acceptedEncodings(header: string | undefined): ('br' | 'gzip')[] {
  if (!header) return [];
  const q = new Map<string, number>();
  for (const part of header.split(',')) {
    const [name = '', ...params] = part.trim().toLowerCase().split(';');
    const qParam = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    const value = qParam ? Number(qParam.slice(2)) : 1;
    q.set(name.trim(), Number.isFinite(value) ? value : 0);
  }
  const weight = (name: string) => q.get(name) ?? (q.has('*') ? q.get('*')! : 0);
  return (['br', 'gzip'] as const).filter((name) => weight(name) > 0).sort((a, b) => weight(b) - weight(a));
}

async function fileSize(path: string): Promise<number | undefined> {
  try {
    const info = await stat(path);
    return info.isFile() ? info.size : undefined;
  } catch {
    return undefined;
  }
}

export class StaticFiles {
  constructor(private readonly folder: string | undefined) {}

  /** Answers a GET/HEAD that is not /api/ nor a special path. */
  async serve(request: IncomingMessage, response: ServerResponse, path: string): Promise<void> {
    const folder = this.folder;
    if (!folder || (await fileSize(join(folder, 'index.html'))) === undefined) return this.notBuilt(response, folder);
    if (path.startsWith('/assets/')) {
      const name = path.slice('/assets/'.length);
      if (!safeName.test(name) || name.endsWith('.br') || name.endsWith('.gz')) return this.notFound(response);
      return this.sendFile(request, response, join(folder, 'assets', name), immutable);
    }
    const name = path.slice(1);
    if (name !== 'index.html' && safeName.test(name) && (await fileSize(join(folder, name))) !== undefined) {
      return this.sendFile(request, response, join(folder, name), 'no-cache');
    }
    return this.sendFile(request, response, join(folder, 'index.html'), 'no-cache');
  }

  private async sendFile(request: IncomingMessage, response: ServerResponse, path: string, cacheControl: string): Promise<void> {
    const plainSize = await fileSize(path);
    if (plainSize === undefined) return this.notFound(response);
    let sendPath = path;
    let size = plainSize;
    let encoding: string | undefined;
    for (const candidate of acceptedEncodings(request.headers['accept-encoding'])) {
      const compressed = `${path}.${candidate === 'br' ? 'br' : 'gz'}`;
      const compressedSize = await fileSize(compressed);
      if (compressedSize !== undefined) {
        sendPath = compressed;
        size = compressedSize;
        encoding = candidate;
        break;
      }
    }
    response.writeHead(200, {
      'content-type': contentTypes[extname(path).toLowerCase()] ?? 'application/octet-stream',
      'content-length': size,
      'cache-control': cacheControl,
      vary: 'Accept-Encoding',
      ...(encoding ? { 'content-encoding': encoding } : {}),
    });
    if (request.method === 'HEAD') {
      response.end();
      return;
    }
    await new Promise<void>((resolve) => {
      const stream = createReadStream(sendPath);
      stream.on('error', () => {
        response.destroy();
        resolve();
      });
      response.on('close', () => {
        stream.destroy();
        resolve();
      });
      stream.pipe(response);
    });
  }

  private notFound(response: ServerResponse): void {
    const text = 'not found\n';
    response.writeHead(404, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-cache' });
    response.end(response.req.method === 'HEAD' ? undefined : text);
  }

  private notBuilt(response: ServerResponse, folder: string | undefined): void {
    const where = folder ? escapeHtml(folder) : 'dist/web';
    const page = `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>Mailnest: web interface not built</title></head>
<body>
<h1>The web interface is not built</h1>
<p>Mailnest is running, but ${where}/index.html is missing. Run <code>make build</code> in the Mailnest folder, then reload this page.</p>
<p>The mail services (SMTP, IMAP, POP3) work without it.</p>
</body>
</html>
`;
    response.writeHead(503, { 'content-type': 'text/html; charset=utf-8', 'content-length': Buffer.byteLength(page), 'cache-control': 'no-store', 'retry-after': '60' });
    response.end(response.req.method === 'HEAD' ? undefined : page);
  }
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}
