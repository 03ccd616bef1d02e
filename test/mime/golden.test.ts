// Every message of the golden set (4,836: real 2002 mail and hand-made edge
// cases) is parsed and its RFC822.SIZE, ENVELOPE, BODYSTRUCTURE, BODY and 15
// BODY[section] answers compared with Dovecot's, by value (ENVELOPE and
// BODYSTRUCTURE as trees, sections by octet count and SHA-256). The only
// differences allowed are the ones deviations.ts lists, and those are
// checked against what it says Mailnest answers instead.

import test from 'ava';
import { bodyStructureToImap, parseMessage, type MessageStructure } from '../../services/mime/index.ts';
import { messageGlobal, rawEightBitEnvelopes } from './deviations.ts';
import { compareMessage, differenceFrom, goldenValue, items, loadGolden, sectionDigest, sectionOctets, storedMessage, type GoldenEntry, type Item } from './golden.ts';

const entries: GoldenEntry[] = [...loadGolden('edge'), ...loadGolden('corpus')];
const eightBit = new Set(rawEightBitEnvelopes.paths);
const isGlobal = (entry: GoldenEntry) => entry.set === 'edge' && entry.path === messageGlobal.path;
const globalSections = Object.keys(messageGlobal.sections);

test('the golden set is all there, and stored sizes follow from making line breaks CRLF', (t) => {
  t.is(entries.length, 4836);
  t.is(entries.filter((entry) => entry.set === 'edge').length, 25);
  for (const entry of entries) {
    if (storedMessage(entry).length !== entry.size) t.fail(`${entry.path}: ${storedMessage(entry).length} octets, golden says ${entry.size}`);
  }
  t.pass();
});

test('every message matches Dovecot item by item, except the listed deviations, which match what they document', (t) => {
  const exact: Record<Item, number> = { size: 0, envelope: 0, bodystructure: 0, body: 0, sections: 0 };
  const accepted: Record<Item, number> = { ...exact };
  const unexpected: string[] = [];
  let sectionAnswers = 0;
  let sectionAnswersSame = 0;
  for (const entry of entries) {
    const raw = storedMessage(entry);
    // Answers come from the structure as the store keeps it: through JSON.
    const structure = JSON.parse(JSON.stringify(parseMessage(raw))) as MessageStructure;
    const strict = compareMessage(entry, raw, structure);
    for (const item of items) if (!strict[item]) exact[item]++;
    for (const [key, [octets, digest]] of Object.entries(entry.sections)) {
      sectionAnswers++;
      const ours = sectionDigest(sectionOctets(structure, raw, key));
      if (ours[0] === octets && ours[1] === digest) sectionAnswersSame++;
    }

    // The same comparison with the documented deviations applied.
    const global = isGlobal(entry);
    const lenient = compareMessage(entry, raw, structure, eightBit.has(entry.path) ? { envelope: 'text' } : {}, global ? globalSections : []);
    if (global) {
      delete lenient.bodystructure;
      delete lenient.body;
      const bodystructure = differenceFrom(bodyStructureToImap(structure.root, { extensible: true }), toGolden(messageGlobal.bodystructure), 'octets');
      const body = differenceFrom(bodyStructureToImap(structure.root, { extensible: false }), toGolden(messageGlobal.body), 'octets');
      if (bodystructure) lenient.bodystructure = bodystructure;
      if (body) lenient.body = body;
      for (const key of globalSections) {
        if (!sectionOctets(structure, raw, key).equals(messageGlobal.sections[key]!)) lenient.sections = `${key} is not the encapsulated message's`;
      }
    }
    for (const item of items) {
      if (lenient[item]) unexpected.push(`${entry.set}/${entry.path} ${item}: ${lenient[item]}`);
      else accepted[item]++;
    }
  }
  const rate = (n: number) => `${n}/${entries.length} (${((100 * n) / entries.length).toFixed(2)} %)`;
  for (const item of items) t.log(`${item.padEnd(13)} same as Dovecot ${rate(exact[item])}; with documented deviations ${rate(accepted[item])}`);
  t.log(`section answers same as Dovecot: ${sectionAnswersSame}/${sectionAnswers} (${((100 * sectionAnswersSame) / sectionAnswers).toFixed(3)} %)`);
  t.deepEqual(unexpected.slice(0, 20), [], `${unexpected.length} unexpected differences`);
});

test('each listed deviation is a real difference from Dovecot', (t) => {
  const byPath = new Map(entries.map((entry) => [`${entry.set}/${entry.path}`, entry]));
  for (const path of rawEightBitEnvelopes.paths) {
    const entry = byPath.get(`corpus/${path}`);
    if (!entry) return t.fail(`${path} is not in the golden set`);
    const raw = storedMessage(entry);
    t.truthy(compareMessage(entry, raw, parseMessage(raw)).envelope, `${path}: the ENVELOPE no longer differs; remove it from deviations.ts`);
  }
  const global = byPath.get(`edge/${messageGlobal.path}`)!;
  const raw = storedMessage(global);
  const structure = parseMessage(raw);
  const strict = compareMessage(global, raw, structure);
  t.truthy(strict.bodystructure);
  t.truthy(strict.body);
  for (const key of globalSections) t.not(sectionOctets(structure, raw, key).length, global.sections[key]![0]);
});

/** A hand-written expected value in the golden tree's shape (strings as UTF-8 octets). */
function toGolden(value: unknown): ReturnType<typeof goldenValue> {
  if (typeof value === 'string') return Buffer.from(value, 'utf8');
  if (Array.isArray(value)) return value.map(toGolden);
  return value as number | null;
}
