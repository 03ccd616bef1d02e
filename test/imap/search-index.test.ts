// SEARCH and SORT from the search index (services/imap/search.ts) against the
// library's own matcher on the same mailbox: two IMAP servers over one store,
// one whose backend answers from the index and one whose backend leaves both
// commands to the library. Every query must get the same answer from both,
// before the backfill (some bodies pending: scanned one by one) and after it;
// and the index must really have answered (counted), or the test proves
// nothing. Then imapflow end to end, and the index rows going with the body.

import test from 'ava';
import { ImapServer, type ImapBackend } from 'node-imap-server-lite';
import { memoryLogger } from '../../services/core/log.ts';
import { createBodyAnalyzer } from '../../services/delivery/analyzer.ts';
import { StoreBackend } from '../../services/imap/backend.ts';
import { Store } from '../../services/store/index.ts';
import { SearchBackfill } from '../../services/store/search-index.ts';
import { testPassword } from '../helpers/accounts.ts';
import { tempDataDir } from '../helpers/data-dir.ts';
import { imapClient } from '../helpers/imap-client.ts';
import { RawImap } from '../helpers/imap-raw.ts';
import { appendRaw } from '../helpers/mail.ts';

const user = 'alice@example.test';
const b64 = (text: string, encoding: BufferEncoding = 'utf8') => Buffer.from(text, encoding).toString('base64');
const day = Date.UTC(2026, 10, 24, 12);

interface Sample {
  raw: string;
  flags?: string[];
  /** Days after 24-Nov-2026. */
  days?: number;
}

function msg(headers: string, body: string, extra: Partial<Sample> = {}): Sample {
  return { raw: `${headers.replace(/\n/g, '\r\n')}\r\n\r\n${body.replace(/\r?\n/g, '\r\n')}`, ...extra };
}

const corpus: Sample[] = [
  msg('From: Anna Müller <anna@example.org>\nTo: alice@example.test\nSubject: Pineapple report\nDate: Tue, 24 Nov 2026 10:00:00 +0000\nMessage-ID: <a1@example.org>\nList-Id: Fruit <fruit.lists.example.org>', 'The pineapple harvest was good.', { flags: ['\\Seen'] }),
  msg('From: =?utf-8?Q?J=C3=B6rg_Schr=C3=B6der?= <joerg@example.de>\nTo: Alice <alice@example.test>, Bob <bob@example.test>\nCc: carol@example.test\nSubject: =?utf-8?B?' + b64('Grüße aus Köln') + '?=\nDate: Wed, 25 Nov 2026 23:30:00 -0500\nMessage-ID: <b2@example.de>\nMIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: base64', b64('Schöne Grüße, wir sehen uns in Köln.\n'), { days: 1, flags: ['\\Flagged', '$Important'] }),
  msg('From: bob@example.test\nTo: alice@example.test\nSubject: Re: Pineapple report\nDate: Thu, 26 Nov 2026 08:00:00 +0100\nIn-Reply-To: <a1@example.org>\nReferences: <a1@example.org>\nMIME-Version: 1.0\nContent-Type: text/plain; charset=us-ascii\nContent-Transfer-Encoding: quoted-printable', 'A pine=\napple for you, and one for =C3=A9mile.', { days: 2, flags: ['\\Answered', '\\Seen'] }),
  msg('From: "Carol (work)" <carol@example.test>\nTo: alice@example.test\nSubject: [fruit] Fwd: budget\nDate: not a date at all\nMIME-Version: 1.0\nContent-Type: multipart/alternative; boundary="xyz"', '--xyz\nContent-Type: text/plain\n\nBudget for bananas: 42 EUR\n--xyz\nContent-Type: text/html\n\n<p>Budget for <b>bananas</b></p>\n--xyz--\n', { days: 3 }),
  msg('From: dave@example.net\nTo: alice@example.test\nSubject: utf16\nMIME-Version: 1.0\nContent-Type: text/plain; charset=utf-16le\nContent-Transfer-Encoding: base64', b64('pineapple juice from Dave', 'utf16le'), { days: 4, flags: ['\\Deleted'] }),
  msg('From: eve@example.net\nTo: alice@example.test\nTo: second-to@example.net\nSubject: header only\nX-Fruit: pineapple\nDate: Mon, 30 Nov 2026 09:00:00 +0000', 'Nothing here at all.', { days: 5 }),
  msg('From: frank@example.com\nTo: alice@example.test\nSubject: forward\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b', '--b\nContent-Type: text/plain\n\nSee attached.\n--b\nContent-Type: message/rfc822\n\nSubject: =?utf-8?B?' + b64('inner pineapple') + '?=\nFrom: inner@example.com\n\ninner text kiwi\n--b\nContent-Type: application/octet-stream\nContent-Transfer-Encoding: base64\n\n' + b64('binary kiwi pineapple') + '\n--b--\n', { days: 6 }),
  msg('From: Ωmega <omega@example.gr>\nTo: alice@example.test\nSubject: ΟΔΟΣ και σοφία\nDate: Tue, 01 Dec 2026 12:00:00 +0200\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit', 'Η ΟΔΟΣ είναι μακριά. İstanbul straße', { days: 7, flags: ['$label1'] }),
  msg('From: grace@example.com\nTo: alice@example.test\nSubject: Re: Re: [list] Fwd: Pineapple report (fwd)\nDate: Wed, 02 Dec 2026 12:00:00 +0000', 'short', { days: 8, flags: ['\\Draft'] }),
  msg('From: heidi@example.com\nSubject:\nDate: Thu, 03 Dec 2026 12:00:00 +0000', 'no to, empty subject; ab cd', { days: 9 }),
  msg('From: ivan@example.com\nTo: alice@example.test\nSubject: latin1\nContent-Type: text/plain; charset=iso-8859-1\nContent-Transfer-Encoding: 8bit', 'caf\xe9 cr\xe8me br\xfbl\xe9e', { days: 10 }),
  msg('From: judy@example.com\nTo: alice@example.test\nSubject: plain ascii multipart\nContent-Type: multipart/mixed; boundary=zz', '--zz\nContent-Type: text/plain\n\nalpha beta gamma\n--zz\nContent-Type: image/png\n\nnotreallyapng kiwi\n--zz--\n', { days: 11 }),
];

// A message larger than what is indexed at delivery: pending until the backfill.
const large = msg('From: big@example.com\nTo: alice@example.test\nSubject: large pineapple\nDate: Fri, 04 Dec 2026 12:00:00 +0000', 'x'.repeat(300 * 1024) + '\nthe end is a pineapple\n', { days: 12 });

// Edge cases, after the large message so that the UIDs above stay as they are.
const edge: Sample[] = [
  // ISO-2022-JP: 7-bit octets, Japanese once decoded.
  msg('From: kenji@example.jp\nTo: alice@example.test\nSubject: =?ISO-2022-JP?B?GyRCJDMkcyRLJEEkTxsoQg==?=\nContent-Type: text/plain; charset=iso-2022-jp', '\x1b$B$3$s$K$A$O\x1b(B pineapple', { days: 13 }),
  // A hint in the text itself makes the library decode instead of reading the raw octets.
  msg('From: leo@example.com\nTo: alice@example.test\nSubject: hint\nContent-Type: multipart/mixed; boundary=q', '--q\nContent-Type: text/plain\n\nThe word BASE64 appears, with pineapple.\n--q--\n', { days: 14 }),
  // Line feeds only, and a header with no body at all.
  { raw: 'From: mia@example.com\nTo: alice@example.test\nSubject: lf only\n\nline feeds only, kiwi inside\n', days: 15 },
  { raw: 'From: nick@example.com\r\nSubject: no body kiwi\r\n', days: 15 },
  // A Kelvin sign lower-cases to an ASCII k in decoded text, but not in the raw octets the library reads for ASCII strings.
  msg('From: oscar@example.com\nTo: alice@example.test\nSubject: kelvin\nContent-Type: text/plain; charset=utf-8', '\u212Aelvin and say "hi" there', { days: 16, flags: ['a_b'] }),
  msg('From: pat@example.com\nTo: alice@example.test\nSubject: first subject\nSubject: second subject\nDate: Sat, 05 Dec 2026 00:30:00 +1400', 'two subjects, =?utf-8?q?not_a_header?= kiwi', { days: 17 }),
  msg('From: =?utf-8?B?' + b64('Ärger') + '?= <quinn@example.com>\nTo: alice@example.test\nSubject: Re: =?utf-8?Q?Gr=C3=BC=C3=9Fe_aus_K=C3=B6ln?=', 'ties', { days: 18 }),
].map((sample) => ({ ...sample, raw: Buffer.from(sample.raw, 'latin1').toString('latin1') }));

const manyUids = Array.from({ length: 101 }, (_, i) => 1 + 2 * i).join(',');

const searches = [
  'CHARSET UTF-8 BODY "こんにちは"',
  'CHARSET UTF-8 SUBJECT "こんにちは"',
  'BODY base64',
  'BODY "q content-type"',
  'BODY "--q"',
  'BODY kelvin',
  'CHARSET UTF-8 BODY "\u212Aelvin"',
  'BODY "say \\"hi\\""',
  'KEYWORD a_b',
  'KEYWORD axb',
  'SUBJECT second',
  'SUBJECT "first"',
  'SENTON 5-Dec-2026',
  'SENTON 4-Dec-2026',
  'BODY "=?utf-8?q?"',
  'TEXT "[fruit] fwd"',
  'BODY "a*b"',
  'BODY "bud?et"',
  'TEXT "no body"',
  `UID ${manyUids}`,
  `UID ${manyUids} BODY kiwi`,
  `OR UID ${manyUids} FLAGGED`,
  'ALL',
  'BODY pineapple',
  'TEXT pineapple',
  'NOT BODY pineapple',
  'BODY PINEAPPLE',
  'BODY kiwi',
  'TEXT kiwi',
  'BODY bananas',
  'BODY "budget for"',
  'BODY "<b>"',
  'TEXT "x-fruit: pine"',
  'TEXT "subject: re"',
  'BODY ""',
  'SUBJECT pineapple',
  'SUBJECT ""',
  'SUBJECT "re: pine"',
  'FROM anna',
  'FROM "example.test"',
  'FROM "carol (work)"',
  'TO bob',
  'TO second',
  'CC carol',
  'BCC anyone',
  'HEADER Message-ID "<a1@"',
  'HEADER In-Reply-To a1',
  'HEADER References example.org',
  'HEADER List-Id fruit.lists',
  'HEADER To ""',
  'HEADER Date "2026"',
  'SEEN',
  'UNSEEN',
  'FLAGGED',
  'UNANSWERED',
  'DELETED',
  'UNDELETED',
  'DRAFT',
  'KEYWORD $Important',
  'KEYWORD $important',
  'UNKEYWORD $label1',
  'KEYWORD \\Recent',
  'LARGER 300',
  'SMALLER 300',
  'BEFORE 27-Nov-2026',
  'ON 26-Nov-2026',
  'SINCE 30-Nov-2026',
  'SENTBEFORE 26-Nov-2026',
  'SENTON 25-Nov-2026',
  'SENTSINCE 1-Dec-2026',
  'OLDER 1',
  'YOUNGER 100000000000',
  'MODSEQ 5',
  'UID 2:5',
  'UID 1,3,5,7,9',
  '2:4',
  'OR SEEN FLAGGED',
  'OR SUBJECT pineapple BODY kiwi',
  'NOT OR SEEN SUBJECT report',
  'UNSEEN NOT DELETED BODY pineapple',
  'OR (FROM bob SEEN) (TO bob FLAGGED)',
  'NOT (BODY pineapple OR FLAGGED DRAFT)',
  'CHARSET UTF-8 BODY "Grüße"',
  'CHARSET UTF-8 BODY "KÖLN"',
  'CHARSET UTF-8 SUBJECT "grüße"',
  'CHARSET UTF-8 FROM "jörg"',
  'CHARSET UTF-8 FROM "müller"',
  'CHARSET UTF-8 BODY "émile"',
  'CHARSET UTF-8 BODY "café"',
  'CHARSET UTF-8 BODY "crème"',
  'CHARSET UTF-8 BODY "cafe"',
  'CHARSET UTF-8 SUBJECT "οδος"',
  'CHARSET UTF-8 BODY "οδος"',
  'CHARSET UTF-8 BODY "οδοσ"',
  'CHARSET UTF-8 BODY "istanbul"',
  'CHARSET UTF-8 BODY "STRASSE"',
  'CHARSET UTF-8 TEXT "ωmega"',
  // Short strings: the library answers (a trigram index cannot).
  'BODY ab',
  'SUBJECT re',
  'TEXT k',
  // An uncached header field: the library answers.
  'HEADER X-Fruit pine',
];

const sorts = ['(SUBJECT ARRIVAL) UTF-8 ALL', '(REVERSE ARRIVAL) UTF-8 ALL', '(SUBJECT) UTF-8 ALL', '(REVERSE SUBJECT) UTF-8 ALL', '(DATE) UTF-8 ALL', '(ARRIVAL) UTF-8 ALL', '(FROM) UTF-8 ALL', '(TO) UTF-8 ALL', '(CC SUBJECT) UTF-8 ALL', '(DISPLAYFROM) UTF-8 ALL', '(DISPLAYTO REVERSE SIZE) UTF-8 ALL', '(REVERSE DATE) UTF-8 BODY pineapple', '(SIZE) UTF-8 UNSEEN'];

/** The numbers of a SEARCH or SORT response (and its MODSEQ), as text. */
async function ask(imap: RawImap, command: string): Promise<string> {
  const result = await imap.command(command);
  if (!/^OK/.test(result.status)) return `status ${result.status}`;
  return result.untagged
    .map((line) => line.toString('utf8'))
    .filter((line) => /^\* (SEARCH|SORT)/.test(line))
    .join('|');
}

async function setUp(t: import('ava').ExecutionContext) {
  const store = Store.open(tempDataDir(t));
  t.teardown(() => store.close());
  store.domains.add('example.test');
  await store.accounts.add({ address: user, password: testPassword });
  const { logger } = memoryLogger('debug');
  const indexed = new StoreBackend({ store, createAnalyzer: createBodyAnalyzer, maxMessageBytes: 50 * 1024 * 1024, logger });
  const answered = { search: 0, sort: 0 };
  const search = indexed.search.bind(indexed);
  const sort = indexed.sort.bind(indexed);
  indexed.search = async (...args) => {
    const result = await search(...args);
    if (result) answered.search++;
    return result;
  };
  indexed.sort = async (...args) => {
    const result = await sort(...args);
    if (result) answered.sort++;
    return result;
  };
  // The same backend without search() and sort(): the library matches and sorts itself.
  const library: ImapBackend = Object.create(indexed, { search: { value: undefined }, sort: { value: undefined } });
  const servers = [new ImapServer({ backend: indexed, authFailureDelayMs: 0 }), new ImapServer({ backend: library, authFailureDelayMs: 0 })];
  const clients: RawImap[] = [];
  for (const server of servers) {
    const { port } = await server.listen({ port: 0, host: '127.0.0.1' });
    t.teardown(() => server.close(100));
    const imap = await RawImap.open(port);
    t.teardown(() => imap.close());
    await imap.command(`LOGIN ${user} ${testPassword}`);
    clients.push(imap);
  }
  return { store, clients, answered };
}

async function compareAll(t: import('ava').ExecutionContext, clients: RawImap[], phase: string) {
  for (const imap of clients) await imap.command('SELECT INBOX');
  for (const query of searches) {
    for (const prefix of ['UID SEARCH', 'SEARCH']) {
      const [fromIndex, fromLibrary] = [await ask(clients[0]!, `${prefix} ${query}`), await ask(clients[1]!, `${prefix} ${query}`)];
      t.is(fromIndex, fromLibrary, `${phase}: ${prefix} ${query}`);
    }
  }
  for (const query of sorts) {
    const [fromIndex, fromLibrary] = [await ask(clients[0]!, `UID SORT ${query}`), await ask(clients[1]!, `UID SORT ${query}`)];
    t.is(fromIndex, fromLibrary, `${phase}: UID SORT ${query}`);
  }
}

test('the index answers SEARCH and SORT exactly as the library does, with bodies pending and after the backfill', async (t) => {
  const { store, clients, answered } = await setUp(t);
  let n = 0;
  for (const sample of [...corpus, large, ...edge]) await appendRaw(store, user, 'INBOX', sample.raw, sample.flags ?? [], day + (sample.days ?? 0) * 86_400_000 + n++);
  // Two bodies as if stored before migration 8: their index rows are pending.
  store.db.exec("UPDATE body_search SET state = 0 WHERE body_id IN (SELECT body_id FROM messages WHERE uid IN (2, 7)); DELETE FROM body_text WHERE rowid IN (SELECT body_id FROM messages WHERE uid IN (2, 7))");
  const backfill = new SearchBackfill(store.db, store.mail.files, { batchBodies: 2 });
  t.is(backfill.pending(), 3);
  // One body as if it were over the index's bound: never indexed, always scanned.
  store.db.exec('UPDATE body_search SET state = 2 WHERE body_id = (SELECT body_id FROM messages WHERE uid = 16)');

  await compareAll(t, clients, 'pending');
  const before = { ...answered };
  t.true(before.search > searches.length, 'the index answered most searches');
  t.is(before.sort, sorts.length);

  await backfill.drain();
  t.is(backfill.pending(), 0);
  t.is(store.db.prepare('SELECT count(*) FROM body_search WHERE state = 2').pluck().get(), 1);
  await compareAll(t, clients, 'indexed');
  t.true(answered.search - before.search > searches.length);

  // A few answers spelt out, so that agreeing on a wrong answer cannot pass.
  t.is(await ask(clients[0]!, 'UID SEARCH BODY pineapple'), '* SEARCH 1 3 5 7 13 14 15');
  t.is(await ask(clients[0]!, 'UID SEARCH BODY kiwi'), '* SEARCH 7 12 16 19');
  t.is(await ask(clients[0]!, 'UID SEARCH CHARSET UTF-8 SUBJECT "grüße"'), '* SEARCH 2 20');
  t.is(await ask(clients[0]!, 'UID SEARCH OR SEEN FLAGGED'), '* SEARCH 1 2 3');
  t.is(await ask(clients[0]!, 'UID SORT (SUBJECT) UTF-8 SUBJECT pineapple'), '* SORT 13 1 3 9');
});

test('flag changes, expunges and new mail are seen by the next indexed search; the rows go with the body', async (t) => {
  const { store, clients, answered } = await setUp(t);
  for (const sample of corpus.slice(0, 4)) await appendRaw(store, user, 'INBOX', sample.raw, sample.flags ?? []);
  const [imap] = clients;
  await imap!.command('SELECT INBOX');
  t.is(await ask(imap!, 'UID SEARCH UNSEEN BODY bananas'), '* SEARCH 4');
  await imap!.command('UID STORE 4 +FLAGS (\\Seen \\Deleted)');
  t.is(await ask(imap!, 'UID SEARCH UNSEEN BODY bananas'), '* SEARCH');
  await imap!.command('EXPUNGE');
  t.is(await ask(imap!, 'UID SEARCH BODY bananas'), '* SEARCH');
  t.true(answered.search >= 3);
  const rows = () => store.db.prepare('SELECT (SELECT count(*) FROM body_search), (SELECT count(*) FROM bodies)').raw().get();
  t.deepEqual(rows(), [4, 4]);
  await store.mail.collectGarbage({ graceMs: 0 });
  t.deepEqual(rows(), [3, 3]);
  t.deepEqual(store.db.prepare("SELECT rowid FROM body_text WHERE u GLOB '*bananas*'").all(), []);
});

test('imapflow searches and sorts through the index', async (t) => {
  const { store } = await setUp(t);
  const { logger } = memoryLogger('debug');
  const backend = new StoreBackend({ store, createAnalyzer: createBodyAnalyzer, maxMessageBytes: 50 * 1024 * 1024, logger });
  let answered = 0;
  const search = backend.search.bind(backend);
  backend.search = async (...args) => {
    const result = await search(...args);
    if (result) answered++;
    return result;
  };
  const server = new ImapServer({ backend, authFailureDelayMs: 0 });
  const { port } = await server.listen({ port: 0, host: '127.0.0.1' });
  t.teardown(() => server.close(100));
  for (const sample of corpus) await appendRaw(store, user, 'INBOX', sample.raw, sample.flags ?? []);
  const client = await imapClient(t, port);
  await client.mailboxOpen('INBOX');
  t.deepEqual(await client.search({ body: 'pineapple' }, { uid: true }), [1, 3, 5, 7]);
  t.deepEqual(await client.search({ subject: 'Grüße' }, { uid: true }), [2]);
  t.deepEqual(await client.search({ from: 'jörg' }, { uid: true }), [2]);
  t.deepEqual(await client.search({ or: [{ seen: true }, { flagged: true }] }, { uid: true }), [1, 2, 3]);
  t.deepEqual(await client.search({ not: { body: 'pineapple' }, seen: false }, { uid: true }), [2, 4, 6, 8, 9, 10, 11, 12]);
  t.deepEqual(await client.search({ header: { 'list-id': 'fruit' } }, { uid: true }), [1]);
  t.deepEqual(await client.search({ text: 'σοφία' }, { uid: true }), [8]);
  t.true(answered >= 7);
});
