import test from 'ava';
import { filterHeaderFields, parseMessage, parseSectionSpec, partialRange, replaceNul, resolveSection, type MessageStructure } from '../../services/mime/index.ts';

const raw = Buffer.from(
  [
    'From: a@example.test',
    'Subject: forwarded',
    'X-Folded: one',
    ' two',
    'Content-Type: multipart/mixed; boundary=fw',
    '',
    '--fw',
    'Content-Type: text/plain',
    '',
    'see below',
    '--fw',
    'Content-Type: message/rfc822',
    '',
    'From: c@example.test',
    'Subject: the original',
    '',
    'original body',
    '--fw--',
    '',
  ].join('\r\n'),
);
const structure = parseMessage(raw);

/** What BODY[spec] sends, as text. */
function fetch(s: MessageStructure, message: Buffer, spec: string): string {
  const parsed = parseSectionSpec(spec);
  if (!parsed) throw new Error(`bad spec ${spec}`);
  const data = resolveSection(s, parsed);
  const octets = data.kind === 'range' ? message.subarray(data.start, data.end) : data.filter(message.subarray(data.start, data.end));
  return Buffer.from(octets).toString('utf8');
}

test('whole message, header and text of the message', (t) => {
  t.is(fetch(structure, raw, ''), raw.toString());
  t.is(fetch(structure, raw, 'HEADER'), raw.toString().slice(0, raw.indexOf('--fw')));
  t.is(fetch(structure, raw, 'TEXT'), raw.toString().slice(raw.indexOf('--fw')));
});

test('parts of a multipart, their MIME headers, and parts that do not exist', (t) => {
  t.is(fetch(structure, raw, '1'), 'see below');
  t.is(fetch(structure, raw, '1.MIME'), 'Content-Type: text/plain\r\n\r\n');
  t.is(fetch(structure, raw, '2.MIME'), 'Content-Type: message/rfc822\r\n\r\n');
  t.is(fetch(structure, raw, '3'), '');
  t.is(fetch(structure, raw, '1.1'), 'see below', 'in a non-multipart only part 1 exists, and it is the part itself');
  t.is(fetch(structure, raw, '1.2'), '');
  t.is(fetch(structure, raw, '1.1.1'), '', 'only a message has anything below its part 1');
  t.is(fetch(structure, raw, '3.MIME'), '');
});

test('HEADER and TEXT of a message/rfc822 part are those of the message inside; of other parts, empty', (t) => {
  t.is(fetch(structure, raw, '2'), 'From: c@example.test\r\nSubject: the original\r\n\r\noriginal body');
  t.is(fetch(structure, raw, '2.HEADER'), 'From: c@example.test\r\nSubject: the original\r\n\r\n');
  t.is(fetch(structure, raw, '2.TEXT'), 'original body');
  t.is(fetch(structure, raw, '2.1'), 'original body', 'part 1 of a non-multipart message is its body');
  t.is(fetch(structure, raw, '2.1.MIME'), 'From: c@example.test\r\nSubject: the original\r\n\r\n');
  t.is(fetch(structure, raw, '2.HEADER.FIELDS (SUBJECT)'), 'Subject: the original\r\n\r\n');
  t.is(fetch(structure, raw, '1.HEADER'), '');
  t.is(fetch(structure, raw, '1.TEXT'), '');
});

test('part 1 of a single-part message is its body, 1.MIME its header', (t) => {
  const single = Buffer.from('Subject: x\r\n\r\nhello\r\n');
  const s = parseMessage(single);
  t.is(fetch(s, single, '1'), 'hello\r\n');
  t.is(fetch(s, single, '1.MIME'), 'Subject: x\r\n\r\n');
  t.is(fetch(s, single, '2'), '');
});

test('HEADER.FIELDS keeps the named fields with their continuation lines, in message order, and the blank line', (t) => {
  t.is(fetch(structure, raw, 'HEADER.FIELDS (SUBJECT FROM)'), 'From: a@example.test\r\nSubject: forwarded\r\n\r\n');
  t.is(fetch(structure, raw, 'HEADER.FIELDS (x-folded)'), 'X-Folded: one\r\n two\r\n\r\n');
  t.is(fetch(structure, raw, 'HEADER.FIELDS (X-Absent)'), '\r\n');
  t.is(fetch(structure, raw, 'HEADER.FIELDS.NOT (From X-Folded Content-Type)'), 'Subject: forwarded\r\n\r\n');
  // A header that ends without an empty line (or without a final CRLF) still gets one.
  const bare = Buffer.from('From: a@example.test\r\nSubject: no blank line');
  t.is(fetch(parseMessage(bare), bare, 'HEADER.FIELDS (Subject)'), 'Subject: no blank line\r\n\r\n');
  t.is(filterHeaderFields(Buffer.from('Subject : spaced\r\nno colon line\r\n\r\nbody'), new Set(['subject', '']), false).toString(), 'Subject : spaced\r\nno colon line\r\n\r\n');
});

test('partial fetch: an origin past the end is empty, a count past the end is cut', (t) => {
  t.deepEqual(partialRange(1000, 100, 200), { from: 100, to: 300 });
  t.deepEqual(partialRange(150, 100, 200), { from: 100, to: 150 });
  t.deepEqual(partialRange(50, 100, 200), { from: 50, to: 50 });
  t.deepEqual(partialRange(50, 10), { from: 10, to: 50 });
});

test('section specs: what IMAP allows parses, the rest is refused', (t) => {
  t.deepEqual(parseSectionSpec(''), { part: [] });
  t.deepEqual(parseSectionSpec('1.2.3'), { part: [1, 2, 3] });
  t.deepEqual(parseSectionSpec('2.HEADER'), { part: [2], text: 'HEADER' });
  t.deepEqual(parseSectionSpec('header.fields.not (A "B")'), { part: [], text: 'HEADER.FIELDS.NOT', fields: ['A', 'B'] });
  for (const bad of ['MIME', '0', '1.', '1MIME', 'HEADER.FIELDS', 'TEXT (A)', 'BODY']) t.is(parseSectionSpec(bad), null, bad);
  t.throws(() => resolveSection(structure, { part: [], text: 'MIME' }), { instanceOf: RangeError });
});

test('a message with NUL octets says so, and replaceNul turns them into 0x80 without changing the length', (t) => {
  const withNul = Buffer.from('Subject: x\r\n\r\na\0b\r\n', 'latin1');
  const s = parseMessage(withNul);
  const data = resolveSection(s, { part: [1] });
  t.true(data.nul);
  t.false(resolveSection(structure, { part: [1] }).nul);
  if (data.kind !== 'range') return t.fail();
  const sent = replaceNul(withNul.subarray(data.start, data.end));
  t.deepEqual([...sent], [0x61, 0x80, 0x62, 0x0d, 0x0a]);
  t.is(withNul[data.start + 1], 0, 'the input is not modified');
  const clean = Buffer.from('abc');
  t.is(replaceNul(clean), clean, 'no copy without NUL');
});
