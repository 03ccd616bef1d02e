import test from 'ava';
import { envelopeToImap, parseMessage, type Address } from '../../services/mime/index.ts';

/** The envelope address list of a To header with this value. */
function to(value: string): Address[] | undefined {
  return parseMessage(Buffer.from(`To: ${value}\r\n\r\n`)).root.envelope?.to;
}

test('plain, named and quoted-name addresses', (t) => {
  t.deepEqual(to('a@example.test'), [[null, null, 'a', 'example.test']]);
  t.deepEqual(to('Alice Example <alice@example.test>'), [['Alice Example', null, 'alice', 'example.test']]);
  t.deepEqual(to('"Smith, John" <john@example.test>, b@example.test'), [
    ['Smith, John', null, 'john', 'example.test'],
    [null, null, 'b', 'example.test'],
  ]);
  t.deepEqual(to('"quoted \\"name\\"" <q@example.test>'), [['quoted "name"', null, 'q', 'example.test']]);
  t.deepEqual(to('"" <empty@example.test>'), [[null, null, 'empty', 'example.test']]);
  t.deepEqual(to('"odd local"@example.test'), [[null, null, 'odd local', 'example.test']]);
});

test('group syntax becomes RFC 3501 group markers, empty groups included', (t) => {
  t.deepEqual(to('undisclosed-recipients:;'), [
    [null, null, 'undisclosed-recipients', null],
    [null, null, null, null],
  ]);
  t.deepEqual(to('Friends: b@example.test, "C D" <c@example.test>;, e@example.test'), [
    [null, null, 'Friends', null],
    [null, null, 'b', 'example.test'],
    ['C D', null, 'c', 'example.test'],
    [null, null, null, null],
    [null, null, 'e', 'example.test'],
  ]);
  // An unclosed group still ends with its marker.
  t.deepEqual(to('Team: x@example.test'), [
    [null, null, 'Team', null],
    [null, null, 'x', 'example.test'],
    [null, null, null, null],
  ]);
});

test('comments: the last one names an address that has no display name', (t) => {
  t.deepEqual(to('nobracket@example.test (Name In Comment)'), [['Name In Comment', null, 'nobracket', 'example.test']]);
  t.deepEqual(to('(comment) a@example.test (another)'), [['another', null, 'a', 'example.test']]);
  t.deepEqual(to('Name (not this) <n@example.test>'), [['Name', null, 'n', 'example.test']]);
  t.deepEqual(to('a@example.test (nested (comment) here)'), [['nested (comment) here', null, 'a', 'example.test']]);
});

test('source routes and domain literals are kept as written', (t) => {
  t.deepEqual(to('<@route.example:r@example.test>'), [[null, '@route.example', 'r', 'example.test']]);
  t.deepEqual(to('<@a.example,@b.example:r@example.test>'), [[null, '@a.example,@b.example', 'r', 'example.test']]);
  t.deepEqual(to('x@[192.0.2.1]'), [[null, null, 'x', '[192.0.2.1]']]);
});

test('broken addresses keep their place, with placeholders for what is missing', (t) => {
  t.deepEqual(to('broken address without at, <>'), [
    ['broken address without at', null, 'MISSING_MAILBOX', 'MISSING_DOMAIN'],
    [null, null, 'MISSING_MAILBOX', 'MISSING_DOMAIN'],
  ]);
  t.deepEqual(to('user'), [[null, null, 'user', 'MISSING_DOMAIN']]);
  t.deepEqual(to('@example.test'), [[null, null, 'MISSING_MAILBOX', 'example.test']]);
  t.deepEqual(to('Name <broken'), [['Name', null, 'broken', 'SYNTAX_ERROR']]);
});

test('folded and UTF-8 address headers, and empty ones', (t) => {
  t.deepEqual(to('A\r\n B <ab@example.test>,\r\n\tc@example.test'), [
    ['A B', null, 'ab', 'example.test'],
    [null, null, 'c', 'example.test'],
  ]);
  t.deepEqual(to('Jörg <jörg@bücher.example>'), [['Jörg', null, 'jörg', 'bücher.example']]);
  t.deepEqual(to('=?UTF-8?B?SsO2cmc=?= <j@example.test>'), [['=?UTF-8?B?SsO2cmc=?=', null, 'j', 'example.test']], 'encoded-words stay encoded in the envelope');
  t.is(to(''), undefined);
  t.is(to('   '), undefined);
});

test('Sender and Reply-To default to From when absent or empty; several From fields are all shown', (t) => {
  const raw = Buffer.from('From: a@example.test\r\nFrom: b@example.test\r\nSender: \r\nReply-To:\r\nSubject:\r\nTo: \r\n\r\n');
  const envelope = envelopeToImap(parseMessage(raw).root.envelope);
  const from = [
    [null, null, 'a', 'example.test'],
    [null, null, 'b', 'example.test'],
  ];
  t.deepEqual(envelope, [null, '', from, from, from, null, null, null, null, null]);
});
