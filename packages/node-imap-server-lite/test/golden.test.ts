// The response writer against what Dovecot wrote for thousands of real
// messages (/work/shared/imap-golden): ENVELOPE and BODYSTRUCTURE values,
// read from Dovecot's answers, are written back by the library and must read
// the same (and, where Dovecot used no literal, be the same octets); BODY
// derived from BODYSTRUCTURE must equal Dovecot's BODY.

import test from 'ava';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bodyFromStructure } from '../src/fetch/body.ts';
import { ResponseBuilder, type ImapValue } from '../src/protocol/encode.ts';
import { parseImapValue } from './helpers/imap-values.ts';

// In the Mailnest repository the golden answers sit in ../shared/imap-golden
// beside it; MAILNEST_GOLDEN_DIR points elsewhere. Missing files fail the
// tests: a comparison against nothing must not pass.
const dir = process.env.MAILNEST_GOLDEN_DIR ?? resolve(fileURLToPath(new URL('../../../../shared/imap-golden', import.meta.url)));

interface Golden {
  path: string;
  envelope: string;
  bodystructure: string;
  body: string;
}

function load(file: string, limit: number): Golden[] {
  const path = join(dir, file);
  if (!existsSync(path)) {
    throw new Error(`The golden file ${path} does not exist. The golden answers are in ../shared/imap-golden beside the Mailnest repository; set MAILNEST_GOLDEN_DIR to the folder that holds edge.jsonl and corpus.jsonl.`);
  }
  const entries = readFileSync(path, 'utf8')
    .split('\n')
    .filter(Boolean)
    .slice(0, limit)
    .map((line) => JSON.parse(line) as Golden);
  if (entries.length === 0) throw new Error(`The golden file ${path} holds no entries.`);
  return entries;
}

function render(value: ImapValue): string {
  const parts = new ResponseBuilder().value(value).end();
  return Buffer.concat(parts.map((part) => (Buffer.isBuffer(part) ? part : Buffer.alloc(0)))).toString('utf8').replace(/\r\n$/, '');
}

function check(t: import('ava').ExecutionContext, entries: Golden[]): void {
  let exact = 0;
  for (const entry of entries) {
    for (const field of ['envelope', 'bodystructure', 'body'] as const) {
      const dovecot = entry[field];
      const value = parseImapValue(dovecot);
      const ours = render(value);
      t.deepEqual(parseImapValue(ours), value, `${entry.path} ${field} reads back the same`);
      if (!/\{\d+\}/.test(dovecot) && !/[^\x20-\x7e]/.test(dovecot)) {
        t.is(ours, dovecot, `${entry.path} ${field} is written as Dovecot writes it`);
        exact++;
      }
    }
    t.deepEqual(bodyFromStructure(parseImapValue(entry.bodystructure)), parseImapValue(entry.body), `${entry.path} BODY from BODYSTRUCTURE`);
  }
  t.true(exact > 0);
}

test('the edge cases', (t) => {
  check(t, load('edge.jsonl', 1000));
});

test('real mail (the first 1500 of the corpus)', (t) => {
  check(t, load('corpus.jsonl', 1500));
});
