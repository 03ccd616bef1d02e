// Receiving a message body: stream it into a durable file while the MIME
// scanner reads it once, so that everything IMAP will ask about (envelope,
// body structure, part offsets) and the index summary exist when the row is
// committed. Memory stays bounded whatever the message size: chunks go to the
// file in batches and the scanner keeps only headers.
//
// `receiveMessage` is the one path from arriving octets to a committed row,
// for SMTP DATA, IMAP APPEND and the reports the queue writes:
//
//   receive (durable file) → check (may refuse) → commit (one transaction,
//   usually a savepoint of the group committer's, group-commit.ts)
//
// When the check may edit the body (the content filter adds its
// Authentication-Results and drops forged ones: `steps.analyzer` given), the
// received file stays a draft in tmp/, written but not synced; an edit is
// written out once as the durable file and the draft removed, and without an
// edit the draft is synced and renamed then. Either way one fsync a message.
//
// Invariants a reader must keep:
// - Whatever happens before the commit returns (a source that errors because
//   the client went away, a refusal, a failed transaction), the file is closed
//   and removed before the error reaches the caller. The one exception is
//   NotDurableError (the COMMIT returned, its sync failed): a row may name the
//   file, so it stays, and the start-up sweep removes it if no row does.
// - Nothing runs after the commit inside the helper: once a row names the
//   file, no code path here removes it. Work that follows a delivery (logging,
//   waking the queue) belongs to the caller, after `receiveMessage` returned.

import { createReadStream } from 'node:fs';
import { LineEndNormalizer } from '../mime/line-ends.ts';
import type { BodyFiles, BodyWriter, StoredFile } from './body-files.ts';
import { NotDurableError } from './group-commit.ts';
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
  /** Store every bare CR and bare LF as CRLF (submission: what is checked and signed is what will be sent). */
  normalizeLineEnds?: boolean;
}

export type ReceiveResult = { ok: true; body: ReceivedBody } | { ok: false; reason: 'too-large'; bytes: number };

/** The source ended with an error before its end (a client that disconnected mid-DATA or mid-literal). */
export class SourceAbortedError extends Error {
  constructor(cause: unknown) {
    super(`the message was not received in full: ${(cause as Error)?.message ?? String(cause)}`, { cause });
    this.name = 'SourceAbortedError';
  }
}

/**
 * Streams `source` into a new durable body file. Throws SourceAbortedError
 * when the source fails, and the storage error when writing fails; either
 * way the partial file is closed and removed first.
 */
export async function receiveBody(files: BodyFiles, analyzer: BodyAnalyzer, source: AsyncIterable<Buffer | string>, options: ReceiveOptions = {}): Promise<ReceiveResult> {
  const received = await receiveInto(files, analyzer, source, options, (writer) => writer.commit());
  return received.ok ? { ok: true, body: received.body } : received;
}

/**
 * receiveBody, but the file is left a draft in tmp/ (written, not synced,
 * not renamed): the caller either promotes it (the one fsync and rename) or
 * replaces it by an edited durable copy and aborts it, so a message the
 * filter edits is synced once, not twice.
 */
async function receiveDraft(files: BodyFiles, analyzer: BodyAnalyzer, source: AsyncIterable<Buffer | string>, options: ReceiveOptions) {
  return receiveInto(files, analyzer, source, options, (writer) => writer.draft());
}

async function receiveInto(
  files: BodyFiles,
  analyzer: BodyAnalyzer,
  source: AsyncIterable<Buffer | string>,
  options: ReceiveOptions,
  finish: (writer: BodyWriter) => Promise<StoredFile>,
): Promise<(ReceiveResult & { ok: false }) | { ok: true; body: ReceivedBody; writer: BodyWriter }> {
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
  const normalizer = options.normalizeLineEnds ? new LineEndNormalizer() : undefined;
  const store = async (chunk: Buffer) => {
    bytes += chunk.length;
    if (!writer || chunk.length === 0) return;
    if (bytes > limit) {
      tooLarge = true;
      await stopWriting();
      return;
    }
    try {
      analyzer.write(chunk);
      await writer.write(chunk);
    } catch (error) {
      await stopWriting(error);
    }
  };
  try {
    for await (const piece of source) {
      const chunk = typeof piece === 'string' ? Buffer.from(piece, 'utf8') : piece;
      await store(normalizer ? normalizer.write(chunk) : chunk);
    }
    if (normalizer) await store(normalizer.end());
  } catch (error) {
    await stopWriting();
    throw new SourceAbortedError(error);
  }
  if (failure !== undefined) throw failure;
  if (tooLarge || !writer) return { ok: false, reason: 'too-large', bytes };
  try {
    const { structure, summary } = analyzer.end();
    const done = writer;
    const file = await finish(done);
    return { ok: true, body: { file, structure, summary }, writer: done };
  } catch (error) {
    await stopWriting();
    throw error;
  }
}

export interface BodyEdit {
  insertAt: number;
  insert: Buffer;
  drop: readonly (readonly [number, number])[];
}

/** The file's bytes with `edit` applied, read in chunks (memory stays bounded). */
async function* editedBytes(path: string, edit: BodyEdit): AsyncGenerator<Buffer> {
  const cuts = [...edit.drop.map(([start, end]) => ({ at: start, skipTo: end })), { at: edit.insertAt, skipTo: edit.insertAt }].sort((a, b) => a.at - b.at);
  let position = 0;
  for (const cut of cuts) {
    if (cut.at > position) yield* fileRange(path, position, cut.at);
    if (cut.at === edit.insertAt && cut.skipTo === edit.insertAt) yield edit.insert;
    position = Math.max(position, cut.skipTo);
  }
  yield* fileRange(path, position, Infinity);
}

async function* fileRange(path: string, start: number, end: number): AsyncGenerator<Buffer> {
  if (end <= start) return;
  for await (const chunk of createReadStream(path, { start, ...(end === Infinity ? {} : { end: end - 1 }), highWaterMark: 64 * 1024 })) yield chunk as Buffer;
}

export interface CommitSteps<T> {
  /**
   * Runs once the body is durable, before the commit: a throw refuses the
   * message (the file goes). A returned edit is applied by writing a new
   * durable file from the first (read with `analyzer` again), which replaces it.
   */
  check?: (body: ReceivedBody) => void | BodyEdit | Promise<void | BodyEdit>;
  /** A fresh analyzer for an edited body (needed when `check` may return an edit). */
  analyzer?: () => BodyAnalyzer;
  /**
   * The one transaction that names the body (a store method, or its grouped
   * form that resolves once the group's transaction is durable). A throw or
   * rejection means nothing was committed, except NotDurableError (the rows
   * may exist, so the file stays).
   */
  commit: (body: ReceivedBody) => T | Promise<T>;
}

export type MessageResult<T> = { ok: true; body: ReceivedBody; committed: T } | { ok: false; reason: 'too-large'; bytes: number };

/** Receive, check, commit; the file is removed on every failure before the commit, and never after it. */
export async function receiveMessage<T>(files: BodyFiles, analyzer: BodyAnalyzer, source: AsyncIterable<Buffer | string>, options: ReceiveOptions, steps: CommitSteps<T>): Promise<MessageResult<T>> {
  // With an analyzer the check may edit the body: the first file stays a draft until then.
  let draft: BodyWriter | undefined;
  let received: ReceiveResult;
  if (steps.analyzer) {
    const drafted = await receiveDraft(files, analyzer, source, options);
    if (!drafted.ok) return drafted;
    draft = drafted.writer;
    received = { ok: true, body: drafted.body };
  } else {
    received = await receiveBody(files, analyzer, source, options);
    if (!received.ok) return received;
  }
  let committed: T;
  let body = received.body;
  try {
    const edit = await steps.check?.(body);
    if (edit) {
      if (!steps.analyzer) throw new Error('an edited body needs an analyzer');
      const edited = await receiveBody(files, steps.analyzer(), editedBytes(files.absolute(body.file.file), edit));
      if (!edited.ok) throw new Error('the edited body could not be written');
      const original = body.file.file;
      body = edited.body;
      if (draft) await draft.abort();
      else await files.remove(original).catch(() => {});
    } else if (draft) {
      body = { ...body, file: await draft.promote() };
    }
    committed = await steps.commit(body);
  } catch (error) {
    // Committed but the sync failed: a row may name the file; if none does, the start-up sweep removes it.
    if (error instanceof NotDurableError) throw error;
    // No row names the file. If even the unlink fails (a read-only disk), the start-up sweep removes it.
    await files.remove(body.file.file).catch(() => {});
    // The first file: a draft is closed and removed by its writer.
    if (draft) await draft.abort();
    else if (body !== received.body) await files.remove(received.body.file.file).catch(() => {});
    throw error;
  }
  return { ok: true, body, committed };
}
