// The structure must not depend on where the input was cut into chunks: SMTP
// hands the scanner whatever the socket delivered, so a chunk may end inside
// a CRLF, a boundary line, a header name or a UTF-8 sequence.

import test from 'ava';
import { MessageScanner, parseMessage, type MessageStructure } from '../../services/mime/index.ts';
import { loadGolden, storedMessage } from './golden.ts';

/** Deterministic PRNG (mulberry32), so a failure can be replayed. */
export function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function parseInChunks(raw: Buffer, sizes: () => number): MessageStructure {
  const scanner = new MessageScanner();
  for (let pos = 0; pos < raw.length; ) {
    const size = Math.max(1, sizes());
    scanner.write(raw.subarray(pos, pos + size));
    pos += size;
  }
  return scanner.end();
}

test('every golden message parses the same in random chunks as in one piece', (t) => {
  const next = random(20260101);
  // Mostly tiny chunks (they hit CRLF and boundary splits), sometimes large ones.
  const size = () => (next() < 0.7 ? 1 + Math.floor(next() * 8) : 1 + Math.floor(next() * 5000));
  let messages = 0;
  for (const entry of [...loadGolden('edge'), ...loadGolden('corpus')]) {
    const raw = storedMessage(entry);
    const whole = JSON.stringify(parseMessage(raw));
    const chunked = JSON.stringify(parseInChunks(raw, size));
    if (chunked !== whole) return t.fail(`${entry.path}: chunked parse differs:\n${chunked}\n${whole}`);
    messages++;
  }
  t.is(messages, 4836);
});

test('the small edge cases parse the same when cut in two at every position, and one octet at a time', (t) => {
  for (const entry of loadGolden('edge')) {
    const raw = storedMessage(entry);
    if (raw.length > 2000) continue;
    const whole = JSON.stringify(parseMessage(raw));
    for (let cut = 0; cut <= raw.length; cut++) {
      const scanner = new MessageScanner();
      scanner.write(raw.subarray(0, cut));
      scanner.write(raw.subarray(cut));
      const split = JSON.stringify(scanner.end());
      if (split !== whole) return t.fail(`${entry.path} cut at ${cut} differs`);
    }
    t.is(JSON.stringify(parseInChunks(raw, () => 1)), whole, entry.path);
  }
});

test('empty chunks change nothing, and the scanner refuses use after end', (t) => {
  const raw = Buffer.from('Subject: x\r\n\r\nbody\r\n');
  const scanner = new MessageScanner();
  scanner.write(Buffer.alloc(0));
  scanner.write(raw.subarray(0, 5));
  scanner.write(Buffer.alloc(0));
  scanner.write(raw.subarray(5));
  t.deepEqual(scanner.end(), parseMessage(raw));
  t.throws(() => scanner.write(raw), { message: /after end/ });
  t.throws(() => scanner.end(), { message: /twice/ });
});
