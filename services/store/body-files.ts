// Message bodies as immutable files under messages/, written so that a crash at
// any moment leaves either nothing or a whole file:
//
//   1. write under tmp/<random> (O_EXCL), in batches;
//   2. fsync the file and close it;
//   3. rename it to messages/<2 hex>/<random>.eml and fsync that folder;
//   4. only then does the caller commit the row that names it.
//
// A crash before 3 leaves a file in tmp/; a crash between 3 and 4 leaves a file
// no row names. `sweep` removes both at start. A row is deleted before its file
// is unlinked, so no committed row ever names a missing file.

import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { open, rename, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { DataPaths } from './paths.ts';

const batchBytes = 256 * 1024;

export interface StoredFile {
  /** Path relative to messages/. */
  file: string;
  size: number;
}

export class BodyFiles {
  private readonly knownDirs = new Set<string>();

  constructor(private readonly paths: DataPaths) {
    mkdirSync(paths.messages, { recursive: true, mode: 0o700 });
    mkdirSync(paths.tmp, { recursive: true, mode: 0o700 });
  }

  absolute(file: string): string {
    return join(this.paths.messages, file);
  }

  async create(): Promise<BodyWriter> {
    const name = randomBytes(16).toString('hex');
    const tmpPath = join(this.paths.tmp, `${name}.tmp`);
    const handle = await open(tmpPath, 'wx', 0o600);
    return new BodyWriter(this, handle, tmpPath, name);
  }

  /** Makes messages/<shard> exist and be durable before a file is renamed into it. */
  async ensureShard(shard: string): Promise<void> {
    if (this.knownDirs.has(shard)) return;
    const dir = join(this.paths.messages, shard);
    try {
      statSync(dir);
    } catch {
      mkdirSync(dir, { mode: 0o700 });
      await fsyncDir(this.paths.messages);
    }
    this.knownDirs.add(shard);
  }

  async remove(file: string): Promise<void> {
    try {
      await unlink(this.absolute(file));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  }

  /**
   * Removes leftovers of interrupted writes: everything in tmp/, and files in
   * messages/ that `isReferenced` does not know. Run at start, before any write.
   */
  sweep(isReferenced: (file: string) => boolean): { tmpRemoved: number; orphansRemoved: number } {
    let tmpRemoved = 0;
    for (const name of readdirSync(this.paths.tmp)) {
      rmSync(join(this.paths.tmp, name), { force: true, recursive: true });
      tmpRemoved += 1;
    }
    let orphansRemoved = 0;
    for (const shard of readdirSync(this.paths.messages)) {
      const dir = join(this.paths.messages, shard);
      if (!statSync(dir).isDirectory()) continue;
      for (const name of readdirSync(dir)) {
        const file = `${shard}/${name}`;
        if (!isReferenced(file)) {
          rmSync(join(dir, name), { force: true });
          orphansRemoved += 1;
        }
      }
    }
    return { tmpRemoved, orphansRemoved };
  }
}

export class BodyWriter {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private written = 0;
  private done = false;

  constructor(
    private readonly files: BodyFiles,
    private readonly handle: FileHandle,
    private readonly tmpPath: string,
    private readonly name: string,
  ) {}

  get size(): number {
    return this.written + this.pendingBytes;
  }

  async write(chunk: Buffer): Promise<void> {
    if (this.done) throw new Error('write after commit or abort');
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    if (this.pendingBytes >= batchBytes) await this.flush();
  }

  private async flush(): Promise<void> {
    if (this.pendingBytes === 0) return;
    const buffer = this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending, this.pendingBytes);
    this.pending = [];
    this.written += this.pendingBytes;
    this.pendingBytes = 0;
    let offset = 0;
    while (offset < buffer.length) {
      const { bytesWritten } = await this.handle.write(buffer, offset, buffer.length - offset);
      offset += bytesWritten;
    }
  }

  /** Makes the file durable under its final name; the caller then commits its row. */
  async commit(): Promise<StoredFile> {
    try {
      await this.flush();
      await this.handle.sync();
      await this.handle.close();
      this.done = true;
      const shard = this.name.slice(0, 2);
      await this.files.ensureShard(shard);
      const file = `${shard}/${this.name}.eml`;
      await rename(this.tmpPath, this.files.absolute(file));
      await fsyncDir(join(this.files.absolute(shard)));
      return { file, size: this.written };
    } catch (error) {
      await this.abort();
      throw error;
    }
  }

  /** Throws the partial file away. Safe to call more than once. */
  async abort(): Promise<void> {
    this.pending = [];
    if (!this.done) {
      this.done = true;
      await this.handle.close().catch(() => {});
    }
    await unlink(this.tmpPath).catch(() => {});
  }
}

export async function fsyncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
