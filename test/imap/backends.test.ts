// Library behaviour checked on both backends (the library's in-memory test
// backend and Mailnest's StoreBackend), so that what the library's own tests
// prove with the memory backend is also what production does.

import test, { type ExecutionContext } from 'ava';
import { ImapFlow } from 'imapflow';
import { RawClient } from '../../packages/node-imap-server-lite/test/helpers/raw-client.ts';
import { backendKinds, password, sampleMessage, startBackendServer, user, type BackendServer } from './backends.ts';

async function loggedIn(t: ExecutionContext, port: number): Promise<RawClient> {
  const client = await RawClient.connect(t, port);
  await client.login();
  return client;
}

/** A server with `Work` holding two messages, and a raw client that has it selected. */
async function workSelected(t: ExecutionContext, served: BackendServer): Promise<RawClient> {
  await served.createMailbox('Work');
  await served.deliver('Work', sampleMessage('first'));
  await served.deliver('Work', sampleMessage('second'));
  const client = await loggedIn(t, served.port);
  const selected = await client.command('s', 'SELECT Work');
  t.regex(selected.tagged, /^s OK/);
  t.true(selected.untagged.includes('* 2 EXISTS'));
  return client;
}

async function imapflow(t: ExecutionContext, port: number): Promise<ImapFlow> {
  const client = new ImapFlow({ host: '127.0.0.1', port, secure: false, auth: { user, pass: password }, logger: false, disableAutoIdle: true });
  client.on('error', () => {});
  await client.connect();
  t.teardown(() => client.close());
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


for (const kind of backendKinds) {
  const name = (title: string) => `${kind} backend: ${title}`;

  test(name('a mailbox deleted by another session: the session that has it selected gets BYE at its next command (RFC 2180 §3.3)'), async (t) => {
    const served = await startBackendServer(t, kind);
    const a = await workSelected(t, served);
    const b = await loggedIn(t, served.port);
    t.is((await b.command('d', 'DELETE Work')).tagged, 'd OK DELETE completed');
    a.write('f FETCH 1:* (FLAGS)\r\n');
    t.is(await a.readResponse(), '* BYE The selected mailbox was deleted');
    await a.waitClosed();
    t.regex((await b.command('l', 'LIST "" Work')).tagged, /^l OK/);
    t.regex((await b.command('st', 'STATUS Work (MESSAGES)')).tagged, /^st NO \[NONEXISTENT\]/);
  });

  test(name('a session in IDLE hears of the DELETE of its mailbox at once, as BYE'), async (t) => {
    const served = await startBackendServer(t, kind);
    const a = await workSelected(t, served);
    a.write('i IDLE\r\n');
    t.is(await a.readResponse(), '+ idling');
    const b = await loggedIn(t, served.port);
    await b.command('d', 'DELETE Work');
    t.is(await a.readResponse(), '* BYE The selected mailbox was deleted');
    await a.waitClosed();
    t.pass();
  });

  test(name('a deleted parent becomes \\Noselect, and a session that had it selected gets BYE'), async (t) => {
    const served = await startBackendServer(t, kind);
    const a = await workSelected(t, served);
    await served.createMailbox('Work/Old');
    const b = await loggedIn(t, served.port);
    t.is((await b.command('d', 'DELETE Work')).tagged, 'd OK DELETE completed');
    t.regex((await b.command('l', 'LIST "" Work')).untagged[0] ?? '', /\\Noselect/);
    a.write('n NOOP\r\n');
    t.is(await a.readResponse(), '* BYE The selected mailbox was deleted');
    await a.waitClosed();
    t.pass();
  });

  test(name('a mailbox deleted and created again under the same name is not the one the session selected'), async (t) => {
    const served = await startBackendServer(t, kind);
    const a = await workSelected(t, served);
    await served.createMailbox('Work/Old');
    const b = await loggedIn(t, served.port);
    await b.command('d', 'DELETE Work');
    t.regex((await b.command('c', 'CREATE Work')).tagged, /^c OK/);
    await served.deliver('Work', sampleMessage('third'));
    a.write('n NOOP\r\n');
    t.is(await a.readResponse(), '* BYE The selected mailbox was deleted');
    await a.waitClosed();
    t.pass();
  });

  test(name('a mailbox renamed by another session stays selected: its messages, flags and expunges go on (RFC 2180 §3.4)'), async (t) => {
    const served = await startBackendServer(t, kind);
    const a = await workSelected(t, served);
    const b = await loggedIn(t, served.port);
    t.is((await b.command('r', 'RENAME Work Projects')).tagged, 'r OK RENAME completed');
    const fetched = await a.command('f', 'FETCH 1:* (FLAGS ENVELOPE)');
    t.is(fetched.tagged, 'f OK FETCH completed');
    t.is(fetched.untagged.filter((line) => / FETCH \(/.test(line)).length, 2);
    t.is((await a.command('s1', 'STORE 1 +FLAGS (\\Deleted)')).tagged, 's1 OK STORE completed');
    const expunged = await a.command('e', 'EXPUNGE');
    t.is(expunged.tagged, 'e OK EXPUNGE completed');
    t.true(expunged.untagged.includes('* 1 EXPUNGE'));
    await b.command('sel', 'SELECT Projects');
    t.deepEqual((await b.command('ff', 'FETCH 1:* (FLAGS)')).untagged.length, 1);
    t.regex((await a.command('st', 'STATUS Work (MESSAGES)')).tagged, /^st NO \[NONEXISTENT\]/);
  });

  test(name('a session that deletes its own selected mailbox gets OK, then BYE'), async (t) => {
    const served = await startBackendServer(t, kind);
    const a = await workSelected(t, served);
    a.write('d DELETE Work\r\n');
    t.is(await a.readResponse(), 'd OK DELETE completed');
    t.is(await a.readResponse(), '* BYE The selected mailbox was deleted');
    await a.waitClosed();
    t.pass();
  });

  test(name('imapflow: a client whose mailbox another client deletes is disconnected, not left with a mailbox that answers NO'), async (t) => {
    const served = await startBackendServer(t, kind);
    await served.createMailbox('Work');
    await served.deliver('Work', sampleMessage('first'));
    const a = await imapflow(t, served.port);
    const b = await imapflow(t, served.port);
    const lock = await a.getMailboxLock('Work');
    t.teardown(() => lock.release());
    t.is((a.mailbox as { exists: number }).exists, 1);
    const closed = new Promise<void>((resolve) => a.once('close', () => resolve()));
    t.true(await b.mailboxDelete('Work').then(() => true));
    await t.throwsAsync(async () => {
      for await (const message of a.fetch('1:*', { envelope: true })) t.log(message.envelope?.subject);
    });
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error('the client was not disconnected')), 10_000)));
    await Promise.race([closed, deadline]).finally(() => clearTimeout(timer));
    t.false(a.usable);
  });
}
