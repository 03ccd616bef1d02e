// SELECT and EXAMINE (RFC 3501 §6.3.1, §6.3.2), with CONDSTORE (RFC 7162
// §3.1.8) and QRESYNC (RFC 7162 §3.2.5); UNSELECT (RFC 3691) and CLOSE.

import test from 'ava';
import { RawClient } from './helpers/raw-client.ts';
import { message, startServer, user } from './helpers/server.ts';

async function withMessages(t: Parameters<typeof startServer>[0], count: number) {
  const started = await startServer(t);
  for (let i = 1; i <= count; i++) started.backend.deliver(user, 'INBOX', message(`m${i}`), i === 1 ? ['\\Seen'] : []);
  const client = await RawClient.connect(t, started.port);
  await client.login();
  return { ...started, client };
}

test('SELECT answers FLAGS, PERMANENTFLAGS, EXISTS, RECENT, UNSEEN, UIDVALIDITY, UIDNEXT, HIGHESTMODSEQ, then READ-WRITE', async (t) => {
  const { client, backend } = await withMessages(t, 3);
  const inbox = backend.mailbox(user, 'INBOX');
  const result = await client.command('a1', 'SELECT INBOX');
  t.deepEqual(result.untagged, [
    '* FLAGS (\\Seen \\Answered \\Flagged \\Deleted \\Draft)',
    '* OK [PERMANENTFLAGS (\\Seen \\Answered \\Flagged \\Deleted \\Draft \\*)] Flags permitted',
    '* 3 EXISTS',
    '* 3 RECENT',
    '* OK [UNSEEN 2] First unseen',
    `* OK [UIDVALIDITY ${inbox.uidValidity}] UIDs valid`,
    '* OK [UIDNEXT 4] Predicted next UID',
    `* OK [HIGHESTMODSEQ ${inbox.highestModseq}] Highest`,
  ]);
  t.is(result.tagged, 'a1 OK [READ-WRITE] SELECT completed');
  // \Recent was claimed by that SELECT: a second session sees none.
  const other = await RawClient.connect(t, client.socket.remotePort!);
  await other.login();
  t.true((await other.command('b1', 'SELECT inbox')).untagged.includes('* 0 RECENT'));
});

test('EXAMINE is read-only: no \\Recent claimed, no PERMANENTFLAGS, STORE refused, BODY[] does not set \\Seen', async (t) => {
  const { client, backend } = await withMessages(t, 2);
  const result = await client.command('a1', 'EXAMINE INBOX');
  t.true(result.untagged.includes('* OK [PERMANENTFLAGS ()] Flags permitted'));
  t.is(result.tagged, 'a1 OK [READ-ONLY] EXAMINE completed');
  t.regex((await client.command('a2', 'STORE 1 +FLAGS (\\Flagged)')).tagged, /^a2 NO/);
  await client.command('a3', 'FETCH 2 BODY[]');
  t.deepEqual(backend.mailbox(user, 'INBOX').messages[1]!.flags, []);
  t.is(backend.mailbox(user, 'INBOX').firstRecentUid, 1);
});

test('SELECT of a missing mailbox is NO and leaves no mailbox selected', async (t) => {
  const { client } = await withMessages(t, 1);
  await client.command('a1', 'SELECT INBOX');
  t.regex((await client.command('a2', 'SELECT Nope')).tagged, /^a2 NO \[NONEXISTENT\]/);
  t.regex((await client.command('a3', 'FETCH 1 FLAGS')).tagged, /^a3 BAD/);
});

test('SELECT of a \\Noselect mailbox is NO [CANNOT]', async (t) => {
  const { client } = await withMessages(t, 0);
  await client.command('a1', 'CREATE parent/child');
  await client.command('a2', 'DELETE parent');
  t.regex((await client.command('a3', 'SELECT parent')).tagged, /^a3 NO \[CANNOT\]/);
});

test('SELECT (CONDSTORE) turns on MODSEQ in FETCH responses', async (t) => {
  const { client } = await withMessages(t, 1);
  await client.command('a1', 'SELECT INBOX (CONDSTORE)');
  const result = await client.command('a2', 'STORE 1 +FLAGS (\\Flagged)');
  t.regex(result.untagged[0]!, /^\* 1 FETCH \(UID 1 FLAGS \(\\Recent \\Seen \\Flagged\) MODSEQ \(\d+\)\)$/);
});

test('QRESYNC: SELECT reports VANISHED (EARLIER) and changed flags since the client\'s MODSEQ; a second SELECT says CLOSED', async (t) => {
  const { client, backend } = await withMessages(t, 4);
  const inbox = backend.mailbox(user, 'INBOX');
  const modseq = inbox.highestModseq;
  const validity = inbox.uidValidity;
  // Changes while the client was away: message 2 flagged, message 3 expunged.
  inbox.messages[1]!.flags = ['\\Flagged'];
  inbox.messages[1]!.modseq = ++inbox.highestModseq;
  inbox.messages.splice(2, 1);
  inbox.tombstones.push({ uid: 3, modseq: ++inbox.highestModseq });
  t.regex((await client.command('a0', `SELECT INBOX (QRESYNC (${validity} ${modseq}))`)).tagged, /^a0 BAD/);
  t.is((await client.command('a1', 'ENABLE QRESYNC')).untagged[0], '* ENABLED QRESYNC');
  const result = await client.command('a2', `SELECT INBOX (QRESYNC (${validity} ${modseq} 1:4))`);
  t.true(result.untagged.includes('* VANISHED (EARLIER) 3'));
  t.true(result.untagged.includes(`* 2 FETCH (UID 2 FLAGS (\\Recent \\Flagged) MODSEQ (${inbox.highestModseq - 1}))`));
  t.is(result.untagged.filter((line) => line.includes('FETCH')).length, 1);
  const again = await client.command('a3', `EXAMINE INBOX (QRESYNC (${validity + 1} ${modseq}))`);
  t.is(again.untagged[0], '* OK [CLOSED] Previous mailbox closed');
  t.false(again.untagged.some((line) => line.includes('VANISHED')));
});

test('UNSELECT leaves without expunging; CLOSE expunges silently', async (t) => {
  const { client, backend } = await withMessages(t, 2);
  await client.command('a1', 'SELECT INBOX');
  await client.command('a2', 'STORE 1 +FLAGS.SILENT (\\Deleted)');
  t.is((await client.command('a3', 'UNSELECT')).tagged, 'a3 OK UNSELECT completed');
  t.is(backend.mailbox(user, 'INBOX').messages.length, 2);
  await client.command('a4', 'SELECT INBOX');
  const closed = await client.command('a5', 'CLOSE');
  t.deepEqual(closed.untagged, []);
  t.is(backend.mailbox(user, 'INBOX').messages.length, 1);
  t.regex((await client.command('a6', 'CLOSE')).tagged, /^a6 BAD/);
});

test('mailbox names in any case of INBOX select INBOX', async (t) => {
  const { client } = await withMessages(t, 1);
  t.regex((await client.command('a1', 'SELECT iNbOx')).tagged, /^a1 OK/);
});
