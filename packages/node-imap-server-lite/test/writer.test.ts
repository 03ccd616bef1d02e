// The ordered writer: every literal body it is handed is read to its end or
// destroyed, also when the connection closes with responses queued or half
// written, so that the files behind the streams are closed at once.

import test from 'ava';
import { Readable, Writable } from 'node:stream';
import type { Duplex } from 'node:stream';
import type { OutPart } from '../src/protocol/encode.ts';
import { ResponseWriter } from '../src/protocol/writer.ts';

/** A socket that takes a few octets and then never drains, like a client that stopped reading. */
function stuckSocket(): Writable {
  let taken = 0;
  return new Writable({
    highWaterMark: 16,
    write(chunk: Buffer, _encoding, callback) {
      taken += chunk.length;
      if (taken < 64) callback();
    },
  });
}

/** A body of `octets` "a"s, produced 100 at a time as it is read. */
function body(octets: number): { part: OutPart; stream: Readable } {
  let left = octets;
  const stream = new Readable({
    highWaterMark: 16,
    read() {
      const piece = Math.min(100, left);
      left -= piece;
      this.push(piece > 0 ? Buffer.alloc(piece, 0x61) : null);
    },
  });
  return { part: { kind: 'body', length: octets, source: stream }, stream };
}

test('closing destroys the streams of the response being written and of those queued behind it', async (t) => {
  const socket = stuckSocket();
  const writer = new ResponseWriter(socket as unknown as Duplex, () => {});
  const first = body(1000);
  const second = body(1000);
  const queued = body(1000);
  const writing = writer.send([Buffer.from('* 1 FETCH (BODY[1] {1000}\r\n'), first.part, Buffer.from(' BODY[2] {1000}\r\n'), second.part, Buffer.from(')\r\n')]);
  const waiting = writer.send([Buffer.from('* 2 FETCH (BODY[] {1000}\r\n'), queued.part, Buffer.from(')\r\n')]);
  // Let the writer start on the first body and get stuck on the full socket.
  await new Promise((resolve) => setImmediate(resolve));
  t.false(first.stream.destroyed);
  socket.destroy();
  await t.throwsAsync(writing, { name: 'ConnectionClosedError' });
  await t.throwsAsync(waiting, { name: 'ConnectionClosedError' });
  t.true(first.stream.destroyed, 'the body being written');
  t.true(second.stream.destroyed, 'the next body of the same response');
  t.true(queued.stream.destroyed, 'the body of a queued response');
});

test('a response sent after the connection closed has its streams destroyed', async (t) => {
  const socket = stuckSocket();
  const writer = new ResponseWriter(socket as unknown as Duplex, () => {});
  writer.close();
  const late = body(10);
  await t.throwsAsync(writer.send([Buffer.from('* 1 FETCH (BODY[] {10}\r\n'), late.part, Buffer.from(')\r\n')]), { name: 'ConnectionClosedError' });
  t.true(late.stream.destroyed);
});

test('bodies read to their end are written whole, in order', async (t) => {
  const chunks: Buffer[] = [];
  const socket = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      chunks.push(chunk);
      callback();
    },
  });
  const writer = new ResponseWriter(socket as unknown as Duplex, () => {});
  await writer.send([Buffer.from('A {3}\r\n'), body(3).part, Buffer.from(' B\r\n')]);
  await writer.idle();
  // Writes of one turn of the event loop are corked together and leave on the next.
  await new Promise((resolve) => setImmediate(resolve));
  t.is(Buffer.concat(chunks).toString(), 'A {3}\r\naaa B\r\n');
});
