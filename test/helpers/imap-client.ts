// imapflow, the real IMAP client library, against the test's services.

import { ImapFlow } from 'imapflow';
import type { ExecutionContext } from 'ava';
import { testPassword } from './accounts.ts';

export async function imapClient(t: ExecutionContext, port: number, user = 'alice@example.test', pass = testPassword, options: { secure?: boolean } = {}): Promise<ImapFlow> {
  const client = new ImapFlow({
    host: '127.0.0.1',
    port,
    secure: options.secure ?? false,
    auth: { user, pass },
    logger: false,
    tls: { rejectUnauthorized: false },
    disableAutoIdle: true,
  });
  await client.connect();
  t.teardown(async () => {
    if (client.usable) await client.logout().catch(() => client.close());
    else client.close();
  });
  return client;
}

/** Whether a login over implicit TLS succeeds (the connection is closed either way). */
export async function imapLoginWorks(port: number, user: string, pass: string): Promise<boolean> {
  const client = new ImapFlow({ host: '127.0.0.1', port, secure: true, auth: { user, pass }, logger: false, tls: { rejectUnauthorized: false }, disableAutoIdle: true });
  try {
    await client.connect();
    await client.logout();
    return true;
  } catch {
    client.close();
    return false;
  }
}
