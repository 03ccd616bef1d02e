// Library behaviour checked on both backends (the library's in-memory test
// backend and Mailnest's StoreBackend), so that what the library's own tests
// prove with the memory backend is also what production does.

import test, { type ExecutionContext } from 'ava';
import { ImapFlow } from 'imapflow';
import { RawClient } from '../../packages/node-imap-server-lite/test/helpers/raw-client.ts';
import { backendKinds, password, sampleMessage, startBackendServer, user, type BackendServer } from './backends.ts';

async function loggedIn(t: ExecutionContext, port: number): Promise<RawClient> {
  const client = await RawClient.connect(t, port);
  await client.login(user, password);
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

// Cheap per-command checks from the library's own tests, on both backends.
for (const kind of backendKinds) {
  const name = (title: string) => `${kind} backend: ${title}`;

  test(name('an expunge by another session waits during FETCH, shows on NOOP, and FETCH of it answers OK [EXPUNGEISSUED]'), async (t) => {
    const served = await startBackendServer(t, kind);
    for (const subject of ['one', 'two', 'three']) await served.deliver('INBOX', sampleMessage(subject));
    const a = await loggedIn(t, served.port);
    const b = await loggedIn(t, served.port);
    await a.command('s', 'SELECT INBOX');
    await b.command('s', 'SELECT INBOX');
    await b.command('d', 'STORE 2 +FLAGS.SILENT (\\Deleted)');
    t.true((await b.command('e', 'EXPUNGE')).untagged.includes('* 2 EXPUNGE'));
    const fetched = await a.command('f', 'FETCH 1:3 (UID FLAGS)');
    t.false(fetched.untagged.some((line) => / EXPUNGE$/.test(line)), 'no EXPUNGE during FETCH (RFC 3501 §7.4.1)');
    t.regex(fetched.tagged, /^f OK \[EXPUNGEISSUED\]/);
    t.deepEqual(fetched.untagged.filter((line) => / FETCH /.test(line)).map((line) => /^\* (\d+) FETCH \(UID (\d+)/.exec(line)!.slice(1, 3).join(':')), ['1:1', '3:3']);
    const noop = await a.command('n', 'NOOP');
    t.true(noop.untagged.includes('* 2 EXPUNGE'));
    t.false(noop.untagged.some((line) => / EXISTS$/.test(line)), 'no EXISTS for an expunge (it never drops)');
  });

  test(name('flags set by another session arrive as FETCH (FLAGS) on NOOP, with UID and MODSEQ after CONDSTORE'), async (t) => {
    const served = await startBackendServer(t, kind);
    await served.deliver('INBOX', sampleMessage('one'));
    const a = await loggedIn(t, served.port);
    const b = await loggedIn(t, served.port);
    await a.command('en', 'ENABLE CONDSTORE');
    const selected = await a.command('s', 'SELECT INBOX');
    t.true(selected.untagged.some((line) => /^\* OK \[HIGHESTMODSEQ \d+\]/.test(line)));
    await b.command('s', 'SELECT INBOX');
    await b.command('f', 'STORE 1 +FLAGS.SILENT (\\Flagged $Work)');
    const noop = await a.command('n', 'NOOP');
    t.true(noop.untagged.some((line) => /^\* FLAGS \(.*\$Work/.test(line)), 'the new keyword is announced first');
    t.true(noop.untagged.some((line) => /^\* 1 FETCH \(UID 1 FLAGS \(.*\\Flagged.*\) MODSEQ \(\d+\)\)$/.test(line)), noop.untagged.join('\n'));
  });

  test(name('UID COPY/MOVE/STORE of UIDs that do not exist answer OK; COPY to a missing mailbox is NO [TRYCREATE]'), async (t) => {
    const served = await startBackendServer(t, kind);
    await served.deliver('INBOX', sampleMessage('one'));
    const a = await loggedIn(t, served.port);
    await a.command('s', 'SELECT INBOX');
    t.regex((await a.command('m', 'UID MOVE 50:60 Archive')).tagged, /^m OK/);
    t.regex((await a.command('c', 'UID COPY 70 Archive')).tagged, /^c OK/);
    t.regex((await a.command('st', 'UID STORE 80 +FLAGS (\\Seen)')).tagged, /^st OK/);
    t.regex((await a.command('x', 'UID COPY 1 Nowhere')).tagged, /^x NO \[TRYCREATE\]/);
    const moved = await a.command('mv', 'UID MOVE 1 Archive');
    t.regex(moved.untagged.join('\n'), /^\* OK \[COPYUID \d+ 1 1\]/m);
    t.true(moved.untagged.includes('* 1 EXPUNGE'));
  });

  test(name('APPEND with LITERAL+ after login, APPENDUID, and STATUS MESSAGES UIDNEXT UNSEEN SIZE'), async (t) => {
    const served = await startBackendServer(t, kind);
    const a = await loggedIn(t, served.port);
    const raw = sampleMessage('appended', 'x'.repeat(10_000));
    a.write(`ap APPEND Drafts (\\Seen \\Draft) {${Buffer.byteLength(raw)}+}\r\n${raw}\r\n`);
    t.regex((await a.until('ap')).tagged, /^ap OK \[APPENDUID \d+ 1\]/);
    t.deepEqual((await a.command('st', 'STATUS Drafts (MESSAGES UIDNEXT UNSEEN SIZE)')).untagged, [`* STATUS "Drafts" (MESSAGES 1 UIDNEXT 2 UNSEEN 0 SIZE ${Buffer.byteLength(raw)})`]);
    t.regex((await a.command('tc', 'APPEND Nowhere {3+}\r\nabc')).tagged, /^tc NO \[TRYCREATE\]/);
  });

  test(name('\\Recent belongs to one session only'), async (t) => {
    const served = await startBackendServer(t, kind);
    await served.deliver('INBOX', sampleMessage('one'));
    const a = await loggedIn(t, served.port);
    const b = await loggedIn(t, served.port);
    t.true((await a.command('s', 'SELECT INBOX')).untagged.includes('* 1 RECENT'));
    t.true((await b.command('s', 'SELECT INBOX')).untagged.includes('* 0 RECENT'));
    await served.deliver('INBOX', sampleMessage('two'));
    const first = await a.command('n', 'NOOP');
    const second = await b.command('n', 'NOOP');
    const recent = (lines: string[]) => lines.find((line) => / RECENT$/.test(line));
    t.is(recent(first.untagged), '* 2 RECENT', 'the session that syncs first claims the new message');
    t.not(recent(second.untagged), '* 1 RECENT', 'the other does not get it too');
    t.is([first, second].filter((r) => r.untagged.includes('* 2 EXISTS')).length, 2);
  });
}
