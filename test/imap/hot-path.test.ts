// The IMAP hot path on the store, over the wire: header sections served from
// the header block kept in the body row (migration 9) are the same octets as
// from the file; QRESYNC and FETCH VANISHED stay correct after old tombstones
// were pruned (RFC 7162 §3.2.5.2, §3.2.6); STORE on a range larger than a page.

import test, { type ExecutionContext } from 'ava';
import { readFileSync } from 'node:fs';
import { ImapServer } from 'node-imap-server-lite';
import { memoryLogger } from '../../services/core/log.ts';
import { createBodyAnalyzer, headerRowLimit } from '../../services/delivery/analyzer.ts';
import { StoreBackend } from '../../services/imap/backend.ts';
import { Store } from '../../services/store/index.ts';
import { testPassword } from '../helpers/accounts.ts';
import { tempDataDir } from '../helpers/data-dir.ts';
import { RawImap, parseFetch } from '../helpers/imap-raw.ts';
import { appendRaw, sample } from '../helpers/mail.ts';

const user = 'alice@example.test';

async function serve(t: ExecutionContext) {
  const store = Store.open(tempDataDir(t));
  t.teardown(() => store.close());
  store.domains.add('example.test');
  await store.accounts.add({ address: user, password: testPassword });
  const backend = new StoreBackend({ store, createAnalyzer: createBodyAnalyzer, maxMessageBytes: 50 * 1024 * 1024, logger: memoryLogger('debug').logger });
  const server = new ImapServer({ backend, authFailureDelayMs: 0 });
  const { port } = await server.listen({ port: 0, host: '127.0.0.1' });
  t.teardown(() => server.close(100));
  const session = async () => {
    const imap = await RawImap.open(port);
    t.teardown(() => imap.close());
    t.regex((await imap.command(`LOGIN ${user} ${testPassword}`)).status, /^OK/);
    return imap;
  };
  const inbox = () => store.mail.findMailbox(store.accounts.get(user).id, 'INBOX')!;
  return { store, session, inbox };
}

/** The octets of each FETCH item named, per sequence number. */
async function fetchItems(imap: RawImap, command: string, keys: string[]): Promise<Map<number, Map<string, Buffer>>> {
  const { untagged, status } = await imap.command(command);
  if (!status.startsWith('OK')) throw new Error(`${command}: ${status}`);
  const out = new Map<number, Map<string, Buffer>>();
  for (const line of untagged) {
    if (!/^\* \d+ FETCH/.test(line.toString('latin1', 0, 30))) continue;
    const { seq, items } = parseFetch(line);
    const kept = new Map<string, Buffer>();
    for (const key of keys) {
      const value = items.get(key);
      if (Buffer.isBuffer(value)) kept.set(key, value);
    }
    out.set(seq, kept);
  }
  return out;
}

test('header sections from the body row are the octets the file holds; bodies without a kept header read the file', async (t) => {
  const { store, session, inbox } = await serve(t);
  const folded = 'From: =?utf-8?q?J=C3=B6rg?= <j@remote.test>\r\nTo: alice@example.test\r\nSubject: a folded\r\n subject line\r\nX-Eight: caf\xc3\xa9 \xff raw\r\nMessage-ID: <f@remote.test>\r\n\r\nBody.\r\n';
  const huge = `From: f@remote.test\r\nX-Long: ${'a'.repeat(headerRowLimit + 100)}\r\nSubject: long\r\n\r\nBody.\r\n`;
  await appendRaw(store, user, 'INBOX', Buffer.from(folded, 'latin1'));
  await appendRaw(store, user, 'INBOX', sample(2));
  await appendRaw(store, user, 'INBOX', huge);
  const rows = store.db.prepare('SELECT b.id, b.file, b.header FROM messages m JOIN bodies b ON b.id = m.body_id WHERE m.mailbox_id = ? ORDER BY m.uid').all(inbox().id) as { id: number; file: string; header: Buffer | null }[];
  const files = rows.map((r) => readFileSync(store.mail.files.absolute(r.file)));
  t.truthy(rows[0]!.header, 'kept at delivery');
  t.deepEqual(rows[0]!.header, files[0]!.subarray(0, files[0]!.indexOf('\r\n\r\n') + 4), 'the raw block, blank line included');
  t.is(rows[2]!.header, null, 'a header past the limit stays in the file only');

  const keys = ['BODY[HEADER]', 'BODY[HEADER.FIELDS (SUBJECT X-EIGHT FROM)]', 'BODY[HEADER.FIELDS.NOT (TO)]', 'BODY[]<0>', 'RFC822.HEADER'];
  const command = 'FETCH 1:3 (BODY.PEEK[HEADER] BODY.PEEK[HEADER.FIELDS (Subject X-Eight From)] BODY.PEEK[HEADER.FIELDS.NOT (To)] BODY.PEEK[]<0.40> RFC822.HEADER)';
  const imap = await session();
  await imap.command('SELECT INBOX');
  const fromRow = await fetchItems(imap, command, keys);
  for (const [seq, items] of fromRow) t.deepEqual(items.get('BODY[HEADER]'), files[seq - 1]!.subarray(0, files[seq - 1]!.indexOf('\r\n\r\n') + 4), `message ${seq}: HEADER is the file's header`);
  t.deepEqual(fromRow.get(1)!.get('BODY[HEADER.FIELDS (SUBJECT X-EIGHT FROM)]'), Buffer.from('From: =?utf-8?q?J=C3=B6rg?= <j@remote.test>\r\nSubject: a folded\r\n subject line\r\nX-Eight: caf\xc3\xa9 \xff raw\r\n\r\n', 'latin1'));

  // As a body stored before migration 9: no kept header, the same answer from the file.
  store.db.prepare('UPDATE bodies SET header = NULL').run();
  const fromFile = await fetchItems(imap, command, keys);
  t.deepEqual(fromFile, fromRow);
  t.is(fromRow.size, 3);
  for (const items of fromRow.values()) t.is(items.size, keys.length);
});

test('QRESYNC after old tombstones were pruned: every UID the client may know and the mailbox lacks is VANISHED; after the horizon, exactly the expunged ones', async (t) => {
  const { store, session, inbox } = await serve(t);
  for (let i = 1; i <= 6; i++) await appendRaw(store, user, 'INBOX', sample(i));
  const { uidValidity } = inbox();
  const before = inbox().highestModseq;
  store.mail.setFlags(inbox(), [[2, 3]], 'add', ['\\Deleted']);
  store.mail.expunge(inbox());
  const middle = inbox().highestModseq;
  store.mail.setFlags(inbox(), [[5, 5]], 'add', ['\\Deleted']);
  store.mail.expunge(inbox());

  const vanished = async (qresync: string) => {
    const imap = await session();
    await imap.command('ENABLE QRESYNC');
    const { untagged, status } = await imap.command(`SELECT INBOX (QRESYNC (${uidValidity} ${qresync}))`);
    t.regex(status, /^OK/);
    const line = untagged.map((l) => l.toString()).find((l) => l.startsWith('* VANISHED'));
    const fetched = await imap.command(`UID FETCH 1:* (FLAGS) (CHANGEDSINCE ${qresync.split(' ')[0]} VANISHED)`);
    const viaFetch = fetched.untagged.map((l) => l.toString()).find((l) => l.startsWith('* VANISHED'));
    imap.close();
    return [line, viaFetch];
  };

  t.deepEqual(await vanished(`${before} 1:6`), ['* VANISHED (EARLIER) 2:3,5', '* VANISHED (EARLIER) 2:3,5'], 'all tombstones kept: exact');
  t.is(store.mail.pruneTombstones(1), 2, 'the two older tombstones go, the newest stays');
  t.is(inbox().tombstonesPrunedModseq, middle);
  t.deepEqual(await vanished(`${middle} 1:6`), ['* VANISHED (EARLIER) 5', '* VANISHED (EARLIER) 5'], 'from the horizon on: still exact');
  t.deepEqual(await vanished(`${before} 1:6`), ['* VANISHED (EARLIER) 2:3,5', '* VANISHED (EARLIER) 2:3,5'], 'from before it: every UID missing from the known range');
  t.deepEqual((await vanished(`${before} 1:10`))[0], '* VANISHED (EARLIER) 2:3,5,7:10', 'UIDs never used are named too (RFC 7162 allows it)');
  t.deepEqual((await vanished(`${before}`))[0], '* VANISHED (EARLIER) 2:3,5', 'without known UIDs: up to UIDNEXT-1');
});

test('STORE on a range of several pages changes every message with one MODSEQ; other sessions get each change once', async (t) => {
  const { store, session, inbox } = await serve(t);
  for (let i = 1; i <= 5; i++) await appendRaw(store, user, 'INBOX', sample(i));
  const account = store.accounts.get(user);
  // Doubling by COPY into the same mailbox: 5 → 1,280 messages, through the set-based COPY.
  for (let i = 0; i < 8; i++) store.mail.copy(inbox(), [[1, 0xffffffff]], 'INBOX', account, false);
  const count = inbox().messages;
  t.is(count, 1280);
  t.is(inbox().unseen, count);

  const watcher = await session();
  await watcher.command('SELECT INBOX');
  const imap = await session();
  await imap.command('SELECT INBOX');
  const since = inbox().highestModseq;
  const { untagged, status } = await imap.command('STORE 1:* +FLAGS (\\Seen)');
  t.regex(status, /^OK/);
  t.is(untagged.filter((l) => / FETCH \(/.test(l.toString())).length, count, 'one FETCH per message');
  t.is(inbox().highestModseq, since + 1, 'one MODSEQ for the whole STORE');
  t.is(inbox().unseen, 0);

  const feed = [...store.mail.messages.changes(inbox().id, since)];
  t.is(feed.length, count, 'the paged feed gives every change');
  t.is(new Set(feed.map((c) => c.uid)).size, count, 'each once');
  t.true(feed.every((c, i) => i === 0 || c.uid > feed[i - 1]!.uid), 'in (MODSEQ, UID) order');

  const seen = await watcher.command('NOOP');
  const fetches = seen.untagged.map((l) => l.toString()).filter((l) => / FETCH \(.*FLAGS \([^)]*\\Seen/.test(l));
  t.is(fetches.length, count, 'the other session is told of each message once');

  const again = store.mail.setFlags(inbox(), [[1, 0xffffffff]], 'add', ['\\Seen']);
  t.is(again.length, count);
  t.is(again.modseq, undefined, 'nothing changed: no MODSEQ');
  t.true([...again].every((r) => r.status === 'unchanged'));
  t.deepEqual(store.mail.expunge(inbox(), [[1, 0xffffffff]]), [], 'nothing \\Deleted: nothing expunged');
  store.mail.setFlags(inbox(), [[1, 0xffffffff]], 'add', ['\\Deleted']);
  t.is(store.mail.expunge(inbox()).length, count);
  t.is(inbox().messages, 0);
  t.is(inbox().size, 0);
  t.is(store.db.prepare('SELECT count(*) FROM bodies WHERE refs != 0').pluck().get(), 0, 'every body released');
});
