// Receiving a message body: stream it into a durable file while the MIME
// scanner reads it once, so that everything IMAP will ask about (envelope,
// body structure, part offsets) and the index summary exist when the row is
// committed. Memory stays bounded whatever the message size: chunks go to the
// file in batches and the scanner keeps only headers.

import type { BodyFiles } from './body-files.ts';
import type { MessageSummary, ReceivedBody } from './mail.ts';

export interface BodyAnalyzer {
  write(chunk: Buffer): void;
  end(): { structure: unknown; summary: MessageSummary };
}

export interface ReceiveOptions {
  /** Bytes written before the source (trace headers). */
  prefix?: Buffer;
  /** Past this many bytes the file is thrown away and the rest of the source only drained. */
  maxBytes?: number;
}

export type ReceiveResult = { ok: true; body: ReceivedBody } | { ok: false; reason: 'too-large'; bytes: number };

export async function receiveBody(files: BodyFiles, analyzer: BodyAnalyzer, source: AsyncIterable<Buffer | string>, options: ReceiveOptions = {}): Promise<ReceiveResult> {
  const limit = options.maxBytes ?? Infinity;
  let bytes = 0;
  let tooLarge = false;
  // A failure stops the writing but not the reading: the source (an SMTP DATA
  // stream) is always consumed to its end, so the protocol can still answer.
  let failure: unknown;
  let writer: Awaited<ReturnType<BodyFiles['create']>> | undefined;
  const stopWriting = async (error?: unknown) => {
    if (error !== undefined && failure === undefined) failure = error;
    const current = writer;
    writer = undefined;
    await current?.abort();
  };
  try {
    writer = await files.create();
    if (options.prefix?.length) {
      analyzer.write(options.prefix);
      await writer.write(options.prefix);
      bytes += options.prefix.length;
    }
  } catch (error) {
    await stopWriting(error);
  }
  for await (const piece of source) {
    const chunk = typeof piece === 'string' ? Buffer.from(piece, 'utf8') : piece;
    bytes += chunk.length;
    if (!writer) continue;
    if (bytes > limit) {
      tooLarge = true;
      await stopWriting();
      continue;
    }
    try {
      analyzer.write(chunk);
      await writer.write(chunk);
    } catch (error) {
      await stopWriting(error);
    }
  }
  if (failure !== undefined) throw failure;
  if (tooLarge || !writer) return { ok: false, reason: 'too-large', bytes };
  try {
    const { structure, summary } = analyzer.end();
    const file = await writer.commit();
    return { ok: true, body: { file, structure, summary } };
  } catch (error) {
    await stopWriting();
    throw error;
  }
}
