// The command reader: framing of lines and literals over any chunking, the
// limits (refused before "+", with the next command clean), APPEND's streamed
// literal, and the barrier that hands IDLE/AUTHENTICATE their next line.

import test from 'ava';
import { CommandReader, type ReaderEntry, type ReaderLimits } from '../src/protocol/reader.ts';

interface Harness {
  reader: CommandReader;
  entries: ReaderEntry[];
  continuations: string[];
  paused: () => boolean;
}

function harness(limits: Partial<ReaderLimits> = {}, options: { room?: () => boolean } = {}): Harness {
  const entries: ReaderEntry[] = [];
  const continuations: string[] = [];
  let paused = false;
  const reader = new CommandReader(
    {
      deliver: (entry) => entries.push(entry),
      continuation: async (text) => {
        continuations.push(text);
      },
      hasRoom: options.room ?? (() => true),
      allowLiteral8: () => true,
      isBarrier: (name) => name === 'IDLE' || name === 'AUTHENTICATE',
      pauseInput: () => (paused = true),
      resumeInput: () => (paused = false),
    },
    { maxLineLength: 200, maxLiteralSize: 100, maxCommandSize: 1000, appendLimit: 5000, ...limits },
  );
  return { reader, entries, continuations, paused: () => paused };
}

const flush = () => new Promise((resolve) => setImmediate(resolve));

/** Pushes chunks, letting each "+" be written before the reader goes on (as the session does). */
async function feed(h: Harness, chunks: Buffer[]): Promise<void> {
  for (const chunk of chunks) {
    h.reader.push(chunk);
    await flush();
  }
  await flush();
}

function summary(entries: ReaderEntry[]): string[] {
  return entries.map((entry) => (entry.type === 'command' ? `${entry.command.tag} ${entry.command.name} ${entry.command.args.length}` : `${entry.tag} ${entry.status} ${entry.code ?? ''}`));
}

const script = 'a1 NOOP\r\n\r\na2 LOGIN {5}\r\nalice {6+}\r\nsecret\r\na3 SELECT "INBOX"\na4 FETCH 1:* (FLAGS BODY.PEEK[HEADER])\r\n';

test('any chunking gives the same commands (byte by byte, random cuts)', async (t) => {
  const whole = harness();
  await feed(whole, [Buffer.from(script)]);
  t.deepEqual(summary(whole.entries), ['a1 NOOP 0', 'a2 LOGIN 2', 'a3 SELECT 1', 'a4 FETCH 2']);
  t.deepEqual(whole.continuations, ['Ready for literal data']);
  const bytes = harness();
  await feed(bytes, [...Buffer.from(script)].map((byte) => Buffer.from([byte])));
  t.deepEqual(summary(bytes.entries), summary(whole.entries));
  let seed = 7;
  for (let round = 0; round < 50; round++) {
    const h = harness();
    const data = Buffer.from(script);
    const chunks: Buffer[] = [];
    let i = 0;
    while (i < data.length) {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      const n = 1 + (seed % 17);
      chunks.push(data.subarray(i, i + n));
      i += n;
    }
    await feed(h, chunks);
    t.deepEqual(summary(h.entries), summary(whole.entries));
  }
});

test('an oversize synchronizing literal is refused before "+", and the next command is clean', (t) => {
  const h = harness();
  h.reader.push(Buffer.from('a1 LOGIN {500}\r\na2 NOOP\r\n'));
  t.deepEqual(summary(h.entries), ['a1 NO TOOBIG', 'a2 NOOP 0']);
  t.deepEqual(h.continuations, []);
});

test('an oversize non-synchronizing literal is refused and its octets skipped, also when they span chunks', (t) => {
  const h = harness();
  h.reader.push(Buffer.from('a1 LOGIN {300+}\r\n' + 'x'.repeat(100)));
  h.reader.push(Buffer.from('x'.repeat(150)));
  h.reader.push(Buffer.from('x'.repeat(50) + ' {2+}\r\nyy\r\na2 NOOP\r\n'));
  t.deepEqual(summary(h.entries), ['a1 NO TOOBIG', 'a2 NOOP 0']);
});

test('a line over the limit is BAD [TOOBIG]; the rest of it is skipped', (t) => {
  const h = harness();
  h.reader.push(Buffer.from('a1 SEARCH ' + 'x'.repeat(150)));
  h.reader.push(Buffer.from('x'.repeat(150)));
  h.reader.push(Buffer.from('x'.repeat(150) + '\r\na2 NOOP\r\n'));
  t.deepEqual(summary(h.entries), ['a1 BAD TOOBIG', 'a2 NOOP 0']);
  const whole = harness();
  whole.reader.push(Buffer.from('a1 SEARCH ' + 'x'.repeat(300) + '\r\na2 NOOP\r\n'));
  t.deepEqual(summary(whole.entries), ['a1 BAD TOOBIG', 'a2 NOOP 0']);
});

test('a command over maxCommandSize is refused', (t) => {
  const h = harness({ maxCommandSize: 120 });
  h.reader.push(Buffer.from('a1 LOGIN {90+}\r\n' + 'x'.repeat(90) + ' {90+}\r\n' + 'y'.repeat(90) + '\r\na2 NOOP\r\n'));
  t.deepEqual(summary(h.entries), ['a1 NO TOOBIG', 'a2 NOOP 0']);
});

test('syntax errors are BAD with the tag when there is one, * otherwise', (t) => {
  const h = harness();
  h.reader.push(Buffer.from('a1 FETCH (\r\n(bad\r\na2 X "open\r\na3 NOOP\r\n'));
  t.deepEqual(summary(h.entries), ['a1 BAD ', '* BAD ', 'a2 BAD ', 'a3 NOOP 0']);
});

test('APPEND is delivered as soon as its message literal is announced, and the octets stream', async (t) => {
  const h = harness();
  h.reader.push(Buffer.from('a1 APPEND INBOX (\\Seen) {11+}\r\nhello'));
  t.is(h.entries.length, 1);
  const entry = h.entries[0]!;
  if (entry.type !== 'command' || !entry.message) return t.fail();
  const chunks: Buffer[] = [];
  const done = new Promise<void>((resolve, reject) => {
    entry.message!.stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    entry.message!.stream.on('end', resolve);
    entry.message!.stream.on('error', reject);
  });
  h.reader.push(Buffer.from(' world\r\na2 NOOP\r\n'));
  await done;
  t.is(Buffer.concat(chunks).toString(), 'hello world');
  t.deepEqual(summary(h.entries), ['a1 APPEND 3', 'a2 NOOP 0']);
});

test('a synchronizing APPEND literal sends "+" only when the stream is read; refusing it leaves the reader clean', async (t) => {
  const h = harness();
  h.reader.push(Buffer.from('a1 APPEND INBOX {5}\r\n'));
  const entry = h.entries[0]!;
  if (entry.type !== 'command' || !entry.message) return t.fail();
  t.deepEqual(h.continuations, []);
  h.reader.finishMessage(entry.message);
  h.reader.push(Buffer.from('a2 NOOP\r\n'));
  t.deepEqual(summary(h.entries), ['a1 APPEND 2', 'a2 NOOP 0']);
  const h2 = harness();
  h2.reader.push(Buffer.from('b1 APPEND INBOX {5}\r\n'));
  const entry2 = h2.entries[0]!;
  if (entry2.type !== 'command' || !entry2.message) return t.fail();
  const read = new Promise<string>((resolve) => {
    const parts: Buffer[] = [];
    entry2.message!.stream.on('data', (chunk: Buffer) => parts.push(chunk)).on('end', () => resolve(Buffer.concat(parts).toString()));
  });
  await new Promise((resolve) => setImmediate(resolve));
  t.deepEqual(h2.continuations, ['Ready for literal data']);
  await feed(h2, [Buffer.from('abcde\r\n')]);
  t.is(await read, 'abcde');
});

test('APPEND over the append limit is NO [TOOBIG] before "+"; junk after the message fails the stream', async (t) => {
  const h = harness();
  h.reader.push(Buffer.from('a1 APPEND INBOX {6000}\r\na2 APPEND INBOX {6000+}\r\n' + 'z'.repeat(6000) + '\r\na3 NOOP\r\n'));
  t.deepEqual(summary(h.entries), ['a1 NO TOOBIG', 'a2 NO TOOBIG', 'a3 NOOP 0']);
  const j = harness();
  j.reader.push(Buffer.from('a1 APPEND INBOX {3+}\r\nabc junk\r\na2 NOOP\r\n'));
  const entry = j.entries[0]!;
  if (entry.type !== 'command' || !entry.message) return t.fail();
  const error = await new Promise<Error>((resolve) => {
    entry.message!.stream.on('error', resolve);
    entry.message!.stream.resume();
  });
  t.regex(error.message, /goes on after its message/);
  t.deepEqual(summary(j.entries), ['a1 APPEND 2', 'a2 NOOP 0']);
});

test('a barrier stops parsing; takeLine hands over the next line; release resumes in the same buffer', async (t) => {
  const h = harness();
  h.reader.push(Buffer.from('a1 IDLE\r\nDONE\r\na2 NOOP\r\n'));
  t.deepEqual(summary(h.entries), ['a1 IDLE 0']);
  const line = await h.reader.takeLine();
  t.is(line?.toString(), 'DONE');
  h.reader.release();
  t.deepEqual(summary(h.entries), ['a1 IDLE 0', 'a2 NOOP 0']);
});

test('parsing ahead stops when the session has no room, and the socket is paused', (t) => {
  let room = false;
  const h = harness({}, { room: () => room });
  h.reader.push(Buffer.from('a1 NOOP\r\na2 NOOP\r\n'));
  t.deepEqual(h.entries, []);
  t.true(h.paused());
  room = true;
  h.reader.kick();
  t.is(h.entries.length, 2);
  t.false(h.paused());
});

test('literal8 and {0} literals', async (t) => {
  const h = harness();
  await feed(h, [Buffer.from('a1 LOGIN {0}\r\n ~{3+}\r\nabc\r\n')]);
  t.deepEqual(summary(h.entries), ['a1 LOGIN 2']);
  t.deepEqual(h.continuations, ['Ready for literal data']);
});

test('a "+" that cannot be written stops the reader: a client that reads nothing cannot make it queue output', (t) => {
  const entries: ReaderEntry[] = [];
  let written = 0;
  let paused = false;
  const reader = new CommandReader(
    {
      deliver: (entry) => entries.push(entry),
      continuation: () => {
        written++;
        return new Promise<void>(() => {});
      },
      hasRoom: () => true,
      allowLiteral8: () => true,
      isBarrier: () => false,
      pauseInput: () => (paused = true),
      resumeInput: () => (paused = false),
    },
    { maxLineLength: 200, maxLiteralSize: 100, maxCommandSize: 100_000, appendLimit: 5000 },
  );
  reader.push(Buffer.from('a1 LOGIN {0}\r\n {0}\r\n {0}\r\n {0}\r\n\r\na2 NOOP\r\n'.repeat(20)));
  t.is(written, 1);
  t.deepEqual(entries, []);
  t.true(paused);
});
