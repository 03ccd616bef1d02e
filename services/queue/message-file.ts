// Reading a queued message's stored file for sending and for reports. The
// offsets and the From address come from the structure the MIME scanner
// stored at delivery, so nothing here parses the message again.

import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import type { MessageStructure } from '../mime/index.ts';

/** The prefix (a DKIM-Signature), then the file from `skip` on. */
export async function* withPrefix(prefix: Buffer, path: string, skip: number): AsyncGenerator<Buffer> {
  if (prefix.length) yield prefix;
  for await (const chunk of createReadStream(path, { highWaterMark: 64 * 1024, start: skip })) yield chunk as Buffer;
}

/** The length of a Return-Path line opening the file, else 0. */
export async function returnPathLength(path: string): Promise<number> {
  const head = await readHead(path, 2048);
  if (!/^return-path:/i.test(head.subarray(0, 12).toString('latin1'))) return 0;
  const end = head.indexOf('\r\n');
  // A folded or over-long line is not the one we wrote: leave it.
  return end > 0 && head[end + 2] !== 0x20 && head[end + 2] !== 0x09 ? end + 2 : 0;
}

/** The From domain, for the DKIM signer. */
export function fromDomainOf(structureJson: string): string | null {
  try {
    const structure = JSON.parse(structureJson) as MessageStructure;
    const first = (structure.root.envelope?.from ?? []).find(([, , mailbox, host]) => mailbox !== null && host !== null);
    return first?.[3] ?? null;
  } catch {
    return null;
  }
}

/**
 * The header section (each line with its line end, without the blank line
 * that closes it), up to 64 KB. Empty when the file is gone: the report on a
 * message whose file went missing must still reach its sender.
 */
export async function readHeaderSection(path: string, structureJson: string): Promise<Buffer> {
  const { root } = JSON.parse(structureJson) as MessageStructure;
  let header: Buffer;
  try {
    header = await readHead(path, Math.min(root.body, 64 * 1024));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return Buffer.alloc(0);
    throw error;
  }
  if (header.length < root.body) return header;
  if (header.subarray(-4).equals(Buffer.from('\r\n\r\n'))) return header.subarray(0, -2);
  return header.subarray(-2).equals(Buffer.from('\n\n')) ? header.subarray(0, -1) : header;
}

async function readHead(path: string, length: number): Promise<Buffer> {
  const handle = await open(path, 'r');
  try {
    const buffer = Buffer.alloc(length);
    const { bytesRead } = await handle.read(buffer, 0, length, 0);
    return buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}
