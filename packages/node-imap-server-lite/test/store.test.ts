// STORE and UID STORE (RFC 3501 §6.4.6): +FLAGS/-FLAGS/FLAGS, .SILENT,
// keywords announced in FLAGS, UNCHANGEDSINCE and [MODIFIED] (RFC 7162
// §3.1.3), and UIDs that no longer exist.

import test from 'ava';
import { RawClient } from './helpers/raw-client.ts';
import { selectedClient, user } from './helpers/server.ts';

test('FLAGS, +FLAGS, -FLAGS answer FETCH FLAGS; .SILENT answers nothing', async (t) => {
  const { client } = await selectedClient(t, 2);
  t.deepEqual((await client.command('a1', 'STORE 1 FLAGS (\\seen \\FLAGGED)')).untagged, ['* 1 FETCH (FLAGS (\\Recent \\Seen \\Flagged))']);
  t.deepEqual((await client.command('a2', 'STORE 1:2 +FLAGS \\Answered')).untagged, ['* 1 FETCH (FLAGS (\\Recent \\Seen \\Answered \\Flagged))', '* 2 FETCH (FLAGS (\\Recent \\Answered))']);
  t.deepEqual((await client.command('a3', 'STORE 1 -FLAGS (\\Seen)')).untagged, ['* 1 FETCH (FLAGS (\\Recent \\Answered \\Flagged))']);
  t.deepEqual(await client.command('a4', 'STORE 2 +FLAGS.SILENT (\\Deleted)'), { untagged: [], tagged: 'a4 OK STORE completed' });
  t.deepEqual((await client.command('a5', 'UID STORE 2 -FLAGS (\\Deleted)')).untagged, ['* 2 FETCH (UID 2 FLAGS (\\Recent \\Answered))']);
});

test('a new keyword is announced with FLAGS and PERMANENTFLAGS before the FETCH that uses it', async (t) => {
  const { client } = await selectedClient(t, 1);
  const result = await client.command('a1', 'STORE 1 +FLAGS ($Forwarded Work)');
  t.deepEqual(result.untagged, [
    '* FLAGS (\\Seen \\Answered \\Flagged \\Deleted \\Draft $Forwarded Work)',
    '* OK [PERMANENTFLAGS (\\Seen \\Answered \\Flagged \\Deleted \\Draft $Forwarded Work \\*)] Flags permitted',
    '* 1 FETCH (FLAGS (\\Recent $Forwarded Work))',
  ]);
  t.deepEqual((await client.command('a2', 'STORE 1 +FLAGS (Work)')).untagged, ['* 1 FETCH (FLAGS (\\Recent $Forwarded Work))']);
});

test('another session sees the change as an unsolicited FETCH, and a new keyword first as FLAGS', async (t) => {
  const { client, port } = await selectedClient(t, 2);
  const other = await RawClient.connect(t, port);
  await other.login();
  await other.command('b1', 'SELECT INBOX');
  await client.command('a1', 'STORE 2 +FLAGS (\\Flagged Urgent)');
  const noop = await other.command('b2', 'NOOP');
  t.deepEqual(noop.untagged, [
    '* FLAGS (\\Seen \\Answered \\Flagged \\Deleted \\Draft Urgent)',
    '* OK [PERMANENTFLAGS (\\Seen \\Answered \\Flagged \\Deleted \\Draft Urgent \\*)] Flags permitted',
    '* 2 FETCH (UID 2 FLAGS (\\Flagged Urgent))',
  ]);
  // The session that made the change is not told again.
  t.deepEqual((await client.command('a2', 'NOOP')).untagged, []);
});

test('UID STORE of UIDs that no longer exist answers OK with no effect', async (t) => {
  const { client } = await selectedClient(t, 1);
  t.deepEqual(await client.command('a1', 'UID STORE 99:120 +FLAGS (\\Deleted)'), { untagged: [], tagged: 'a1 OK UID STORE completed' });
  t.regex((await client.command('a2', 'STORE 7 +FLAGS (\\Deleted)')).tagged, /^a2 BAD/);
});

test('UNCHANGEDSINCE: messages changed since are left alone and named in [MODIFIED]; MODSEQ in every FETCH', async (t) => {
  const { client, backend } = await selectedClient(t, 3);
  const inbox = backend.mailbox(user, 'INBOX');
  const before = inbox.highestModseq;
  await client.command('a1', 'STORE 2 +FLAGS.SILENT (\\Seen)');
  const result = await client.command('a2', `STORE 1:3 (UNCHANGEDSINCE ${before}) +FLAGS (\\Flagged)`);
  t.is(result.untagged[0], `* OK [HIGHESTMODSEQ ${before + 1}] Highest`);
  t.deepEqual(result.untagged.slice(1).map((line) => line.replace(/MODSEQ \(\d+\)/, 'MODSEQ (n)')), ['* 1 FETCH (UID 1 FLAGS (\\Recent \\Flagged) MODSEQ (n))', '* 3 FETCH (UID 3 FLAGS (\\Recent \\Flagged) MODSEQ (n))']);
  t.is(result.tagged, 'a2 OK [MODIFIED 2] Some messages were modified since UNCHANGEDSINCE');
  const uid = await client.command('a3', `UID STORE 1:3 (UNCHANGEDSINCE ${before}) -FLAGS.SILENT (\\Flagged)`);
  t.is(uid.tagged, 'a3 OK [MODIFIED 1:3] Some messages were modified since UNCHANGEDSINCE');
  // .SILENT with CONDSTORE on still reports the new MODSEQ (RFC 7162 §3.1.3)
  const silent = await client.command('a4', 'STORE 1 +FLAGS.SILENT (\\Draft)');
  t.regex(silent.untagged[0]!, /^\* 1 FETCH \(UID 1 MODSEQ \(\d+\)\)$/);
});

test('bad STORE syntax is BAD: unknown item, \\* or an unknown system flag', async (t) => {
  const { client } = await selectedClient(t, 1);
  for (const command of ['STORE 1 XFLAGS (\\Seen)', 'STORE 1 +FLAGS (\\*)', 'STORE 1 +FLAGS (\\Bogus)', 'STORE 1 +FLAGS', 'STORE 1 (UNCHANGEDSINCE x) +FLAGS (a)']) {
    t.regex((await client.command('x', command)).tagged, /^x BAD/, command);
  }
  // \Recent cannot be stored; it is ignored
  t.deepEqual((await client.command('y', 'STORE 1 FLAGS (\\Recent)')).untagged, ['* 1 FETCH (FLAGS (\\Recent))']);
});
