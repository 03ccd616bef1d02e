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
//
// The layout: a name is 32 hex digits, and its first two name its folder (the
// shard). The shard is not random per file: it changes every `filesPerShard`
// files, so that deliveries running at the same time rename into the same
// folder and share its fsync (`FolderSyncs`); over time the files still spread
// over all 256 folders. The rest of the name is random (120 bits). Nothing
// else depends on which shard a file is in: rows name `<shard>/<name>.eml`,
// and `sweep` walks every folder.
//
// A folder sync covers every rename into that folder that finished before the
// sync started (fsync of a directory makes its entries durable as they are
// when it runs). So a file whose rename finished while a sync of its folder
// was running waits for the next one, which starts when the running one ends
// and serves everyone who arrived meanwhile; it never counts on the running one.

import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { open, rename, unlink, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { DataPaths } from './paths.ts';

const batchBytes = 256 * 1024;
/** Files in a row that go into one shard folder before another is chosen. */
const filesPerShard = 64;

export interface StoredFile {
  /** Path relative to messages/. */
  file: string;
  size: number;
}

export class BodyFiles {
  private readonly knownDirs = new Set<string>();
  private readonly folderSyncs = new FolderSyncs();
  private shard = randomShard();
  private shardFilesLeft = filesPerShard;

  constructor(private readonly paths: DataPaths) {
    mkdirSync(paths.messages, { recursive: true, mode: 0o700 });
    mkdirSync(paths.tmp, { recursive: true, mode: 0o700 });
  }

  absolute(file: string): string {
    return join(this.paths.messages, file);
  }

  async create(): Promise<BodyWriter> {
    if (this.shardFilesLeft-- <= 0) {
      this.shard = randomShard();
      this.shardFilesLeft = filesPerShard - 1;
    }
    const name = this.shard + randomBytes(15).toString('hex');
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

  /** Makes every rename into messages/<shard> that finished before this call durable (one fsync shared by all who wait). */
  syncShard(shard: string): Promise<void> {
    return this.folderSyncs.sync(join(this.paths.messages, shard));
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
    await this.flushOrAbort();
    return this.promote();
  }

  /**
   * Writes out what is buffered and leaves the file in tmp/, open and not yet
   * durable: a draft that a content filter reads and may replace by an edited
   * copy (receive.ts). Its `file` (relative to messages/, as every StoredFile)
   * points into tmp/ and never reaches a row: `promote` or `abort` follows.
   */
  async draft(): Promise<StoredFile> {
    await this.flushOrAbort();
    return { file: join('..', basename(dirname(this.tmpPath)), basename(this.tmpPath)), size: this.written };
  }

  /** The draft (or a written file) made durable under its final name, as `commit` does. */
  async promote(): Promise<StoredFile> {
    try {
      if (this.pendingBytes) await this.flush();
      await this.handle.sync();
      await this.handle.close();
      this.done = true;
      const shard = this.name.slice(0, 2);
      await this.files.ensureShard(shard);
      const file = `${shard}/${this.name}.eml`;
      await rename(this.tmpPath, this.files.absolute(file));
      await this.files.syncShard(shard);
      return { file, size: this.written };
    } catch (error) {
      await this.abort();
      throw error;
    }
  }

  private async flushOrAbort(): Promise<void> {
    try {
      await this.flush();
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

function randomShard(): string {
  return randomBytes(1).toString('hex');
}

/**
 * Coalesced folder syncs: `sync(dir)` resolves once an fsync of `dir` that
 * started after the call has finished. While one runs, every caller for that
 * folder shares the next one, started when the running one ends.
 */
export class FolderSyncs {
  private readonly folders = new Map<string, { running?: Promise<void>; next?: Promise<void> }>();
  /** fsyncs started (tests count them). */
  started = 0;

  constructor(private readonly syncFolder: (dir: string) => Promise<void> = fsyncDir) {}

  sync(dir: string): Promise<void> {
    let state = this.folders.get(dir);
    if (!state) this.folders.set(dir, (state = {}));
    const folder = state;
    if (!folder.running) return this.start(dir, folder);
    // The running sync may have started before the caller's rename: wait for the next one.
    folder.next ??= folder.running
      .catch(() => {})
      .then(() => {
        folder.next = undefined;
        return this.start(dir, folder);
      });
    return folder.next;
  }

  private start(dir: string, folder: { running?: Promise<void>; next?: Promise<void> }): Promise<void> {
    this.started += 1;
    const running = this.syncFolder(dir).finally(() => {
      if (folder.running === running) folder.running = undefined;
      if (!folder.running && !folder.next) this.folders.delete(dir);
    });
    folder.running = running;
    return running;
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
