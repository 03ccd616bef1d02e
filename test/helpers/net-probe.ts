// Small network probes for tests: a server's first line, whether a port
// refuses connections, and a port held in the range a port offset reaches.

import { connect, createServer, type Server } from 'node:net';

/** The first line a server sends (the SMTP banner, the IMAP greeting). */
export function greeting(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let text = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no greeting on port ${port}`));
    }, 10_000);
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      text += chunk;
      const end = text.indexOf('\r\n');
      if (end >= 0) {
        clearTimeout(timer);
        socket.destroy();
        resolve(text.slice(0, end));
      }
    });
    socket.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}

/** true when nothing accepts a connection on the port. */
export function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(true));
  });
}

/**
 * Listens on `offset + base` for an offset from 20000 to 29999 (below the
 * system's ephemeral range, so that no test's port 0 collides), trying
 * another offset while the port is taken.
 */
export async function occupyFreeOffsetPort(base: number): Promise<{ server: Server; offset: number }> {
  for (let attempt = 0; attempt < 50; attempt += 1) {
    const offset = 20_000 + Math.floor(Math.random() * 10_000);
    const server = createServer();
    const bound = await new Promise<boolean>((resolve) => {
      server.once('error', () => resolve(false));
      server.listen(offset + base, '127.0.0.1', () => resolve(true));
    });
    if (bound) return { server, offset };
  }
  throw new Error('no free port in the offset range');
}
