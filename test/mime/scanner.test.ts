import test from 'ava';
import { bodyStructureToImap, findPart, parseMessage, type MessageStructure, type MimePart } from '../../services/mime/index.ts';
import { loadGolden, storedMessage } from './golden.ts';

/** A message from lines, joined with CRLF. */
function message(...lines: string[]): Buffer {
  return Buffer.from(lines.join('\r\n'), 'utf8');
}

function text(raw: Buffer, from: number, to: number): string {
  return raw.toString('utf8', from, to);
}

function bodyOf(raw: Buffer, part: MimePart | undefined): string {
  if (!part) throw new Error('no such part');
  return text(raw, part.body, part.end);
}

function allParts(part: MimePart, out: MimePart[] = []): MimePart[] {
  out.push(part);
  for (const child of part.parts ?? []) allParts(child, out);
  if (part.message) allParts(part.message, out);
  return out;
}

test('a missing final boundary: the last part runs to the end of the message, its last CRLF included', (t) => {
  const raw = message('Content-Type: multipart/mixed; boundary=zz', '', '--zz', '', 'first', '--zz', 'Content-Type: text/plain', '', 'second, never closed', '');
  const s = parseMessage(raw);
  t.is(s.root.parts!.length, 2);
  t.is(bodyOf(raw, s.root.parts![0]), 'first');
  t.is(bodyOf(raw, s.root.parts![1]), 'second, never closed\r\n');
  t.is(s.root.parts![1]!.lines, 1);
  t.is(s.root.end, raw.length);
});

test('a boundary line ends the part before it without its CRLF, may carry trailing text, and "--" after it closes the multipart', (t) => {
  const raw = message('Content-Type: multipart/alternative; boundary="b1"', '', 'preamble', '--b1', '', 'one', '', '--b1 \t', 'Content-Type: text/html', '', '<p>two</p>', '--b1--', 'epilogue', '');
  const s = parseMessage(raw);
  const [one, two] = s.root.parts!;
  t.is(bodyOf(raw, one), 'one\r\n');
  t.is(one!.lines, 1);
  t.is(text(raw, two!.header, two!.body), 'Content-Type: text/html\r\n\r\n');
  t.is(bodyOf(raw, two), '<p>two</p>');
  t.is(two!.lines, 0);
  t.is(bodyOf(raw, s.root), raw.toString().slice(raw.indexOf('preamble')));
});

test('nested message/rfc822 inside a multipart inside a message/rfc822: offsets, envelope and section paths', (t) => {
  const raw = message(
    'From: outer@example.test',
    'Content-Type: message/rfc822',
    '',
    'From: middle@example.test',
    'Subject: middle',
    'MIME-Version: 1.0',
    'Content-Type: multipart/mixed; boundary=m',
    '',
    '--m',
    'Content-Type: message/rfc822',
    '',
    'From: inner@example.test',
    'Subject: inner',
    '',
    'innermost body',
    '--m--',
    '',
  );
  const s = parseMessage(raw);
  t.is(s.root.type, 'message');
  const middle = s.root.message!;
  t.is(middle.envelope?.subject, 'middle');
  t.is(middle.header, s.root.body);
  const inner = middle.parts![0]!.message!;
  t.deepEqual(inner.envelope, { subject: 'inner', from: [[null, null, 'inner', 'example.test']] });
  t.is(bodyOf(raw, inner), 'innermost body');
  // BODY[1.1.1] is the innermost message's body; 1.1.HEADER its header.
  t.is(findPart(s, [1, 1, 1]), inner);
  t.is(findPart(s, [1, 1]), middle.parts![0]);
  t.is(findPart(s, [1, 2]), undefined);
  const structure = bodyStructureToImap(s.root, { extensible: false });
  t.is(structure[0], 'message');
  t.is((structure[8] as unknown[])[1], 'mixed');
});

test('a boundary line inside a part header ends the header (and the part) there', (t) => {
  const raw = message('Content-Type: multipart/mixed; boundary=x', '', '--x', 'Content-Type: text/plain', '--x', 'Content-Type: text/plain', '', 'two', '--x--', '');
  const s = parseMessage(raw);
  const [cut, two] = s.root.parts!;
  t.is(text(raw, cut!.header, cut!.body), 'Content-Type: text/plain');
  t.is(cut!.body, cut!.end);
  t.is(cut!.type, 'text');
  t.is(bodyOf(raw, two), 'two');
});

test('a boundary right after a part header takes the empty line with it, unless it is the part\'s own', (t) => {
  const raw = message('Content-Type: multipart/mixed; boundary=o', '', '--o', 'Content-Type: text/plain', '', '--o', 'Content-Type: multipart/mixed; boundary=i', '', '--i', '', 'x', '--i--', '--o--', '');
  const s = parseMessage(raw);
  const [empty, nested] = s.root.parts!;
  t.is(text(raw, empty!.header, empty!.body), 'Content-Type: text/plain\r\n');
  t.is(empty!.end, empty!.body);
  t.is(text(raw, nested!.header, nested!.body), 'Content-Type: multipart/mixed; boundary=i\r\n\r\n');
  t.is(bodyOf(raw, nested!.parts![0]), 'x');
});

test('boundaries: the innermost exact match wins, otherwise the longest prefix', (t) => {
  // Inner boundary "ab-c" starts with the outer "ab": "--ab-c" must close inner parts, not outer ones.
  const raw = message('Content-Type: multipart/mixed; boundary=ab', '', '--ab', 'Content-Type: multipart/mixed; boundary=ab-c', '', '--ab-c', '', 'inner one', '--ab-c', '', 'inner two', '--ab-c--', '--ab', '', 'outer two', '--ab--', '');
  const s = parseMessage(raw);
  t.is(s.root.parts!.length, 2);
  t.deepEqual(s.root.parts![0]!.parts!.map((p) => bodyOf(raw, p)), ['inner one', 'inner two']);
  t.is(bodyOf(raw, s.root.parts![1]), 'outer two');
});

test('an outer boundary ends every unclosed inner multipart', (t) => {
  const raw = message('Content-Type: multipart/mixed; boundary=o', '', '--o', 'Content-Type: multipart/alternative; boundary=i', '', '--i', '', 'a', '--o', '', 'b', '--o--', '');
  const s = parseMessage(raw);
  t.is(s.root.parts!.length, 2);
  t.is(bodyOf(raw, s.root.parts![0]!.parts![0]), 'a');
  t.is(bodyOf(raw, s.root.parts![1]), 'b');
});

test('inside multipart/digest a part without Content-Type is message/rfc822', (t) => {
  const raw = message('Content-Type: multipart/digest; boundary=d', '', '--d', '', 'Subject: one', '', 'first', '--d', 'Content-Type: text/plain', '', 'plain', '--d--', '');
  const s = parseMessage(raw);
  const [digested, plain] = s.root.parts!;
  t.is(digested!.message?.envelope?.subject, 'one');
  t.is(plain!.message, undefined);
  t.is((bodyStructureToImap(s.root, { extensible: false })[0] as unknown[])[0], 'message');
});

test('Content-* fields count only with MIME-Version or Content-Type (RFC 2045 §4)', (t) => {
  const plain = parseMessage(message('Subject: x', 'Content-Transfer-Encoding: base64', 'Content-ID: <a@b>', '', 'x'));
  t.is(plain.root.encoding, undefined);
  t.is(plain.root.id, undefined);
  const mime = parseMessage(message('MIME-Version: 1.0', 'Content-Transfer-Encoding: base64', '', 'x'));
  t.is(mime.root.encoding, 'base64');
  const typed = parseMessage(message('Content-Type: text/html', 'Content-Transfer-Encoding: 8bit', '', 'x'));
  t.is(typed.root.subtype, 'html');
  t.is(typed.root.encoding, '8bit');
});

test('bare CR is not a line break and NUL is flagged; only LF ends a line', (t) => {
  const raw = Buffer.from('Subject: odd\r\n\r\nline with bare\rcarriage return\r\nline with \0 nul\r\n', 'latin1');
  const s = parseMessage(raw);
  t.true(s.nul);
  t.is(s.root.lines, 2);
  t.is(s.root.end - s.root.body, raw.length - raw.indexOf('line with bare'));
  t.is(parseMessage(Buffer.from('Subject: x\r\n\r\nclean\r\n')).nul, undefined);
});

test('LF-only line endings are read as line breaks too', (t) => {
  const raw = Buffer.from('Content-Type: multipart/mixed; boundary=b\n\n--b\n\nhello\n--b--\n');
  const s = parseMessage(raw);
  t.is(bodyOf(raw, s.root.parts![0]), 'hello');
  t.is(s.root.parts![0]!.lines, 0);
});

test('headers only, no empty line, and the empty message', (t) => {
  const noBlank = message('From: a@example.test', 'Subject: no blank line at all', '');
  const s = parseMessage(noBlank);
  t.is(s.root.body, noBlank.length);
  t.is(s.root.envelope?.subject, 'no blank line at all');
  const empty = parseMessage(Buffer.alloc(0));
  t.deepEqual(empty, { v: 1, size: 0, root: { header: 0, body: 0, end: 0, lines: 0, envelope: {} } });
});

test('a multipart without boundary, or whose boundary never appears, has no parts', (t) => {
  for (const header of ['Content-Type: multipart/mixed', 'Content-Type: multipart/mixed; boundary=never']) {
    const s = parseMessage(message('MIME-Version: 1.0', header, '', 'not really multipart', ''));
    t.deepEqual(s.root.parts, [], header);
    t.deepEqual(bodyStructureToImap(s.root, { extensible: false }), [['text', 'plain', ['charset', 'us-ascii'], null, null, '7bit', 0, 0], 'mixed']);
  }
});

test('past 100 levels of nesting a part is opaque, as application/octet-stream', (t) => {
  const lines: string[] = [];
  for (let i = 0; i < 150; i++) lines.push(`Content-Type: multipart/mixed; boundary=b${i}`, '', `--b${i}`);
  lines.push('', 'deep', '');
  const s = parseMessage(message(...lines));
  let part = s.root;
  let depth = 0;
  while (part.parts?.[0]) {
    part = part.parts[0];
    depth++;
  }
  t.is(depth, 99);
  t.true(part.truncated);
  t.deepEqual(bodyStructureToImap(part, { extensible: false }).slice(0, 2), ['application', 'octet-stream']);
});

test('a header field too big for the header budget is dropped; offsets stay exact and later fields still count', (t) => {
  const huge = 'x'.repeat(300 * 1024);
  const raw = message('Subject: first', `Cc: ${huge}@example.test`, 'To: late@example.test', 'Content-Type: text/html', '', 'body');
  const s = parseMessage(raw);
  t.is(s.root.envelope?.subject, 'first');
  t.is(s.root.envelope?.cc, undefined, 'the field past the budget is not kept');
  t.deepEqual(s.root.envelope?.to, [[null, null, 'late', 'example.test']]);
  t.is(s.root.subtype, 'html');
  t.is(bodyOf(raw, s.root), 'body');
});

test('over the whole golden corpus: offsets nest, and every line count is the LF count of the body', (t) => {
  let parts = 0;
  for (const entry of [...loadGolden('edge'), ...loadGolden('corpus')]) {
    const raw = storedMessage(entry);
    const s: MessageStructure = parseMessage(raw);
    for (const part of allParts(s.root)) {
      parts++;
      if (!(part.header <= part.body && part.body <= part.end && part.end <= s.size)) return t.fail(`${entry.path}: bad offsets ${JSON.stringify(part)}`);
      let lf = 0;
      for (let i = part.body; i < part.end; i++) if (raw[i] === 0x0a) lf++;
      if (lf !== part.lines) return t.fail(`${entry.path}: ${part.lines} lines, ${lf} LFs`);
      for (const child of [...(part.parts ?? []), ...(part.message ? [part.message] : [])]) {
        if (child.header < part.body || child.end > part.end) return t.fail(`${entry.path}: child outside its parent's body`);
      }
    }
  }
  t.true(parts > 5600, `${parts} parts checked`);
});
