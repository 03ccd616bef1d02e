// ENABLE (RFC 5161), ID (RFC 2971), NAMESPACE (RFC 2342), GETQUOTA and
// GETQUOTAROOT (RFC 9208), CONDSTORE/QRESYNC fetch modifiers (RFC 7162),
// pipelining and the order of responses.

import test from 'ava';
import { RawClient } from './helpers/raw-client.ts';
import { loggedInClient, message, selectedClient, startServer, user } from './helpers/server.ts';


test('ENABLE answers ENABLED with what it turned on; unknown names are ignored; not after SELECT', async (t) => {
  const { client } = await loggedInClient(t);
  t.deepEqual((await client.command('a1', 'ENABLE CONDSTORE X-UNKNOWN')).untagged, ['* ENABLED CONDSTORE']);
  t.deepEqual((await client.command('a2', 'ENABLE CONDSTORE QRESYNC')).untagged, ['* ENABLED QRESYNC']);
  await client.command('a3', 'SELECT INBOX');
  t.regex((await client.command('a4', 'ENABLE UTF8=ACCEPT')).tagged, /^a4 BAD/);
});

test('ID before and after login; NAMESPACE', async (t) => {
  const { port } = await startServer(t, { id: { name: 'Mailnest', version: '1' } });
  const client = await RawClient.connect(t, port);
  t.deepEqual((await client.command('a1', 'ID ("name" "test" "version" NIL)')).untagged, ['* ID ("name" "Mailnest" "version" "1")']);
  t.regex((await client.command('a2', 'ID NIL')).tagged, /^a2 OK/);
  t.regex((await client.command('a3', 'ID (name)')).tagged, /^a3 BAD/);
  await client.login();
  t.deepEqual((await client.command('a4', 'NAMESPACE')).untagged, ['* NAMESPACE (("" "/")) NIL NIL']);
});

test('GETQUOTAROOT and GETQUOTA; SETQUOTA is refused; no QUOTA without a backend that answers', async (t) => {
  const { client, backend } = await loggedInClient(t);
  backend.account(user).quotaBytes = 1024 * 1024;
  backend.deliver(user, 'INBOX', 'x'.repeat(3000));
  t.deepEqual((await client.command('a1', 'GETQUOTAROOT INBOX')).untagged, ['* QUOTAROOT "INBOX" ""', '* QUOTA "" (STORAGE 3 1024)']);
  t.deepEqual((await client.command('a2', 'GETQUOTA ""')).untagged, ['* QUOTA "" (STORAGE 3 1024)']);
  t.regex((await client.command('a3', 'GETQUOTA "other"')).tagged, /^a3 NO/);
  t.regex((await client.command('a4', 'SETQUOTA "" (STORAGE 10)')).tagged, /^a4 NO/);
  // over quota: APPEND is NO [OVERQUOTA]
  client.write(`a5 APPEND INBOX {2000000+}\r\n${'y'.repeat(2_000_000)}\r\n`);
  t.regex((await client.until('a5', 10_000)).tagged, /^a5 NO \[OVERQUOTA\]/);
  t.is((await client.command('a6', 'NOOP')).tagged, 'a6 OK NOOP completed');
});

test('QUOTA advertises only the resources the backend declares (RFC 9208 §5); STORAGE brings STATUS DELETED-STORAGE', async (t) => {
  const { client, backend } = await selectedClient(t, 3);
  const caps = (await client.command('a1', 'CAPABILITY')).untagged[0]!.split(' ').slice(2);
  t.deepEqual(caps.filter((cap) => cap.startsWith('QUOTA')), ['QUOTA', 'QUOTA=RES-STORAGE']);
  const inbox = backend.mailbox(user, 'INBOX');
  const deletedSize = inbox.messages[0]!.raw.length + inbox.messages[2]!.raw.length;
  t.is((await client.command('a2', 'STORE 1,3 +FLAGS.SILENT (\\Deleted)')).tagged, 'a2 OK STORE completed');
  t.deepEqual((await client.command('a3', 'STATUS INBOX (DELETED DELETED-STORAGE)')).untagged, [`* STATUS "INBOX" (DELETED 2 DELETED-STORAGE ${deletedSize})`]);
  t.deepEqual((await client.command('a4', 'LIST "" INBOX RETURN (STATUS (DELETED-STORAGE))')).untagged.slice(-1), [`* STATUS "INBOX" (DELETED-STORAGE ${deletedSize})`]);

  // A backend that declares no resources gets no QUOTA, no quota commands and no DELETED-STORAGE.
  const bare = await loggedInClient(t);
  Object.defineProperty(bare.backend, 'quotaResources', { value: undefined });
  const bareCaps = (await bare.client.command('b1', 'CAPABILITY')).untagged[0]!.split(' ');
  t.false(bareCaps.some((cap) => cap.startsWith('QUOTA')));
  t.regex((await bare.client.command('b2', 'GETQUOTAROOT INBOX')).tagged, /^b2 BAD/);
  t.regex((await bare.client.command('b3', 'STATUS INBOX (DELETED-STORAGE)')).tagged, /^b3 BAD/);
});

test('FETCH (CHANGEDSINCE) returns only changed messages, with MODSEQ; UID FETCH (CHANGEDSINCE VANISHED) reports expunges', async (t) => {
  const { client, backend } = await selectedClient(t, 4);
  const inbox = backend.mailbox(user, 'INBOX');
  const since = inbox.highestModseq;
  await client.command('a1', 'STORE 2 +FLAGS.SILENT (\\Seen)');
  const changed = await client.command('a2', `FETCH 1:* (FLAGS) (CHANGEDSINCE ${since})`);
  t.deepEqual(changed.untagged, [`* OK [HIGHESTMODSEQ ${since + 1}] Highest`, `* 2 FETCH (FLAGS (\\Recent \\Seen) MODSEQ (${since + 1}))`]);
  t.regex((await client.command('a3', `UID FETCH 1:* (FLAGS) (CHANGEDSINCE ${since} VANISHED)`)).tagged, /^a3 BAD/);
  await client.command('a4', 'STORE 3 +FLAGS.SILENT (\\Deleted)');
  await client.command('a5', 'EXPUNGE');
  await client.command('a6', 'UNSELECT');
  await client.command('a7', 'ENABLE QRESYNC');
  await client.command('a8', 'SELECT INBOX');
  const vanished = await client.command('a9', `UID FETCH 1:* (FLAGS) (CHANGEDSINCE ${since} VANISHED)`);
  t.deepEqual(vanished.untagged.map((line) => line.replace(/MODSEQ \(\d+\)/, 'MODSEQ (n)')), ['* VANISHED (EARLIER) 3', '* 2 FETCH (UID 2 FLAGS (\\Seen) MODSEQ (n))']);
});

test('pipelined commands are answered in order, each before the next tagged response', async (t) => {
  const { port, backend } = await loggedInClient(t);
  backend.deliver(user, 'INBOX', message('one'));
  const client = await RawClient.connect(t, port);
  client.write('p1 LOGIN alice@example.test secret\r\np2 SELECT INBOX\r\np3 FETCH 1 (UID)\r\np4 STATUS Sent (MESSAGES)\r\np5 NOOP\r\n');
  const tags: string[] = [];
  for (let i = 0; i < 5; ) {
    const line = await client.readResponse();
    if (/^p\d /.test(line)) {
      tags.push(line.slice(0, 5));
      i++;
    }
  }
  t.deepEqual(tags, ['p1 OK', 'p2 OK', 'p3 OK', 'p4 OK', 'p5 OK']);
});

test('a tag that cannot be read gets an untagged BAD; a blank line before a tag is fine', async (t) => {
  const { client } = await loggedInClient(t);
  client.write('\r\n\r\n+bad NOOP\r\n\r\na1 NOOP\r\n');
  t.regex(await client.readResponse(), /^\* BAD/);
  t.is(await client.readResponse(), 'a1 OK NOOP completed');
});

test('server.close() says BYE to every session', async (t) => {
  const { client, server } = await loggedInClient(t);
  const closing = server.close(500);
  t.is(await client.readResponse(), '* BYE Server shutting down');
  await closing;
  await client.waitClosed();
  t.is(server.connections, 0);
});
