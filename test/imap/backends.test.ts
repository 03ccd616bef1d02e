// Library behaviour checked on both backends (the library's in-memory test
// backend and Mailnest's StoreBackend), so that what the library's own tests
// prove with the memory backend is also what production does.

import test, { type ExecutionContext } from 'ava';
import { RawClient } from '../../packages/node-imap-server-lite/test/helpers/raw-client.ts';
import { backendKinds, sampleMessage, startBackendServer } from './backends.ts';

async function loggedIn(t: ExecutionContext, port: number): Promise<RawClient> {
  const client = await RawClient.connect(t, port);
  await client.login();
  return client;
}

function capabilities(line: string): string[] {
  return line.replace(/^\* CAPABILITY /, '').split(' ');
}

for (const kind of backendKinds) {
  const name = (title: string) => `${kind} backend: ${title}`;

  test(name('QUOTA offers STORAGE only, and STATUS DELETED-STORAGE is the size of the \\Deleted messages (RFC 9208 §5.1)'), async (t) => {
    const served = await startBackendServer(t, kind);
    const messages = [sampleMessage('one', 'a'.repeat(100)), sampleMessage('two', 'b'.repeat(2000)), sampleMessage('three', 'c'.repeat(300))];
    for (const raw of messages) await served.deliver('INBOX', raw);
    const client = await loggedIn(t, served.port);
    const caps = capabilities((await client.command('a1', 'CAPABILITY')).untagged[0]!);
    t.deepEqual(caps.filter((cap) => cap.startsWith('QUOTA')), ['QUOTA', 'QUOTA=RES-STORAGE']);
    await client.command('a2', 'SELECT INBOX');
    t.is((await client.command('a3', 'STORE 2:3 +FLAGS.SILENT (\\Deleted)')).tagged, 'a3 OK STORE completed');
    const deleted = Buffer.byteLength(messages[1]!) + Buffer.byteLength(messages[2]!);
    t.deepEqual((await client.command('a4', 'STATUS INBOX (MESSAGES DELETED DELETED-STORAGE)')).untagged, [`* STATUS "INBOX" (MESSAGES 3 DELETED 2 DELETED-STORAGE ${deleted})`]);
  });
}

