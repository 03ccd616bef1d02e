// SEARCH and UID SEARCH (RFC 3501 §6.4.4): every key, CHARSET, ESEARCH's
// RETURN (RFC 4731), SEARCHRES's SAVE and "$" (RFC 5182), MODSEQ (RFC 7162
// §3.1.5), WITHIN (RFC 5032); the backend's own search and the fallback.

import test from 'ava';
import { selectedClient, user } from './helpers/server.ts';

const mails = [
  { raw: 'From: Ann <ann@example.test>\r\nTo: bob@example.test\r\nCc: carl@example.test\r\nSubject: Quarterly report\r\nDate: Sat, 24 Mar 2007 23:00:00 +0200\r\nX-Tag: alpha\r\n\r\nThe numbers are in.\r\n', date: '2007-03-25T10:00:00Z', flags: ['\\Seen'] },
  { raw: 'From: "Bob B" <bob@example.test>\r\nTo: ann@example.test\r\nSubject: Re: Quarterly report\r\nDate: Sun, 25 Mar 2007 09:00:00 +0000\r\n\r\nThanks!\r\n', date: '2007-03-26T10:00:00Z', flags: ['\\Flagged', 'Work'] },
  {
    raw: 'From: carl@example.test\r\nTo: ann@example.test\r\nSubject: =?ISO-8859-1?Q?Gr=FC=DFe?=\r\nDate: Mon, 26 Mar 2007 09:00:00 +0000\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n' +
      Buffer.from('Schöne Grüße aus Berlin, mit Käse').toString('base64') +
      '\r\n',
    date: '2007-03-27T10:00:00Z',
    flags: ['\\Deleted', '\\Answered'],
  },
];

async function setup(t: Parameters<typeof selectedClient>[0], backendSearch = false) {
  const started = await selectedClient(t, 0, { backendOptions: { search: backendSearch } });
  for (const mail of mails) started.backend.deliver(user, 'INBOX', mail.raw, mail.flags, new Date(mail.date));
  const noop = await started.client.command('n', 'NOOP');
  t.true(noop.untagged.includes('* 3 EXISTS'));
  return started;
}

const cases: [string, string][] = [
  ['ALL', '1 2 3'],
  ['SEEN', '1'],
  ['UNSEEN', '2 3'],
  ['FLAGGED', '2'],
  ['UNFLAGGED', '1 3'],
  ['DELETED', '3'],
  ['UNDELETED', '1 2'],
  ['ANSWERED', '3'],
  ['UNANSWERED', '1 2'],
  ['DRAFT', ''],
  ['UNDRAFT', '1 2 3'],
  ['KEYWORD Work', '2'],
  ['UNKEYWORD Work', '1 3'],
  ['RECENT', '1 2 3'],
  ['NEW', '2 3'],
  ['OLD', ''],
  ['FROM ann', '1'],
  ['FROM "bob b"', '2'],
  ['TO ann@example.test', '2 3'],
  ['CC carl', '1'],
  ['BCC x', ''],
  ['SUBJECT quarterly', '1 2'],
  ['SUBJECT "grüße"', '3'],
  ['HEADER X-Tag alpha', '1'],
  ['HEADER X-Tag ""', '1'],
  ['BODY numbers', '1'],
  ['BODY "käse"', '3'],
  ['BODY quarterly', ''],
  ['TEXT quarterly', '1 2'],
  ['TEXT berlin', '3'],
  ['SENTBEFORE 25-Mar-2007', '1'],
  ['SENTON 24-Mar-2007', '1'],
  ['SENTSINCE 25-Mar-2007', '2 3'],
  ['BEFORE 26-Mar-2007', '1'],
  ['ON 26-Mar-2007', '2'],
  ['SINCE 26-Mar-2007', '2 3'],
  ['LARGER 200', '3'],
  ['SMALLER 200', '1 2'],
  ['NOT SEEN', '2 3'],
  ['OR SEEN FLAGGED', '1 2'],
  ['OR (SEEN FROM ann) DELETED', '1 3'],
  ['2:3 UNDELETED', '2'],
  ['*', '3'],
  ['UID 2:*', '2 3'],
  ['UID 1,3', '1 3'],
  ['(SEEN) (FROM ann)', '1'],
  ['NOT NOT NOT SEEN', '2 3'],
  ['OLDER 1', '1 2 3'],
  ['YOUNGER 60', ''],
  ['MODSEQ 1', '1 2 3 (MODSEQ 4)'],
  ['CHARSET UTF-8 SUBJECT {7}\r\nGrüße', '3'],
  ['CHARSET US-ASCII FROM carl', '3'],
];

test('every search key (library fallback)', async (t) => {
  const { client } = await setup(t);
  for (const [keys, expected] of cases) {
    client.write(Buffer.from(`x SEARCH ${keys}\r\n`, 'utf8'));
    const result = await client.until('x');
    // (MODSEQ enables CONDSTORE, which reports HIGHESTMODSEQ once)
    const lines = result.untagged.filter((line) => !line.startsWith('* OK [HIGHESTMODSEQ') && !line.startsWith('+ '));
    t.deepEqual(lines, [`* SEARCH${expected ? ' ' + expected : ''}`], keys);
  }
});

test('UID SEARCH answers UIDs; a backend search is used when it answers', async (t) => {
  const { client, backend } = await setup(t, true);
  await client.command('a0', 'STORE 1 +FLAGS.SILENT (\\Deleted)');
  t.deepEqual((await client.command('a1', 'EXPUNGE')).untagged.slice(0, 2), ['* 3 EXPUNGE', '* 1 EXPUNGE']);
  t.deepEqual((await client.command('a2', 'UID SEARCH ALL')).untagged, ['* SEARCH 2']);
  t.true(backend.calls.includes('search'));
  t.deepEqual((await client.command('a3', 'SEARCH UID 2:3')).untagged, ['* SEARCH 1']);
  // a key the backend does not answer falls back to the library
  t.deepEqual((await client.command('a4', 'UID SEARCH FLAGGED')).untagged, ['* SEARCH 2']);
});

test('an unknown charset is NO [BADCHARSET]; syntax errors are BAD', async (t) => {
  const { client } = await setup(t);
  t.is((await client.command('a1', 'SEARCH CHARSET KOI8-R ALL')).tagged, 'a1 NO [BADCHARSET (UTF-8 US-ASCII)] Charset KOI8-R is not supported');
  for (const bad of ['SEARCH', 'SEARCH FOO', 'SEARCH BEFORE 32-Jan-2000', 'SEARCH LARGER x', 'SEARCH OR SEEN', 'SEARCH (', 'SEARCH ()', 'SEARCH NOT']) t.regex((await client.command('x', bad)).tagged, /^x BAD/, bad);
});

test('ESEARCH: RETURN (MIN MAX COUNT ALL), RETURN () and an empty result', async (t) => {
  const { client } = await setup(t);
  t.deepEqual((await client.command('a1', 'SEARCH RETURN (MIN MAX COUNT ALL) UNDELETED')).untagged, ['* ESEARCH (TAG "a1") MIN 1 MAX 2 COUNT 2 ALL 1:2']);
  t.deepEqual((await client.command('a2', 'UID SEARCH RETURN () ALL')).untagged, ['* ESEARCH (TAG "a2") UID ALL 1:3']);
  t.deepEqual((await client.command('a3', 'SEARCH RETURN (MIN COUNT) DRAFT')).untagged, ['* ESEARCH (TAG "a3") COUNT 0']);
  t.deepEqual((await client.command('a4', 'SEARCH RETURN (MAX) MODSEQ 1')).untagged, ['* OK [HIGHESTMODSEQ 4] Highest', '* ESEARCH (TAG "a4") MAX 3 MODSEQ 4']);
});

test('SEARCHRES: RETURN (SAVE) keeps the result for "$", in SEARCH, FETCH and STORE', async (t) => {
  const { client } = await setup(t);
  t.deepEqual((await client.command('a1', 'SEARCH RETURN (SAVE) UNSEEN')).untagged, []);
  t.deepEqual((await client.command('a2', 'FETCH $ (UID)')).untagged, ['* 2 FETCH (UID 2)', '* 3 FETCH (UID 3)']);
  t.deepEqual((await client.command('a3', 'SEARCH $ FLAGGED')).untagged, ['* SEARCH 2']);
  t.deepEqual((await client.command('a4', 'UID SEARCH RETURN (SAVE MIN) UNSEEN')).untagged, ['* ESEARCH (TAG "a4") UID MIN 2']);
  t.deepEqual((await client.command('a5', 'UID FETCH $ (FLAGS)')).untagged, ['* 2 FETCH (UID 2 FLAGS (\\Recent \\Flagged Work))']);
});
