// Binding one server per configured listen address, and closing them again.
//
// `::` is bound IPv6-only so that it can sit beside 0.0.0.0; an address family
// the machine lacks (no IPv6 on the board) is skipped with a warning, but a
// port that is taken stops the start with a message saying so.

import type { Server } from 'node:net';
import { UserError } from './errors.ts';
import type { Logger } from './log.ts';
import { hostPort } from './service.ts';

export interface Listeners {
  servers: Server[];
  listening: string[];
}

const skippable = new Set(['EADDRNOTAVAIL', 'EAFNOSUPPORT']);

/** A listener that could not be bound: which address, which port, and the system's code (EADDRINUSE, EACCES, ...). */
export class ListenError extends UserError {
  constructor(
    message: string,
    readonly host: string,
    readonly port: number,
    readonly code: string,
  ) {
    super(message);
    this.name = 'ListenError';
  }
}

export async function listenAll(create: () => Server, addresses: readonly string[], port: number, logger: Logger, what: string): Promise<Listeners> {
  const servers: Server[] = [];
  const listening: string[] = [];
  try {
    for (const host of addresses) {
      const server = create();
      try {
        await new Promise<void>((resolve, reject) => {
          server.once('error', reject);
          server.listen({ host, port, ipv6Only: host.includes(':') && host !== '::ffff:0.0.0.0' }, () => {
            server.off('error', reject);
            resolve();
          });
        });
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code ?? '';
        if (skippable.has(code) && addresses.length > 1) {
          logger.warn('address not available, skipped', { addr: hostPort(host, port), code });
          continue;
        }
        if (code === 'EADDRINUSE') throw new ListenError(`${what}: port ${port} on ${host} is already in use (is another Mailnest running?)`, host, port, code);
        if (code === 'EACCES') throw new ListenError(`${what}: no permission to listen on port ${port}; run as root or use --port-offset`, host, port, code);
        throw new ListenError(`${what}: cannot listen on ${hostPort(host, port)}: ${(error as Error).message}`, host, port, code);
      }
      const bound = server.address();
      const actualPort = typeof bound === 'object' && bound ? bound.port : port;
      servers.push(server);
      listening.push(hostPort(host, actualPort));
    }
    if (servers.length === 0) throw new UserError(`${what}: none of the listen addresses (${addresses.join(', ')}) is available`);
  } catch (error) {
    await closeAll(servers, 0);
    throw error;
  }
  return { servers, listening };
}

/**
 * Stops accepting at once, then waits for open connections to end by
 * themselves; after `graceMs` the ones still open are destroyed.
 */
export async function closeAll(servers: Server[], graceMs: number, onForce?: (server: Server) => void): Promise<void> {
  await Promise.all(
    servers.map(
      (server) =>
        new Promise<void>((resolve) => {
          if (!server.listening) return resolve();
          const timer = setTimeout(() => onForce?.(server), graceMs);
          server.close(() => {
            clearTimeout(timer);
            resolve();
          });
        }),
    ),
  );
}
