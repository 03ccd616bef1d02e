// SEARCH on the real store: text keys match decoded text (transfer encodings
// and charsets undone), whether or not the raw octets show the word.

import test from 'ava';
import { RawImap } from '../helpers/imap-raw.ts';
import { appendRaw } from '../helpers/mail.ts';
import { addFamily, startServices } from '../helpers/services.ts';

const head = (subject: string, extra = '') => `From: Friend <friend@remote.test>\r\nTo: alice@example.test\r\nSubject: ${subject}\r\nDate: Tue, 24 Nov 2026 10:00:00 +0000\r\nMIME-Version: 1.0\r\n${extra}`;

const messages = [
  // 1: plain, the word in the raw text.
  `${head('plain')}Content-Type: text/plain\r\n\r\nPlease bring the PineApple.\r\n`,
  // 2: plain, no word.
  `${head('nothing')}Content-Type: text/plain\r\n\r\nJust bread.\r\n`,
  // 3: base64: the word is only there once decoded.
  `${head('base64')}Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n${Buffer.from('Une pineapple, s’il vous plaît.\r\n').toString('base64')}\r\n`,
  // 4: quoted-printable with a soft line break inside the word.
  `${head('qp')}Content-Type: text/plain; charset=us-ascii\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nA pine=\r\napple for you.\r\n`,
  // 5: UTF-16 (as mail carries it, in base64): ASCII letters are not single octets.
  `${head('utf16')}Content-Type: text/plain; charset=utf-16le\r\nContent-Transfer-Encoding: base64\r\n\r\n${Buffer.from('pineapple juice', 'utf16le').toString('base64')}\r\n`,
  // 6: the word only in the header (TEXT finds it, BODY does not).
  `${head('header only', 'X-Fruit: pineapple\r\n')}Content-Type: text/plain\r\n\r\nNothing here.\r\n`,
  // 7: an attached message whose Subject has the word as an encoded word.
  `${head('forward')}Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nSee attached.\r\n--b\r\nContent-Type: message/rfc822\r\n\r\nSubject: =?utf-8?B?${Buffer.from('pineapple').toString('base64')}?=\r\n\r\ninner\r\n--b--\r\n`,
  // 8: UTF-8 text searched with a UTF-8 string.
  `${head('utf8')}Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\nGrüße aus Köln\r\n`,
];

test('SEARCH BODY and TEXT match decoded text; flags, size and headers combine with them', async (t) => {
  const env = await startServices(t);
  await addFamily(env.services);
  for (const raw of messages) await appendRaw(env.services.store, 'alice@example.test', 'INBOX', raw);
  const imap = await RawImap.open(env.ports.imap!);
  t.teardown(() => imap.close());
  await imap.command('LOGIN alice@example.test sesame-tulip-42');
  await imap.command('SELECT INBOX');
  const search = async (query: string) => {
    const result = await imap.command(`UID SEARCH ${query}`);
    t.regex(result.status, /^OK/, query);
    const line = result.untagged.map((l) => l.toString('utf8')).find((l) => l.startsWith('* SEARCH')) ?? '';
    return line.replace('* SEARCH', '').trim().split(' ').filter(Boolean).map(Number);
  };
  t.deepEqual(await search('BODY pineapple'), [1, 3, 4, 5, 7]);
  t.deepEqual(await search('TEXT pineapple'), [1, 3, 4, 5, 6, 7]);
  t.deepEqual(await search('NOT BODY pineapple'), [2, 6, 8]);
  t.deepEqual(await search('HEADER X-Fruit pine'), [6]);
  t.deepEqual(await search('SUBJECT qp'), [4]);
  t.deepEqual(await search('CHARSET UTF-8 BODY "Grüße"'), [8]);
  t.deepEqual(await search('CHARSET UTF-8 BODY "KÖLN"'), [8]);
  await imap.command('UID STORE 3 +FLAGS (\\Flagged)');
  t.deepEqual(await search('FLAGGED BODY pineapple'), [3]);
  t.deepEqual(await search('OR FLAGGED SUBJECT nothing'), [2, 3]);
  t.deepEqual(await search('LARGER 100000'), []);
});
