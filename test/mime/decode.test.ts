import test from 'ava';
import { charsetLabel, decodeCharset, decodeHeaderValue, parseMessage } from '../../services/mime/index.ts';

test('RFC 2047 B and Q encoded-words, in any case, in any charset TextDecoder knows', (t) => {
  t.is(decodeHeaderValue('=?UTF-8?B?SsO2cmcgTcO8bGxlcg==?= <joerg@example.test>'), 'Jörg Müller <joerg@example.test>');
  t.is(decodeHeaderValue('=?iso-8859-1?q?Fran=E7ois_Dupont?='), 'François Dupont');
  t.is(decodeHeaderValue('=?koi8-r?B?8NLJ18XU?='), 'Привет');
  t.is(decodeHeaderValue('=?shift_jis?B?k/qWe4zq?='), '日本語');
  t.is(decodeHeaderValue('=?ISO-2022-JP?B?GyRCRnxLXDhsGyhC?='), '日本語');
  t.is(decodeHeaderValue('=?gb2312?B?1tDOxA==?='), '中文');
  t.is(decodeHeaderValue('=?utf-8*en?Q?hello?='), 'hello', 'an RFC 2231 language suffix on the charset');
});

test('white space between adjacent encoded-words is dropped, other text is kept', (t) => {
  t.is(decodeHeaderValue('=?UTF-8?Q?Gr=C3=BC=C3=9Fe_aus_K=C3=B6ln?= =?UTF-8?B?IOKAkyDimJU=?='), 'Grüße aus Köln – ☕');
  t.is(decodeHeaderValue('=?utf-8?q?a?=\r\n =?utf-8?q?b?='), 'ab');
  t.is(decodeHeaderValue('Re: =?utf-8?q?caf=C3=A9?= time'), 'Re: café time');
  t.is(decodeHeaderValue('=?utf-8?q?a?= and =?utf-8?q?b?='), 'a and b');
});

test('a UTF-8 character split between two encoded-words decodes whole', (t) => {
  // "€" is E2 82 AC; the sender cut it after the first octet.
  t.is(decodeHeaderValue('=?utf-8?B?4g==?= =?utf-8?B?gqw=?='), '€');
  t.is(decodeHeaderValue('=?utf-8?Q?=E2?= =?utf-8?Q?=82=AC?='), '€');
});

test('broken encoded-words stay as written, unknown charsets fall back, nothing throws', (t) => {
  t.is(decodeHeaderValue('=?x-unknown?Q?abc?= and =?utf-8?B?broken'), 'abc and =?utf-8?B?broken');
  t.is(decodeHeaderValue('=?utf-8?X?abc?='), '=?utf-8?X?abc?=');
  t.is(decodeHeaderValue('=?x-unknown?Q?caf=E9?='), 'café', 'invalid UTF-8 under an unknown charset is windows-1252');
  t.is(decodeHeaderValue('=?x-unknown?Q?caf=C3=A9?='), 'café', 'valid UTF-8 under an unknown charset is UTF-8');
  t.is(decodeHeaderValue('=?utf-8?B?w6k*?='), 'é', 'junk in base64 is skipped');
  t.is(decodeHeaderValue('=?utf-8?Q?a=ZZb?='), 'a=ZZb', 'a stray "=" in Q stays');
  t.is(decodeHeaderValue('=?utf-8?Q?=FF?='), '\ufffd', 'invalid octets in a known charset are U+FFFD');
  t.is(decodeHeaderValue('=??Q?x?='), '=??Q?x?=');
});

test('raw 8-bit header octets: UTF-8 (RFC 6532) when valid, else windows-1252', (t) => {
  t.is(decodeHeaderValue(Buffer.from('Ümlaut raw — SMTPUTF8', 'utf8')), 'Ümlaut raw — SMTPUTF8');
  t.is(decodeHeaderValue(Buffer.from([0x63, 0x61, 0x66, 0xe9, 0x20, 0x80])), 'café €');
  // The structure keeps header text by the same rule.
  const s = parseMessage(Buffer.from([...Buffer.from('Subject: caf'), 0xe9, ...Buffer.from('\r\nFrom: J\xc3\xb6rg <j@example.test>\r\n\r\n', 'latin1')]));
  t.is(s.root.envelope?.subject, 'café');
  t.deepEqual(s.root.envelope?.from, [['Jörg', null, 'j', 'example.test']]);
});

test('folding is removed', (t) => {
  t.is(decodeHeaderValue('a subject that is folded\r\n across several\r\n\tlines'), 'a subject that is folded across several\tlines');
});

test('charset labels: WHATWG names and aliases; ASCII and unknown ones use the fallback', (t) => {
  t.is(charsetLabel('ISO-8859-1'), 'windows-1252');
  t.is(charsetLabel('"UTF8"'), 'utf-8');
  t.is(charsetLabel('ks_c_5601-1987'), 'euc-kr');
  t.is(charsetLabel('us-ascii'), undefined);
  t.is(charsetLabel('x-unknown-charset'), undefined);
  t.is(charsetLabel(undefined), undefined);
  t.is(decodeCharset(Buffer.from('naïve', 'utf8'), 'us-ascii'), 'naïve', 'mislabelled UTF-8 is read as UTF-8');
  t.is(decodeCharset(Buffer.from([0xe9]), 'us-ascii'), 'é');
  t.is(decodeCharset(Buffer.from([0xc7, 0xd1, 0xb1, 0xb9, 0xbe, 0xee]), 'euc-kr'), '한국어');
  t.is(decodeCharset(Buffer.from([0x93, 0x80, 0x94]), 'iso-8859-1'), '“€”', 'iso-8859-1 means windows-1252 in mail, as in WHATWG');
});
