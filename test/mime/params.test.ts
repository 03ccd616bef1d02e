import test from 'ava';
import { bodyStructureToImap, decodeParams, parseMessage, type Param } from '../../services/mime/index.ts';

/** The Content-Type parameters of a one-part MIME message with this Content-Type value. */
function paramsOf(contentType: string): Param[] | undefined {
  return parseMessage(Buffer.from(`MIME-Version: 1.0\r\nContent-Type: ${contentType}\r\n\r\nx`)).root.params;
}

test('RFC 2231 continuations are joined in index order; without "*" after the index the value is plain', (t) => {
  t.deepEqual(paramsOf('text/plain; name*1="b c"; name*0=a; charset=us-ascii'), [['charset', 'us-ascii'], ['name', 'ab c']]);
});

test('RFC 2231 extended values keep their charset\'lang\' form for IMAP, plain sections joined to them get % escaped', (t) => {
  const params = paramsOf(`application/octet-stream;\r\n filename*0*=utf-8''%E2%82%AC%20very%20long%20;\r\n filename*1="file 100% name.txt"`);
  t.deepEqual(params, [['filename*', "utf-8''%E2%82%AC%20very%20long%20file 100%25 name.txt"]]);
  t.deepEqual(decodeParams(params), { filename: '€ very long file 100% name.txt' });
});

test('the RFC 2231 examples decode, language tags included', (t) => {
  const params = paramsOf(`application/x-stuff; title*=us-ascii'en-us'This%20is%20%2A%2A%2Afun%2A%2A%2A`);
  t.deepEqual(params, [['title*', "us-ascii'en-us'This%20is%20%2A%2A%2Afun%2A%2A%2A"]]);
  t.is(decodeParams(params).title, 'This is ***fun***');
  const continued = paramsOf(`message/external-body; access-type=URL; URL*0="ftp://"; URL*1="cs.utk.edu/pub/moore/bulk-mailer/bulk-mailer.tar"`);
  t.is(decodeParams(continued).url, 'ftp://cs.utk.edu/pub/moore/bulk-mailer/bulk-mailer.tar');
  const mixed = paramsOf(`application/x-stuff; title*0*=us-ascii'en'This%20is%20even%20more%20; title*1*=%2A%2A%2Afun%2A%2A%2A%20; title*2="isn't it!"`);
  t.is(decodeParams(mixed).title, "This is even more ***fun*** isn't it!");
});

test('RFC 2231 sections with a gap are left as they were written', (t) => {
  t.deepEqual(paramsOf('text/plain; x*0=a; x*2=c'), [
    ['x*0', 'a'],
    ['x*2', 'c'],
  ]);
});

test('a broken parameter is skipped up to the next ";" outside quotes, its neighbours are kept', (t) => {
  t.deepEqual(paramsOf('text/plain; charset=utf-8; junk; format="flowed'), [['charset', 'utf-8']]);
  t.deepEqual(paramsOf('text/plain; junk; format=flowed'), [['format', 'flowed']]);
  t.deepEqual(paramsOf('text/plain; junk "a;b" x; format=flowed'), [['format', 'flowed']]);
  t.deepEqual(paramsOf('text/plain;; ;charset=utf-8'), [['charset', 'utf-8']]);
  t.deepEqual(paramsOf('text/plain;charset=iso-8859-1 (comment) ;format=fixed'), [['charset', 'iso-8859-1'], ['format', 'fixed']]);
});

test('an encoded-word where a token belongs (name==?utf-8?...) is taken whole, and decoded by decodeParams', (t) => {
  const params = paramsOf('application/pdf; name==?utf-8?B?w6Quc3R4dA==?=');
  t.deepEqual(params, [['name', '=?utf-8?B?w6Quc3R4dA==?=']]);
  t.deepEqual(decodeParams(params), { name: 'ä.stxt' });
  // The quoted form stays undecoded on the wire (RFC 2047 §5 forbids it there) but decodes for people.
  t.is(decodeParams([['name', '=?iso-8859-1?q?caf=E9.txt?=']]).name, 'café.txt');
});

test('a broken Content-Type keeps what could be read and drops its parameters', (t) => {
  const root = (value: string) => parseMessage(Buffer.from(`MIME-Version: 1.0\r\nContent-Type: ${value}\r\n\r\nx`)).root;
  t.deepEqual([root('text').type, root('text').subtype, root('text').params], ['text', '', undefined]);
  t.deepEqual([root('text/html charset=x').type, root('text/html charset=x').subtype], ['', '']);
  t.deepEqual([root('').type, root('').subtype], ['', '']);
  // "text" with no subtype is still text: it gets the default charset and a line count.
  t.deepEqual(bodyStructureToImap(root('text'), { extensible: false }), ['text', '', ['charset', 'us-ascii'], null, null, '7bit', 1, 0]);
});

test('decodeParams: an extended value wins over a plain one, unknown charsets fall back', (t) => {
  t.deepEqual(decodeParams([['filename', 'plain.txt'], ['filename*', "utf-8''%C3%A9t%C3%A9.txt"]]), { filename: 'été.txt' });
  t.deepEqual(decodeParams([['filename*', "utf-8''%C3%A9t%C3%A9.txt"], ['filename', 'plain.txt']]), { filename: 'été.txt' });
  t.is(decodeParams([['name*', "x-unknown''caf%E9"]]).name, 'café');
  t.is(decodeParams([['name*', "x-unknown''caf%C3%A9"]]).name, 'café');
  t.deepEqual(decodeParams(undefined), {});
});
