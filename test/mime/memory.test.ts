// A 50 MB message with a huge base64 attachment must parse with bounded
// memory: the scanner keeps headers and counters, never bodies. It is fed
// fresh 64 KiB chunks (what a socket delivers), and what stays reachable
// after a forced garbage collection (V8 heap plus Buffer memory) is measured
// along the way. The bound is generous: it only has to catch a scanner that
// keeps the body, or a copy of it.

import test from 'ava';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { MessageScanner } from '../../services/mime/index.ts';

// ava starts workers without --expose-gc; this turns it on for this process.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

function retained(): number {
  gc();
  const usage = process.memoryUsage();
  return usage.heapUsed + usage.external;
}

test('a 50 MB message parses with bounded heap, and its structure is right', (t) => {
  const head = Buffer.from(
    [
      'From: a@example.test',
      'Subject: big attachment',
      'MIME-Version: 1.0',
      'Content-Type: multipart/mixed; boundary=big',
      '',
      '--big',
      'Content-Type: text/plain',
      '',
      'see attachment',
      '--big',
      'Content-Type: application/zip; name=a.zip',
      'Content-Transfer-Encoding: base64',
      '',
      '',
    ].join('\r\n'),
  );
  const line = Buffer.from('QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWZnaGlqa2xtbm9wcXJzdHV2d3h5ejAxMjM0\r\n');
  // One 64 KiB chunk reused: the test itself must not hold 50 MB either.
  const chunk = Buffer.concat(Array.from({ length: Math.floor(65536 / line.length) }, () => line));
  const target = 50 * 1024 * 1024;

  const before = retained();
  let peak = 0;
  const scanner = new MessageScanner();
  scanner.write(head);
  let size = head.length;
  let chunks = 0;
  while (size < target) {
    scanner.write(Buffer.from(chunk));
    size += chunk.length;
    if (++chunks % 100 === 0) peak = Math.max(peak, retained() - before);
  }
  scanner.write(Buffer.from('--big--\r\n'));
  size += 9;
  const structure = scanner.end();
  peak = Math.max(peak, retained() - before);

  t.log(`at most ${(peak / 1024 / 1024).toFixed(2)} MiB retained while scanning a ${(size / 1024 / 1024).toFixed(0)} MiB message`);
  t.true(peak < 8 * 1024 * 1024, `${peak} octets retained`);
  t.is(structure.size, size);
  const attachment = structure.root.parts![1]!;
  t.is(attachment.end - attachment.body, size - 9 - 2 - head.length);
  t.is(attachment.lines, chunks * (chunk.length / line.length) - 1);
  t.true(JSON.stringify(structure).length < 1000);
});
