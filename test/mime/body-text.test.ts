import test from 'ava';
import { BodyTextExtractor, extractText, foldForSearch, parseMessage, TextMatcher, type TextPiece } from '../../services/mime/index.ts';

const raw = Buffer.concat([
  Buffer.from(
    [
      'From: =?utf-8?q?J=C3=B6rg?= <j@example.test>',
      'Subject: =?iso-8859-1?q?caf=E9?=',
      'MIME-Version: 1.0',
      'Content-Type: multipart/mixed; boundary=b',
      '',
      '--b',
      'Content-Type: text/html; charset="utf-8"',
      'Content-Transfer-Encoding: quoted-printable',
      '',
      '<p>Gr=C3=BC=C3=9Fe aus K=C3=B6ln, a very long line that was wrapped by the=',
      ' sender =3D soft break   ',
      'trailing spaces gone; a stray = sign stays</p>',
      '--b',
      'Content-Type: text/plain; charset=iso-8859-1',
      'Content-Transfer-Encoding: base64',
      '',
      // windows-1252 (what iso-8859-1 means in mail): € is 0x80.
      Buffer.concat([Buffer.from('Déjà vu, ça coûte 5 ', 'latin1'), Buffer.from([0x80, 0x2e])]).toString('base64').replace(/(.{8})/g, '$1\r\n'),
      '--b',
      'Content-Type: application/octet-stream',
      'Content-Transfer-Encoding: base64',
      '',
      'AAECAwQF',
      '--b',
      'Content-Type: message/rfc822',
      '',
      'Subject: inner',
      'Content-Type: text/plain; charset=x-unknown',
      '',
      'naïve ',
    ].join('\r\n'),
    'utf8',
  ),
  Buffer.from([0xe9, 0x0d, 0x0a]), // after valid UTF-8, a Latin-1 octet: the rest is windows-1252
  Buffer.from('--b--\r\n'),
]);
const structure = parseMessage(raw);

function collect(pieces: TextPiece[]): Record<string, string> {
  const bySection: Record<string, string> = {};
  for (const piece of pieces) bySection[`${piece.kind} ${piece.section}`] = (bySection[`${piece.kind} ${piece.section}`] ?? '') + piece.text;
  return bySection;
}

function extract(chunkSize: number, headers = false): Record<string, string> {
  const extractor = new BodyTextExtractor(structure, { headers });
  const pieces: TextPiece[] = [];
  for (let pos = 0; pos < raw.length; pos += chunkSize) pieces.push(...extractor.write(raw.subarray(pos, pos + chunkSize)));
  pieces.push(...extractor.end());
  return collect(pieces);
}

const expected = {
  'body 1': '<p>Grüße aus Köln, a very long line that was wrapped by the sender = soft break\r\ntrailing spaces gone; a stray = sign stays</p>',
  'body 2': 'Déjà vu, ça coûte 5 €.',
  'body 4.1': 'naïve é',
};

test('text parts are decoded: transfer encoding undone, charset converted, other parts skipped', (t) => {
  t.deepEqual(extract(raw.length), expected);
});

test('the text is the same whatever the chunk size', (t) => {
  for (let size = 1; size <= 64; size++) t.deepEqual(extract(size), expected, `chunks of ${size}`);
  t.deepEqual(extract(1000), expected);
});

test('headers can be included, decoded and unfolded, each named by its section', (t) => {
  const text = extract(7, true);
  t.true(text['header HEADER']!.includes('From: Jörg <j@example.test>'));
  t.true(text['header HEADER']!.includes('Subject: café'));
  t.is(text['header 1.MIME'], 'Content-Type: text/html; charset="utf-8"\r\nContent-Transfer-Encoding: quoted-printable');
  t.is(text['header 4.HEADER'], 'Subject: inner\r\nContent-Type: text/plain; charset=x-unknown');
  t.is(text['body 2'], expected['body 2']);
});

test('pieces carry the subtype, and extractText streams from an async source', async (t) => {
  async function* source() {
    for (let pos = 0; pos < raw.length; pos += 100) yield raw.subarray(pos, pos + 100);
  }
  const pieces: TextPiece[] = [];
  for await (const piece of extractText(structure, source())) pieces.push(piece);
  t.deepEqual(collect(pieces), expected);
  t.is(pieces.find((piece) => piece.section === '1')?.subtype, 'html');
  t.is(pieces.find((piece) => piece.section === '2')?.subtype, 'plain');
});

test('a single-part message without MIME: its body is section 1, read as UTF-8 when it is UTF-8', (t) => {
  const single = Buffer.from('Subject: 8bit body\r\n\r\nnaïve café 日本\r\nlatin1 ', 'utf8');
  const s = parseMessage(single);
  const pieces = new BodyTextExtractor(s).write(single);
  t.deepEqual(collect(pieces), { 'body 1': 'naïve café 日本\r\nlatin1 ' });
});

test('without a usable charset, text turns to windows-1252 at the first octet that is not UTF-8, not before', (t) => {
  const body = Buffer.concat([Buffer.from('Subject: x\r\n\r\nnaïve ', 'utf8'), Buffer.from([0xe9, 0x20, 0x80]), Buffer.from(' end')]);
  const s = parseMessage(body);
  t.deepEqual(collect(new BodyTextExtractor(s).write(body)), { 'body 1': 'naïve é € end' });
});

test('TextMatcher finds a string across piece boundaries, ignoring case, and not across parts', (t) => {
  const pieces: TextPiece[] = [
    { section: '1', kind: 'body', text: 'Grüße aus KÖ' },
    { section: '1', kind: 'body', text: 'LN today' },
  ];
  const matcher = new TextMatcher('köln');
  t.false(matcher.feed(pieces[0]!));
  t.true(matcher.feed(pieces[1]!));
  const apart = new TextMatcher('köln');
  apart.feed({ section: '1', kind: 'body', text: 'kö' });
  t.false(apart.feed({ section: '2', kind: 'body', text: 'ln' }));
  t.is(foldForSearch('ＡＢＣ Straße'), 'abc straße');
  t.true(new TextMatcher('').feed({ section: '1', kind: 'body', text: '' }));
});
