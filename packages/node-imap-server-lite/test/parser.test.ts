// The command parser, sequence sets, modified UTF-7, dates and UID sets:
// the pure pieces under the protocol (RFC 3501 §9 syntax).

import test from 'ava';
import { CommandParser, ParseError, type Node } from '../src/protocol/parser.ts';
import { parseSequenceSet } from '../src/protocol/sequence.ts';
import { decodeMailboxUtf7, encodeMailboxUtf7 } from '../src/protocol/utf7.ts';
import { formatDateTime, parseDateTime, parseHeaderDate, parseSearchDate } from '../src/protocol/dates.ts';
import { formatUidSet, uidSet, uidSetFromSorted, uidSetHas, uidSetIntersect, uidSetSize, uidSetSubtract } from '../src/uid-set.ts';

function parse(...segments: (string | Buffer)[]) {
  const parser = new CommandParser();
  for (const segment of segments) {
    if (Buffer.isBuffer(segment)) parser.addLiteral({ kind: 'string', bytes: segment, literal: true, binary: false });
    else parser.feedLine(Buffer.from(segment, 'latin1'));
  }
  return parser.finish();
}

function show(nodes: Node[]): unknown[] {
  return nodes.map((node) => {
    if (node.kind === 'atom') return node.section ? { atom: node.value, section: show(node.section), partial: node.partial } : node.value;
    if (node.kind === 'string') return { string: node.bytes.toString('latin1'), literal: node.literal };
    if (node.kind === 'list') return show(node.items);
    return 'stream';
  });
}

test('tags, names, atoms, quoted strings with escapes, lists', (t) => {
  const command = parse('a1 login "al\\"ice" (\\Seen $Junk) NIL');
  t.is(command.tag, 'a1');
  t.is(command.name, 'LOGIN');
  t.deepEqual(show(command.args), [{ string: 'al"ice', literal: false }, ['\\Seen', '$Junk'], 'NIL']);
});

test('quoted strings keep 8-bit octets as octets', (t) => {
  const parser = new CommandParser();
  parser.feedLine(Buffer.concat([Buffer.from('a SEARCH SUBJECT "'), Buffer.from('grüße', 'utf8'), Buffer.from('"')]));
  const node = parser.finish().args[1]!;
  t.is(node.kind === 'string' ? node.bytes.toString('utf8') : '', 'grüße');
});

test('a literal marker ends a segment; the literal value goes where it was announced', (t) => {
  const parser = new CommandParser();
  t.deepEqual(parser.feedLine(Buffer.from('a LOGIN {5}')), { size: 5, sync: true, binary: false });
  parser.addLiteral({ kind: 'string', bytes: Buffer.from('alice'), literal: true, binary: false });
  t.deepEqual(parser.feedLine(Buffer.from(' {6+}')), { size: 6, sync: false, binary: false });
  parser.addLiteral({ kind: 'string', bytes: Buffer.from('secret'), literal: true, binary: false });
  t.is(parser.feedLine(Buffer.from('')), null);
  t.deepEqual(show(parser.finish().args), [{ string: 'alice', literal: true }, { string: 'secret', literal: true }]);
  t.deepEqual(new CommandParser().feedLine(Buffer.from('a APPEND x ~{0}')), { size: 0, sync: true, binary: true });
});

test('BODY[section]<partial> is one fetch attribute; "[" elsewhere is an atom character', (t) => {
  const command = parse('a FETCH 1:* (BODY.PEEK[HEADER.FIELDS (FROM "Subject")]<0.100> BODY[] body[1.2.MIME])');
  t.deepEqual(show(command.args), [
    '1:*',
    [
      { atom: 'BODY.PEEK', section: ['HEADER.FIELDS', ['FROM', { string: 'Subject', literal: false }]], partial: { offset: 0, count: 100 } },
      { atom: 'BODY', section: [], partial: undefined },
      { atom: 'body', section: ['1.2.MIME'], partial: undefined },
    ],
  ]);
  t.deepEqual(show(parse("a SELECT !#$&'+,-.0123456789:;<=>?@^_`|[}").args), ["!#$&'+,-.0123456789:;<=>?@^_`|[}"]);
  t.deepEqual(show(parse('a LIST "" ~foo').args), [{ string: '', literal: false }, '~foo']);
  t.deepEqual(show(parse('a SELECT foo]bar').args), ['foo]bar']);
});

test('syntax errors throw ParseError', (t) => {
  for (const line of ['', ' a NOOP', 'a', 'a (', 'a SEARCH "unterminated', 'a X "bad\\escape"', 'a X {5}x', 'a X {}', 'a X ((', 'a X )', 'a FETCH 1 BODY[', 'a X {12345678901}', 'a X ab{c', 'a X \x01']) {
    t.throws(() => {
      const parser = new CommandParser();
      parser.feedLine(Buffer.from(line, 'latin1'));
      parser.finish();
    }, { instanceOf: ParseError }, JSON.stringify(line));
  }
});

test('nesting is bounded', (t) => {
  t.throws(() => parse('a X ' + '('.repeat(500) + ')'.repeat(500)), { instanceOf: ParseError });
  t.notThrows(() => parse('a X ' + '('.repeat(20) + ')'.repeat(20)));
});

test('sequence sets: numbers, ranges either way, "*" and "$"', (t) => {
  t.deepEqual(parseSequenceSet('1,3:5,*,7:*,9:2', false).ranges, [[1, 1], [3, 5], ['*', '*'], [7, '*'], [9, 2]]);
  t.true(parseSequenceSet('$', true).saved);
  t.throws(() => parseSequenceSet('$', false));
  for (const bad of ['0', '1:0', 'a', '1,,2', '', '4294967296', '01']) t.throws(() => parseSequenceSet(bad, true), undefined, bad);
});

test('modified UTF-7 round-trips and refuses ambiguous spellings', (t) => {
  t.is(encodeMailboxUtf7('Entwürfe'), 'Entw&APw-rfe');
  t.is(encodeMailboxUtf7('a&b'), 'a&-b');
  t.is(encodeMailboxUtf7('日本語'), '&ZeVnLIqe-');
  for (const name of ['Entwürfe', 'a&b', '日本語/メール', '😀 emoji', 'plain']) t.is(decodeMailboxUtf7(encodeMailboxUtf7(name)), name);
  t.is(decodeMailboxUtf7('p&AOQA5A-'), 'pää');
  for (const bad of ['&', '&AGE-', "&'+,-", '&ZeVnLIqe', '&2D0-']) t.throws(() => decodeMailboxUtf7(bad), undefined, bad);
});

test('dates: search dates, date-time, header dates', (t) => {
  t.is(parseSearchDate('1-Feb-1970'), 31);
  t.is(parseSearchDate('31-Feb-2024'), undefined);
  t.is(parseDateTime('01-Jan-2024 10:00:00 +0200')?.toISOString(), '2024-01-01T08:00:00.000Z');
  t.is(parseDateTime(' 1-Jan-2024 10:00:00 -0000')?.toISOString(), '2024-01-01T10:00:00.000Z');
  t.is(parseDateTime('01-Jan-2024 25:00:00 +0000'), undefined);
  t.is(formatDateTime(new Date('2024-03-05T07:08:09Z')), '05-Mar-2024 07:08:09 +0000');
  const header = parseHeaderDate('Sat, 24 Mar 2007 23:00:00 +0200 (EET)');
  t.is(header?.day, parseSearchDate('24-Mar-2007'));
  t.is(new Date(header!.time).toISOString(), '2007-03-24T21:00:00.000Z');
  t.is(parseHeaderDate('24 Mar 07 23:00 GMT')?.day, parseSearchDate('24-Mar-2007'));
  t.is(parseHeaderDate('garbage'), undefined);
});

test('UID sets stay ranges', (t) => {
  const set = uidSet([[5, 9], [1, 3], [4, 4], [20, 20], [8, 12]]);
  t.deepEqual(set, [[1, 12], [20, 20]]);
  t.is(formatUidSet(set), '1:12,20');
  t.is(uidSetSize(set), 13);
  t.true(uidSetHas(set, 20));
  t.false(uidSetHas(set, 13));
  t.deepEqual(uidSetIntersect(set, [[10, 25]]), [[10, 12], [20, 20]]);
  t.deepEqual(uidSetSubtract(set, [[2, 3], [11, 30]]), [[1, 1], [4, 10]]);
  t.deepEqual(uidSetFromSorted([1, 2, 3, 7, 8, 10]), [[1, 3], [7, 8], [10, 10]]);
  t.deepEqual(uidSet([[1, 4294967295]]), [[1, 4294967295]]);
});
