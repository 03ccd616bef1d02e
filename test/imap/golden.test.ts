// The golden set (4,836 messages; /work/shared/imap-golden) through the whole
// server: each message is stored in a mailbox, then FETCHed over IMAP, and
// RFC822.SIZE, ENVELOPE, BODYSTRUCTURE, BODY and the 15 BODY.PEEK[section]
// answers are compared with Dovecot's by value (the wire is parsed; strings
// may be quoted or literals). The only differences allowed are the ones
// test/mime/deviations.ts documents.

import test from 'ava';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import type { ImapValue } from '../../services/mime/index.ts';
import { appendRaw } from '../helpers/mail.ts';
import { parseFetch, RawImap, type WireValue } from '../helpers/imap-raw.ts';
import { addFamily, startServices } from '../helpers/services.ts';
import { messageGlobal, rawEightBitEnvelopes } from '../mime/deviations.ts';
import { differenceFrom, goldenValue, loadGolden, storedMessage, type GoldenEntry } from '../mime/golden.ts';

const sectionKeys = ['HEADER', 'TEXT', 'HEADER.FIELDS (FROM SUBJECT)', '1', '1.MIME', '2', '2.MIME', '1.1', '1.2', '2.1', '2.HEADER', '2.TEXT', '1.1.MIME', '3'];

/** Our wire value as an ImapValue (strings decoded as UTF-8, as the server wrote them). */
function asImapValue(value: WireValue): ImapValue {
  if (Buffer.isBuffer(value)) return value.toString('utf8');
  if (Array.isArray(value)) return value.map(asImapValue);
  return value;
}

function digest(octets: Buffer): [number, string] {
  return [octets.length, createHash('sha256').update(octets).digest('hex').slice(0, 16)];
}

test('every golden message FETCHed over IMAP matches Dovecot, except the documented deviations', async (t) => {
  // tmpfs: the point here is what IMAP answers, not the cost of 4,836 fsyncs.
  const data = mkdtempSync('/dev/shm/mailnest-golden-');
  t.teardown(() => rmSync(data, { recursive: true, force: true }));
  const env = await startServices(t, { data });
  await addFamily(env.services);
  const entries: GoldenEntry[] = [...loadGolden('edge'), ...loadGolden('corpus')];
  for (const entry of entries) await appendRaw(env.services.store, 'alice@example.test', 'INBOX', storedMessage(entry));

  const imap = await RawImap.open(env.ports.imap!);
  t.teardown(() => imap.close());
  t.regex((await imap.command('LOGIN alice@example.test sesame-tulip-42')).status, /^OK/);
  t.regex((await imap.command('SELECT INBOX')).status, /^OK/);
  const eightBit = new Set(rawEightBitEnvelopes.paths);
  const problems: string[] = [];
  let checked = 0;

  const batch = 250;
  for (let first = 1; first <= entries.length; first += batch) {
    const last = Math.min(entries.length, first + batch - 1);
    const structure = await imap.command(`UID FETCH ${first}:${last} (RFC822.SIZE ENVELOPE BODYSTRUCTURE BODY)`);
    t.regex(structure.status, /^OK/);
    const sections = await imap.command(`UID FETCH ${first}:${last} (${sectionKeys.map((k) => `BODY.PEEK[${k}]`).join(' ')} BODY.PEEK[]<100.200>)`);
    t.regex(sections.status, /^OK/);
    const byUid = (lines: Buffer[]) => new Map(lines.filter((l) => l.toString('latin1', 0, 12).includes('FETCH')).map((l) => { const f = parseFetch(l); return [Number(f.items.get('UID')), f.items] as const; }));
    const meta = byUid(structure.untagged);
    const parts = byUid(sections.untagged);
    for (let uid = first; uid <= last; uid++) {
      const entry = entries[uid - 1]!;
      const name = `${entry.set}/${entry.path}`;
      const items = meta.get(uid);
      const octets = parts.get(uid);
      if (!items || !octets) {
        problems.push(`${name}: no FETCH response`);
        continue;
      }
      checked++;
      if (items.get('RFC822.SIZE') !== entry.size) problems.push(`${name}: RFC822.SIZE ${items.get('RFC822.SIZE')}, golden ${entry.size}`);
      const envelope = differenceFrom(asImapValue(items.get('ENVELOPE')!), goldenValue(entry.envelope), eightBit.has(entry.path) ? 'text' : 'octets', 'ENVELOPE');
      if (envelope) problems.push(`${name}: ${envelope}`);
      const isGlobal = entry.set === 'edge' && entry.path === messageGlobal.path;
      const expected = (item: 'bodystructure' | 'body') => (isGlobal ? toGolden(messageGlobal[item]) : goldenValue(entry[item]));
      for (const item of ['bodystructure', 'body'] as const) {
        const difference = differenceFrom(asImapValue(items.get(item.toUpperCase())!), expected(item), 'octets', item.toUpperCase());
        if (difference) problems.push(`${name}: ${difference}`);
      }
      for (const [key, [length, hash]] of Object.entries(entry.sections)) {
        const wireKey = key === '<100>' ? 'BODY[]<100>' : `BODY[${key}]`;
        const value = octets.get(wireKey.toUpperCase());
        const got = Buffer.isBuffer(value) ? value : Buffer.alloc(0);
        const want = isGlobal && messageGlobal.sections[key] ? digest(messageGlobal.sections[key]!) : [length, hash];
        const ours = digest(got);
        if (ours[0] !== want[0] || ours[1] !== want[1]) problems.push(`${name}: ${wireKey} ours ${ours.join(' ')}, golden ${want.join(' ')}`);
      }
    }
  }
  t.is(checked, entries.length);
  t.deepEqual(problems.slice(0, 20), [], `${problems.length} differences`);
});

/** A hand-written expected value in the golden tree's shape (strings as UTF-8 octets). */
function toGolden(value: unknown): ReturnType<typeof goldenValue> {
  if (typeof value === 'string') return Buffer.from(value, 'utf8');
  if (Array.isArray(value)) return value.map(toGolden);
  return value as number | null;
}
