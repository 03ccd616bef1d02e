// EXPUNGE and UID EXPUNGE (RFC 3501 §6.4.3, RFC 4315 §2.1), and the rules
// for telling other sessions (RFC 3501 §7.4.1): no EXPUNGE during FETCH,
// STORE or SEARCH; EXPUNGE before the EXISTS that follows; no `* 0 EXISTS`.

import test from 'ava';
import { RawClient } from './helpers/raw-client.ts';
import { message, selectedClient, user } from './helpers/server.ts';

async function twoSessions(t: Parameters<typeof selectedClient>[0], count: number) {
  const started = await selectedClient(t, count);
  const other = await RawClient.connect(t, started.port);
  await other.login();
  await other.command('b0', 'SELECT INBOX');
  return { ...started, other };
}

test('EXPUNGE removes \\Deleted messages, numbered from the highest down', async (t) => {
  const { client } = await selectedClient(t, 5);
  await client.command('a1', 'STORE 2,4,5 +FLAGS.SILENT (\\Deleted)');
  const result = await client.command('a2', 'EXPUNGE');
  t.deepEqual(result.untagged, ['* 5 EXPUNGE', '* 4 EXPUNGE', '* 2 EXPUNGE', '* 2 RECENT']);
  t.deepEqual((await client.command('a3', 'FETCH 1:* UID')).untagged, ['* 1 FETCH (UID 1)', '* 2 FETCH (UID 3)']);
});

test('an EXPUNGE that removes nothing says nothing (no `* 0 EXISTS`)', async (t) => {
  const { client } = await selectedClient(t, 0);
  t.deepEqual(await client.command('a1', 'EXPUNGE'), { untagged: [], tagged: 'a1 OK EXPUNGE completed' });
  t.deepEqual(await client.command('a2', 'NOOP'), { untagged: [], tagged: 'a2 OK NOOP completed' });
});

test('UID EXPUNGE removes only the named \\Deleted messages', async (t) => {
  const { client, backend } = await selectedClient(t, 3);
  await client.command('a1', 'STORE 1:3 +FLAGS.SILENT (\\Deleted)');
  t.deepEqual((await client.command('a2', 'UID EXPUNGE 2:3')).untagged, ['* 3 EXPUNGE', '* 2 EXPUNGE', '* 1 RECENT']);
  t.deepEqual(backend.mailbox(user, 'INBOX').messages.map((m) => m.uid), [1]);
});

test('another session\'s expunge waits during FETCH, STORE and SEARCH, and comes with the next NOOP', async (t) => {
  const { client, other } = await twoSessions(t, 4);
  await other.command('b1', 'STORE 2 +FLAGS.SILENT (\\Deleted)');
  await other.command('b2', 'EXPUNGE');
  for (const command of ['FETCH 1:4 (FLAGS)', 'STORE 4 +FLAGS.SILENT (\\Seen)', 'SEARCH ALL', 'SORT (ARRIVAL) UTF-8 ALL']) {
    const result = await client.command('x', command);
    t.false(result.untagged.some((line) => / EXPUNGE$/.test(line)), command);
  }
  // message 2 keeps its number until then: SEARCH still numbers 4 messages
  t.deepEqual((await client.command('s', 'SEARCH ALL')).untagged, ['* SEARCH 1 3 4']);
  t.deepEqual((await client.command('n', 'NOOP')).untagged, ['* 2 EXPUNGE', '* 3 RECENT']);
  t.deepEqual((await client.command('f', 'FETCH 1:* UID')).untagged, ['* 1 FETCH (UID 1)', '* 2 FETCH (UID 3)', '* 3 FETCH (UID 4)']);
});

test('UID FETCH may carry the pending EXPUNGE; its numbers are then the new ones', async (t) => {
  const { client, other } = await twoSessions(t, 3);
  await other.command('b1', 'STORE 1 +FLAGS.SILENT (\\Deleted)');
  await other.command('b2', 'EXPUNGE');
  const result = await client.command('a1', 'UID FETCH 1:* (UID)');
  t.deepEqual(result.untagged, ['* 1 EXPUNGE', '* 2 RECENT', '* 1 FETCH (UID 2)', '* 2 FETCH (UID 3)']);
});

test('EXISTS never drops: expunges come first, then the EXISTS with the new count', async (t) => {
  const { client, other, backend } = await twoSessions(t, 3);
  await other.command('b1', 'STORE 1:2 +FLAGS.SILENT (\\Deleted)');
  await other.command('b2', 'EXPUNGE');
  backend.deliver(user, 'INBOX', message('new'));
  const during = await client.command('a1', 'FETCH 1 (UID)');
  // During FETCH: only the EXISTS, counting the messages not yet expunged here.
  t.true(during.untagged.includes('* 4 EXISTS'));
  const after = await client.command('a2', 'NOOP');
  t.deepEqual(after.untagged, ['* 2 EXPUNGE', '* 1 EXPUNGE', '* 2 RECENT']);
  t.deepEqual((await client.command('a3', 'FETCH 1:* UID')).untagged, ['* 1 FETCH (UID 3)', '* 2 FETCH (UID 4)']);
});

test('a delivery and an expunge together: EXPUNGE before EXISTS in one NOOP', async (t) => {
  const { client, other, backend } = await twoSessions(t, 2);
  await other.command('b1', 'STORE 1 +FLAGS.SILENT (\\Deleted)');
  await other.command('b2', 'EXPUNGE');
  backend.deliver(user, 'INBOX', message('new'));
  // (this session holds \Recent for the message left and the new one)
  t.deepEqual((await client.command('a1', 'NOOP')).untagged, ['* 1 EXPUNGE', '* 2 EXISTS', '* 2 RECENT']);
});

test('\\Recent goes to exactly one session', async (t) => {
  const { client, other, backend } = await twoSessions(t, 0);
  backend.deliver(user, 'INBOX', message('new'));
  const first = await client.command('a1', 'NOOP');
  const second = await other.command('b1', 'NOOP');
  t.deepEqual(first.untagged, ['* 1 EXISTS', '* 1 RECENT']);
  t.deepEqual(second.untagged, ['* 1 EXISTS', '* 0 RECENT']);
  t.deepEqual((await other.command('b2', 'FETCH 1 FLAGS')).untagged, ['* 1 FETCH (FLAGS ())']);
  t.deepEqual((await client.command('a2', 'FETCH 1 FLAGS')).untagged, ['* 1 FETCH (FLAGS (\\Recent))']);
});

test('EXPUNGE in a read-only mailbox is refused', async (t) => {
  const { client } = await selectedClient(t, 1);
  await client.command('a1', 'EXAMINE INBOX');
  t.regex((await client.command('a2', 'EXPUNGE')).tagged, /^a2 NO/);
});

test('QRESYNC sessions get VANISHED instead of EXPUNGE', async (t) => {
  const { port, backend } = await selectedClient(t, 0);
  for (let i = 0; i < 3; i++) backend.deliver(user, 'INBOX', message(`m${i}`));
  const client = await RawClient.connect(t, port);
  await client.login();
  await client.command('a0', 'ENABLE QRESYNC');
  await client.command('a1', 'SELECT INBOX');
  await client.command('a2', 'STORE 1:2 +FLAGS.SILENT (\\Deleted)');
  const expunged = await client.command('a3', 'EXPUNGE');
  t.deepEqual(expunged.untagged, ['* VANISHED 1:2', '* 1 RECENT']);
  t.is(expunged.tagged, `a3 OK [HIGHESTMODSEQ ${backend.mailbox(user, 'INBOX').highestModseq}] EXPUNGE completed`);
});
