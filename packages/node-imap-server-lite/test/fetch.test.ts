// FETCH and UID FETCH (RFC 3501 §6.4.5, §6.4.8): every data item, sections
// and partials streamed with exact octet counts, \Seen, and messages that
// another session expunged.

import test from 'ava';
import { RawClient } from './helpers/raw-client.ts';
import { connectFlow, message, selectedClient, user } from './helpers/server.ts';

const multipart = [
  'From: "Ann Example" <ann@example.test>',
  'To: bob@example.test, "Carl" <carl@example.test>',
  'Subject: =?UTF-8?B?R3LDvMOfZQ==?=',
  'Date: Tue, 3 Nov 2026 09:30:00 +0100',
  'Message-ID: <mp@example.test>',
  'MIME-Version: 1.0',
  'Content-Type: multipart/mixed; boundary="b1"',
  '',
  'preamble',
  '--b1',
  'Content-Type: text/plain; charset=utf-8',
  '',
  'first part',
  '--b1',
  'Content-Type: message/rfc822',
  '',
  'Subject: inner',
  'From: inner@example.test',
  '',
  'inner body',
  '--b1--',
  '',
].join('\r\n');

test('FAST, ALL, FULL and single items', async (t) => {
  const { client, backend } = await selectedClient(t, 2);
  const size = backend.mailbox(user, 'INBOX').messages[0]!.raw.length;
  t.deepEqual((await client.command('a1', 'FETCH 1 FAST')).untagged, [`* 1 FETCH (FLAGS (\\Recent) INTERNALDATE "01-Jan-2024 12:00:00 +0000" RFC822.SIZE ${size})`]);
  const all = (await client.command('a2', 'FETCH 1 ALL')).untagged[0]!;
  t.regex(all, /ENVELOPE \("Mon, 2 Nov 2026 10:00:00 \+0000" "message 1" \(\("Alice" NIL "alice" "example.test"\)\) /);
  const full = (await client.command('a3', 'FETCH 1 FULL')).untagged[0]!;
  t.regex(full, /BODY \("text" "plain" \("charset" "us-ascii"\) NIL NIL "7bit" \d+ \d+\)\)$/);
  t.deepEqual((await client.command('a4', 'FETCH 1:2 (UID)')).untagged, ['* 1 FETCH (UID 1)', '* 2 FETCH (UID 2)']);
  t.regex((await client.command('a5', 'FETCH 2 (MODSEQ)')).untagged.at(-1)!, /^\* 2 FETCH \(MODSEQ \(\d+\)\)$/);
});

test('BODY[] is a literal of the exact octets; BODY.PEEK leaves \\Seen alone; BODY[] sets it and reports FLAGS', async (t) => {
  const { client, backend } = await selectedClient(t, 1);
  const raw = backend.mailbox(user, 'INBOX').messages[0]!.raw.toString('latin1');
  const peek = await client.command('a1', 'FETCH 1 BODY.PEEK[]');
  t.deepEqual(peek.untagged, [`* 1 FETCH (BODY[] {${raw.length}}\r\n${raw})`]);
  t.deepEqual(backend.mailbox(user, 'INBOX').messages[0]!.flags, []);
  const read = await client.command('a2', 'FETCH 1 (BODY[TEXT])');
  t.deepEqual(read.untagged, ['* 1 FETCH (BODY[TEXT] {8}\r\nbody 1\r\n FLAGS (\\Recent \\Seen))']);
  t.deepEqual(backend.mailbox(user, 'INBOX').messages[0]!.flags, ['\\Seen']);
  // already seen: no FLAGS added
  t.deepEqual((await client.command('a3', 'FETCH 1 RFC822.TEXT')).untagged, ['* 1 FETCH (RFC822.TEXT {8}\r\nbody 1\r\n)']);
});

test('partial fetches: <offset.count>, and an offset past the end is an empty string', async (t) => {
  const { client } = await selectedClient(t, 1);
  t.deepEqual((await client.command('a1', 'FETCH 1 BODY.PEEK[TEXT]<0.4>')).untagged, ['* 1 FETCH (BODY[TEXT]<0> {4}\r\nbody)']);
  t.deepEqual((await client.command('a2', 'FETCH 1 BODY.PEEK[TEXT]<5.100>')).untagged, ['* 1 FETCH (BODY[TEXT]<5> {3}\r\n1\r\n)']);
  t.deepEqual((await client.command('a3', 'FETCH 1 BODY.PEEK[TEXT]<500.10>')).untagged, ['* 1 FETCH (BODY[TEXT]<500> "")']);
  t.regex((await client.command('a4', 'FETCH 1 BODY.PEEK[TEXT]<0.0>')).tagged, /^a4 BAD/);
});

test('sections of a multipart: parts, MIME headers, an attached message, HEADER.FIELDS(.NOT)', async (t) => {
  const { client, backend } = await selectedClient(t, 0);
  backend.deliver(user, 'INBOX', multipart);
  await client.command('n', 'NOOP');
  const get = async (section: string) => (await client.command('f', `FETCH 1 BODY.PEEK[${section}]`)).untagged.at(-1)!;
  const literal = (label: string, text: string) => `* 1 FETCH (${label} {${Buffer.byteLength(text)}}\r\n${text})`;
  t.is(await get('1'), literal('BODY[1]', 'first part'));
  t.is(await get('1.MIME'), literal('BODY[1.MIME]', 'Content-Type: text/plain; charset=utf-8\r\n\r\n'));
  t.is(await get('2.HEADER'), literal('BODY[2.HEADER]', 'Subject: inner\r\nFrom: inner@example.test\r\n\r\n'));
  t.is(await get('2.TEXT'), literal('BODY[2.TEXT]', 'inner body'));
  t.is(await get('2.1'), literal('BODY[2.1]', 'inner body'));
  t.is(await get('3'), '* 1 FETCH (BODY[3] "")');
  t.is(await get('HEADER.FIELDS (subject Message-ID)'), literal('BODY[HEADER.FIELDS (SUBJECT MESSAGE-ID)]', 'Subject: =?UTF-8?B?R3LDvMOfZQ==?=\r\nMessage-ID: <mp@example.test>\r\n\r\n'));
  t.regex(await get('HEADER.FIELDS.NOT (Content-Type)'), /^\* 1 FETCH \(BODY\[HEADER\.FIELDS\.NOT \(CONTENT-TYPE\)\] \{\d+\}\r\nFrom: .*MIME-Version: 1\.0\r\n\r\n\)$/s);
  const structure = (await client.command('b', 'FETCH 1 BODYSTRUCTURE')).untagged[0]!;
  t.regex(structure, /^\* 1 FETCH \(BODYSTRUCTURE \(\("text" "plain" \("charset" "utf-8"\) NIL NIL "7bit" 10 1 NIL NIL NIL NIL\)\("message" "rfc822" NIL NIL NIL "7bit" \d+ \(NIL "inner" /);
  t.regex(structure, /"mixed" \("boundary" "b1"\) NIL NIL NIL\)\)$/);
  const body = (await client.command('c', 'FETCH 1 BODY')).untagged[0]!;
  t.regex(body, /"mixed"\)\)$/);
  t.notRegex(body, /boundary/);
  for (const bad of ['MIME', '0', '1.HEADER.FIELDS', 'HEADER.FIELDS ()', 'FOO']) t.regex((await client.command('x', `FETCH 1 BODY[${bad}]`)).tagged, /^x BAD/, bad);
});

test('strings with 8-bit octets or CR/LF are sent as literals, others quoted', async (t) => {
  const { client, backend } = await selectedClient(t, 0);
  backend.deliver(user, 'INBOX', Buffer.from('Subject: Grüße\r\nFrom: a@b.c\r\n\r\nx\r\n', 'utf8'));
  await client.command('n', 'NOOP');
  const envelope = (await client.command('a', 'FETCH 1 ENVELOPE')).untagged[0]!;
  t.true(envelope.includes(`NIL {${Buffer.byteLength('Grüße')}}\r\n${Buffer.from('Grüße').toString('latin1')} ((NIL NIL "a" "b.c"))`));
});

test('FETCH of a message number past the end is BAD; UID FETCH of missing UIDs is OK with nothing', async (t) => {
  const { client } = await selectedClient(t, 2);
  t.regex((await client.command('a1', 'FETCH 3 FLAGS')).tagged, /^a1 BAD/);
  t.deepEqual(await client.command('a2', 'UID FETCH 50:60 FLAGS'), { untagged: [], tagged: 'a2 OK UID FETCH completed' });
  // n:* with n past the end is the last message
  t.deepEqual((await client.command('a3', 'UID FETCH 50:* UID')).untagged, ['* 2 FETCH (UID 2)']);
  t.deepEqual((await client.command('a4', 'FETCH 2:1 UID')).untagged, ['* 1 FETCH (UID 1)', '* 2 FETCH (UID 2)']);
});

test('a message another session expunged: FETCH answers OK [EXPUNGEISSUED], no EXPUNGE until the next command allows it', async (t) => {
  const { client, port } = await selectedClient(t, 3);
  const other = await RawClient.connect(t, port);
  await other.login();
  await other.command('b1', 'SELECT INBOX');
  await other.command('b2', 'STORE 2 +FLAGS.SILENT (\\Deleted)');
  t.deepEqual((await other.command('b3', 'EXPUNGE')).untagged, ['* 2 EXPUNGE']);
  const fetched = await client.command('a1', 'FETCH 1:3 UID');
  t.deepEqual(fetched.untagged.filter((line) => line.includes('EXPUNGE')), []);
  t.deepEqual(fetched.untagged.filter((line) => line.includes('FETCH')), ['* 1 FETCH (UID 1)', '* 3 FETCH (UID 3)']);
  t.is(fetched.tagged, 'a1 OK [EXPUNGEISSUED] Some messages were expunged by another session; they are gone');
  t.deepEqual((await client.command('a2', 'NOOP')).untagged, ['* 2 EXPUNGE', '* 2 RECENT']);
});

test('imapflow: envelope, flags, bodyStructure, source and a chunked download of a large message', async (t) => {
  const { port, backend } = await selectedClient(t, 1);
  const big = message('big', 'x'.repeat(76) + '\r\n'.repeat(1) + ('0123456789'.repeat(7) + '\r\n').repeat(40_000));
  backend.deliver(user, 'INBOX', big);
  const client = await connectFlow(t, port);
  await client.mailboxOpen('INBOX');
  const seen = [];
  for await (const msg of client.fetch('1:*', { uid: true, flags: true, envelope: true, bodyStructure: true, size: true })) seen.push(msg);
  t.is(seen.length, 2);
  t.is(seen[0]!.envelope?.subject, 'message 1');
  t.is(seen[1]!.size, Buffer.byteLength(big.replace(/\r?\n/g, '\r\n')));
  const download = await client.download('2', undefined, { uid: false, chunkSize: 65536 });
  const chunks: Buffer[] = [];
  for await (const chunk of download.content!) chunks.push(chunk as Buffer);
  t.is(Buffer.concat(chunks).toString('latin1'), backend.mailbox(user, 'INBOX').messages[1]!.raw.toString('latin1'));
  await client.logout();
});
