import test from 'ava';
import { addressSortKey, baseSubject, displaySortKey, isReplyOrForward, parseMessage, parseMessageIds, parseSentDate, summarize } from '../../services/mime/index.ts';

test('RFC 5256 base subject: re/fw/fwd leaders, blobs, (fwd) trailers and [fwd: ] wrappers go', (t) => {
  const cases: [string, string][] = [
    ['Re: hello', 'hello'],
    ['RE:  Re: re:hello', 'hello'],
    ['Fwd: Re: [list] Re: hello (fwd)', 'hello'],
    ['[list] hello', 'hello'],
    ['[list]', '[list]'],
    ['[fwd: Re: hello]', 'hello'],
    ['Re [2]: hello', 'hello'],
    ['  hello   world  ', 'hello world'],
    ['hello (fwd) (FWD)', 'hello'],
    ['=?utf-8?q?Re=3A_caf=C3=A9?=', 'café'],
    ['Rehearsal', 'Rehearsal'],
    ['', ''],
  ];
  for (const [subject, base] of cases) t.is(baseSubject(subject), base, subject);
  t.is(baseSubject(undefined), '');
  t.true(isReplyOrForward('Re: x'));
  t.true(isReplyOrForward('x (fwd)'));
  t.false(isReplyOrForward('Rehearsal'));
});

test('sent dates: RFC 5322 with its obsolete forms; unreadable ones are null', (t) => {
  t.is(parseSentDate('Thu, 22 Aug 2002 13:52:38 +0100'), Date.UTC(2002, 7, 22, 12, 52, 38));
  t.is(parseSentDate('22 Aug 2002 13:52 -0000'), Date.UTC(2002, 7, 22, 13, 52));
  t.is(parseSentDate('Thu, 22 Aug 02 13:52:38 EDT'), Date.UTC(2002, 7, 22, 17, 52, 38));
  t.is(parseSentDate('Mon, 2 Nov 99 10:00:00 GMT (comment)'), Date.UTC(1999, 10, 2, 10));
  t.is(parseSentDate('Tue,  3 Nov 2026 08:30:00 +0530'), Date.UTC(2026, 10, 3, 3, 0));
  t.is(parseSentDate('2 November 2026 10:00:00 Z'), Date.UTC(2026, 10, 2, 10));
  for (const bad of ['not a date', '32 Aug 2002 10:00:00', '1 Foo 2002 10:00', '', undefined]) t.is(parseSentDate(bad), null, String(bad));
});

test('address sort keys: the first mailbox\'s local part, or (DISPLAY) its decoded name', (t) => {
  const s = parseMessage(Buffer.from('From: =?utf-8?q?J=C3=B6rg?= <joerg@example.test>\r\nTo: Team:;, plain@example.test\r\n\r\n'));
  t.is(addressSortKey(s.root.envelope?.from), 'joerg');
  t.is(displaySortKey(s.root.envelope?.from), 'Jörg');
  t.is(addressSortKey(s.root.envelope?.to), 'plain', 'group markers are skipped');
  t.is(displaySortKey(s.root.envelope?.to), 'plain@example.test');
  t.is(addressSortKey(undefined), '');
  t.is(displaySortKey([]), '');
});

test('message-ids of References and In-Reply-To, and the summary the index keeps', (t) => {
  t.deepEqual(parseMessageIds('<a@b>\r\n <c@d> junk <e@f>'), ['<a@b>', '<c@d>', '<e@f>']);
  const s = parseMessage(Buffer.from('From: =?utf-8?q?J=C3=B6rg?= <j@example.test>\r\nSubject: =?utf-8?q?Gr=C3=BC=C3=9Fe?=\r\nDate: Tue, 3 Nov 2026 08:30:00 +0100\r\nMessage-ID: <id@example.test>\r\nReferences: <r1@x>\r\n <r2@x>\r\n\r\n'));
  t.deepEqual(summarize(s), { subject: 'Grüße', from: 'Jörg <j@example.test>', sentAt: Date.UTC(2026, 10, 3, 7, 30), messageId: '<id@example.test>' });
  t.is(s.references, '<r1@x> <r2@x>');
  t.deepEqual(summarize(parseMessage(Buffer.alloc(0))), { subject: '', from: '', sentAt: null, messageId: null });
  t.is(summarize(parseMessage(Buffer.from('Message-ID:  bare@id  \r\n\r\n'))).messageId, 'bare@id');
});
