// SORT and UID SORT (RFC 5256) with DISPLAYFROM/DISPLAYTO (RFC 5957).

import test from 'ava';
import { baseSubject } from '../src/search/sort.ts';
import { selectedClient, user } from './helpers/server.ts';

const mails = [
  ['From: zed@example.test\r\nTo: "Yan" <b@example.test>\r\nSubject: Re: banana\r\nDate: Tue, 3 Mar 2020 10:00:00 +0000\r\n\r\nshort\r\n', '2020-03-05T00:00:00Z'],
  ['From: "Ann" <ann@example.test>\r\nTo: c@example.test\r\nSubject: apple\r\nDate: Mon, 2 Mar 2020 10:00:00 +0000\r\n\r\na longer body than the others\r\n', '2020-03-04T00:00:00Z'],
  ['From: mia@example.test\r\nTo: a@example.test\r\nSubject: [list] Fwd: cherry (fwd)\r\nDate: Wed, 4 Mar 2020 10:00:00 -0500\r\n\r\nmid\r\n', '2020-03-06T00:00:00Z'],
] as const;

test('each sort key, REVERSE, several keys, UID SORT and a search program', async (t) => {
  const { client, backend } = await selectedClient(t, 0);
  for (const [raw, date] of mails) backend.deliver(user, 'INBOX', raw, [], new Date(date));
  await client.command('n', 'NOOP');
  const sort = async (args: string) => (await client.command('s', `SORT ${args}`)).untagged[0];
  t.is(await sort('(ARRIVAL) UTF-8 ALL'), '* SORT 2 1 3');
  t.is(await sort('(DATE) UTF-8 ALL'), '* SORT 2 1 3');
  t.is(await sort('(REVERSE DATE) UTF-8 ALL'), '* SORT 3 1 2');
  t.is(await sort('(SUBJECT) UTF-8 ALL'), '* SORT 2 1 3');
  t.is(await sort('(FROM) US-ASCII ALL'), '* SORT 2 3 1');
  t.is(await sort('(TO) UTF-8 ALL'), '* SORT 3 1 2');
  t.is(await sort('(DISPLAYFROM) UTF-8 ALL'), '* SORT 2 3 1');
  t.is(await sort('(DISPLAYTO) UTF-8 ALL'), '* SORT 3 2 1');
  t.is(await sort('(SIZE) UTF-8 ALL'), '* SORT 1 3 2');
  t.is(await sort('(CC ARRIVAL) UTF-8 ALL'), '* SORT 2 1 3');
  t.is(await sort('(SUBJECT) UTF-8 NOT FROM ann'), '* SORT 1 3');
  t.is((await client.command('u', 'UID SORT (REVERSE SIZE) UTF-8 ALL')).untagged[0], '* SORT 2 3 1');
  t.regex((await client.command('b', 'SORT (BOGUS) UTF-8 ALL')).tagged, /^b BAD/);
  t.regex((await client.command('c', 'SORT (DATE) KOI8-R ALL')).tagged, /^c NO \[BADCHARSET/);
});

test('the base subject (RFC 5256 §2.1)', (t) => {
  t.is(baseSubject('Re: Fwd: [list] Re: hello (fwd)'), 'HELLO');
  t.is(baseSubject('[Fwd: Re: hello]'), 'HELLO');
  t.is(baseSubject('re[2]: hello  world'), 'HELLO WORLD');
  t.is(baseSubject('[only a blob]'), '[ONLY A BLOB]');
  t.is(baseSubject('=?UTF-8?Q?Gr=C3=BC=C3=9Fe?='), 'GRüßE');
});
