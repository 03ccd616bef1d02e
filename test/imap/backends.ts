// The IMAP library served by either backend: the library's in-memory test
// backend or Mailnest's StoreBackend on a temporary SQLite store. Tests that
// run a scenario on both catch behaviour the library's own tests take from
// the memory backend but production lacks.

import type { ExecutionContext } from 'ava';
import { ImapServer } from 'node-imap-server-lite';
import { MemoryBackend } from '../../packages/node-imap-server-lite/test/helpers/memory-backend.ts';
import { memoryLogger } from '../../services/core/log.ts';
import { createBodyAnalyzer } from '../../services/delivery/analyzer.ts';
import { StoreBackend } from '../../services/imap/backend.ts';
import { Store } from '../../services/store/index.ts';
import { testPassword } from '../helpers/accounts.ts';
import { tempDataDir } from '../helpers/data-dir.ts';
import { appendRaw } from '../helpers/mail.ts';

export type BackendKind = 'memory' | 'store';
export const backendKinds: readonly BackendKind[] = ['memory', 'store'];

export const user = 'alice@example.test';
export const password = testPassword;

export interface BackendServer {
  kind: BackendKind;
  server: ImapServer;
  port: number;
  /** Puts a message into a mailbox of alice's, as a delivery from outside any session would. */
  deliver(mailbox: string, raw: string): Promise<void>;
  /** Creates one of alice's mailboxes outside any session. */
  createMailbox(name: string): Promise<void>;
}

export async function startBackendServer(t: ExecutionContext, kind: BackendKind): Promise<BackendServer> {
  let server: ImapServer;
  let deliver: BackendServer['deliver'];
  let createMailbox: BackendServer['createMailbox'];
  if (kind === 'memory') {
    const backend = new MemoryBackend();
    const account = backend.addUser(user, password, ['INBOX', 'Drafts', 'Sent', 'Junk', 'Trash', 'Archive']);
    server = new ImapServer({ backend, authFailureDelayMs: 0 });
    deliver = async (mailbox, raw) => void backend.deliver(user, mailbox, raw);
    createMailbox = (name) => backend.createMailbox({ id: 'setup', user: account, remoteAddress: '127.0.0.1', secure: true }, name, {});
  } else {
    const store = Store.open(tempDataDir(t));
    t.teardown(() => store.close());
    store.domains.add('example.test');
    await store.accounts.add({ address: user, password });
    const { logger } = memoryLogger('debug');
    const backend = new StoreBackend({ store, createAnalyzer: createBodyAnalyzer, maxMessageBytes: 50 * 1024 * 1024, logger });
    server = new ImapServer({ backend, authFailureDelayMs: 0 });
    deliver = async (mailbox, raw) => void (await appendRaw(store, user, mailbox, raw));
    createMailbox = async (name) => void store.mail.createMailbox(store.accounts.get(user).id, name);
  }
  const address = await server.listen({ port: 0, host: '127.0.0.1' });
  t.teardown(() => server.close(100));
  return { kind, server, port: address.port, deliver, createMailbox };
}

export function sampleMessage(subject: string, body = 'Hello'): string {
  return `From: Friend <friend@remote.test>\r\nTo: ${user}\r\nSubject: ${subject}\r\nMessage-ID: <${subject.replace(/\W/g, '')}@remote.test>\r\n\r\n${body}\r\n`;
}
