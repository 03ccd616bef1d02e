import test from 'ava';
import { bodyStructureToImap, envelopeToImap, parseMessage } from '../../services/mime/index.ts';

const parse = (...lines: string[]) => parseMessage(Buffer.from(lines.join('\r\n'), 'utf8'));

test('ENVELOPE: NIL for absent fields, "" for an empty Subject, raw strings otherwise', (t) => {
  t.deepEqual(envelopeToImap(undefined), [null, null, null, null, null, null, null, null, null, null]);
  const s = parse('Date: Tue, 3 Nov 2026 08:30:00 +0100', 'Subject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe?=', 'From: A <a@example.test>', 'Sender: S <s@example.test>', 'Reply-To: R <r@example.test>', 'To: b@example.test', 'Cc: c@example.test', 'Bcc: d@example.test', 'In-Reply-To: <x@example.test>', 'Message-ID:   <id@example.test>  ', '', '');
  t.deepEqual(envelopeToImap(s.root.envelope), [
    'Tue, 3 Nov 2026 08:30:00 +0100',
    '=?UTF-8?Q?Gr=C3=BC=C3=9Fe?=',
    [['A', null, 'a', 'example.test']],
    [['S', null, 's', 'example.test']],
    [['R', null, 'r', 'example.test']],
    [[null, null, 'b', 'example.test']],
    [[null, null, 'c', 'example.test']],
    [[null, null, 'd', 'example.test']],
    '<x@example.test>',
    '<id@example.test>  ',
  ]);
  t.deepEqual(envelopeToImap(parse('Subject:', '', '').root.envelope).slice(0, 3), [null, '', null]);
});

test('ENVELOPE: a folded Subject is unfolded and its white space collapsed; a folded Date just loses the line break', (t) => {
  const s = parse('Subject:  a subject that is folded', ' across several', '\tlines  ', 'Date: Mon, 2 Nov 2026', ' 10:00:00 +0000', '', '');
  t.is(s.root.envelope?.subject, 'a subject that is folded across several lines');
  t.is(s.root.envelope?.date, 'Mon, 2 Nov 2026 10:00:00 +0000');
});

test('ENVELOPE: with duplicate headers the last Subject, Date and Message-ID count and every From is shown', (t) => {
  const s = parse('From: a@example.test', 'From: second@example.test', 'Subject: first', 'Subject: second', 'Message-ID: <one@x>', 'Message-ID: <two@x>', '', '');
  const envelope = envelopeToImap(s.root.envelope);
  t.is(envelope[1], 'second');
  t.is((envelope[2] as unknown[]).length, 2);
  t.is(envelope[9], '<two@x>');
});

test('BODY and BODYSTRUCTURE of a text part: defaults, line count, extension data', (t) => {
  const s = parse('Content-Type: text/html; format=flowed', 'Content-ID: <c@x>', 'Content-Description: desc', 'Content-Transfer-Encoding: Quoted-Printable', 'Content-MD5: Q2hlY2s=', 'Content-Disposition: inline; filename="a.html"', 'Content-Language: en, de', 'Content-Location: http://example.test/a', '', 'line one', 'line two');
  const body = ['text', 'html', ['format', 'flowed', 'charset', 'us-ascii'], '<c@x>', 'desc', 'Quoted-Printable', 18, 1];
  t.deepEqual(bodyStructureToImap(s.root, { extensible: false }), body);
  t.deepEqual(bodyStructureToImap(s.root, { extensible: true }), [...body, 'Q2hlY2s=', ['inline', ['filename', 'a.html']], ['en', 'de'], 'http://example.test/a']);
});

test('a message that is plain 7-bit text is written in lower case; other parts keep their case', (t) => {
  const plain = parse('MIME-Version: 1.0', 'Content-Type: TEXT/PLAIN; CHARSET=US-ASCII', 'Content-Transfer-Encoding: 7BIT', '', 'x');
  t.deepEqual(bodyStructureToImap(plain.root, { extensible: true }), ['text', 'plain', ['charset', 'us-ascii'], null, null, '7bit', 1, 0, null, null, null, null]);
  const latin = parse('MIME-Version: 1.0', 'Content-Type: TEXT/Plain; CHARSET="ISO-8859-1"', '', 'x');
  t.deepEqual(bodyStructureToImap(latin.root, { extensible: false }), ['TEXT', 'Plain', ['CHARSET', 'ISO-8859-1'], null, null, '7bit', 1, 0]);
  const nested = parse('Content-Type: multipart/mixed; boundary=b', '', '--b', 'Content-Type: TEXT/PLAIN', '', 'x', '--b--');
  t.deepEqual((bodyStructureToImap(nested.root, { extensible: false })[0] as unknown[]).slice(0, 3), ['TEXT', 'PLAIN', ['charset', 'us-ascii']]);
});

test('a non-text part has no line count and NIL parameters when it has none', (t) => {
  const s = parse('Content-Type: image/png', 'Content-Transfer-Encoding: base64', '', 'iVBORw0KGgo=');
  t.deepEqual(bodyStructureToImap(s.root, { extensible: true }), ['image', 'png', null, null, null, 'base64', 12, null, null, null, null]);
});

test('multipart: children, subtype, then parameters, disposition, language, location (no MD5)', (t) => {
  const s = parse('Content-Type: multipart/alternative; boundary="b1"', 'Content-Disposition: inline', '', '--b1', '', 'plain part', '--b1', 'Content-Type: text/html; charset="utf-8"', '', '<p>x</p>', '--b1--', '');
  const plain = ['text', 'plain', ['charset', 'us-ascii'], null, null, '7bit', 10, 0];
  const html = ['text', 'html', ['charset', 'utf-8'], null, null, '7bit', 8, 0];
  t.deepEqual(bodyStructureToImap(s.root, { extensible: false }), [plain, html, 'alternative']);
  t.deepEqual(bodyStructureToImap(s.root, { extensible: true }), [[...plain, null, null, null, null], [...html, null, null, null, null], 'alternative', ['boundary', 'b1'], ['inline', null], null, null]);
});

test('message/rfc822: envelope, body structure and line count of the encapsulated message', (t) => {
  const s = parse('Content-Type: message/RFC822', '', 'From: c@example.test', 'Subject: the original', '', 'hello', '');
  t.deepEqual(bodyStructureToImap(s.root, { extensible: false }), [
    'message',
    'rfc822',
    null,
    null,
    null,
    '7bit',
    54,
    [null, 'the original', [[null, null, 'c', 'example.test']], [[null, null, 'c', 'example.test']], [[null, null, 'c', 'example.test']], null, null, null, null, null],
    ['text', 'plain', ['charset', 'us-ascii'], null, null, '7bit', 7, 1],
    4,
  ]);
});
