// Test servers on 127.0.0.1 with an ephemeral port and the in-memory
// backend, closed when the test ends; imapflow clients that close too.

import type { ExecutionContext } from 'ava';
import { ImapFlow } from 'imapflow';
import { ImapServer } from '../../src/index.ts';
import type { ImapServerOptions } from '../../src/options.ts';
import { MemoryBackend, type MemoryBackendOptions } from './memory-backend.ts';

export interface TestServer {
  server: ImapServer;
  backend: MemoryBackend;
  port: number;
  events: { name: string; payload: unknown }[];
}

export const user = 'alice@example.test';
export const password = 'secret';

export async function startServer(t: ExecutionContext, options: Partial<ImapServerOptions> & { backendOptions?: MemoryBackendOptions; mailboxes?: string[] } = {}): Promise<TestServer> {
  const backend = new MemoryBackend(options.backendOptions);
  backend.addUser(user, password, options.mailboxes ?? ['INBOX', 'Sent', 'Trash', 'Archive']);
  backend.addUser('bob@example.test', 'hunter2', ['INBOX']);
  const { backendOptions: _ignored, mailboxes: _also, ...rest } = options;
  const server = new ImapServer({ authFailureDelayMs: 0, ...rest, backend } as ImapServerOptions);
  const events: { name: string; payload: unknown }[] = [];
  for (const name of ['authFailure', 'authSuccess', 'sessionError']) server.on(name, (payload: unknown) => events.push({ name, payload }));
  const address = await server.listen({ port: 0, host: '127.0.0.1' });
  t.teardown(() => server.close(100));
  return { server, backend, port: address.port, events };
}

export async function connectFlow(t: ExecutionContext, port: number, options: { user?: string; pass?: string } = {}): Promise<ImapFlow> {
  const client = new ImapFlow({
    host: '127.0.0.1',
    port,
    secure: false,
    doSTARTTLS: false,
    auth: { user: options.user ?? user, pass: options.pass ?? password },
    logger: false,
    disableAutoIdle: true,
    connectionTimeout: 10_000,
    greetingTimeout: 10_000,
    socketTimeout: 20_000,
  } as ConstructorParameters<typeof ImapFlow>[0]);
  client.on('error', () => {});
  await client.connect();
  t.teardown(() => {
    client.close();
  });
  return client;
}

export function message(subject: string, body = 'Hello world', extra = ''): string {
  return `From: Alice <alice@example.test>\r\nTo: Bob <bob@example.test>\r\nSubject: ${subject}\r\nDate: Mon, 2 Nov 2026 10:00:00 +0000\r\nMessage-ID: <${subject.replace(/\W/g, '')}@example.test>\r\n${extra}\r\n${body}\r\n`;
}

/** A server with `count` messages in INBOX and a raw client logged in with INBOX selected. */
export async function selectedClient(t: ExecutionContext, count = 3, options: Parameters<typeof startServer>[1] = {}) {
  const { RawClient } = await import('./raw-client.ts');
  const started = await startServer(t, options);
  for (let i = 1; i <= count; i++) started.backend.deliver(user, 'INBOX', message(`message ${i}`, `body ${i}`), [], new Date(Date.UTC(2024, 0, i, 12)));
  const client = await RawClient.connect(t, started.port);
  await client.login();
  const selected = await client.command('S0', 'SELECT INBOX');
  if (!selected.tagged.startsWith('S0 OK')) throw new Error(selected.tagged);
  return { ...started, client };
}

/** A server and a raw client logged in (no mailbox selected). */
export async function loggedInClient(t: ExecutionContext, options: Parameters<typeof startServer>[1] = {}) {
  const { RawClient } = await import('./raw-client.ts');
  const started = await startServer(t, options);
  const client = await RawClient.connect(t, started.port);
  await client.login();
  return { ...started, client };
}
