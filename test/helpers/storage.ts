// Storage trouble for tests: what the firmware supervisor reports about the
// data disk (run/storage-state.json, written atomically as it does), and a
// small tmpfs to fill. Mounting needs root (as CI has).

import type { ExecutionContext } from 'ava';
import { execFileSync } from 'node:child_process';
import { closeSync, mkdirSync, openSync, renameSync, unlinkSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';

/** Writes the supervisor's storage report, as services/core/storage-state.ts reads it. */
export function reportStorageState(data: string, state: 'ok' | 'nearly-full' | 'read-only'): void {
  mkdirSync(join(data, 'run'), { recursive: true });
  writeFileSync(join(data, 'run', 'storage-state.tmp'), JSON.stringify({ state, detail: 'test', since: new Date().toISOString() }));
  renameSync(join(data, 'run', 'storage-state.tmp'), join(data, 'run', 'storage-state.json'));
}

/** Fails the test unless it runs as root: a test that mounts must not pass without its file system. */
export function requireRoot(t: ExecutionContext): void {
  if (process.getuid?.() !== 0) t.fail('this test mounts file systems and must run as root');
}

/** Mounts a tmpfs of `size` (as mount(8) takes it: 12m) on the folder, unmounted when the test ends. */
export function mountTmpfs(t: ExecutionContext, folder: string, size: string): void {
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', folder]);
  t.teardown(() => execFileSync('umount', ['-l', folder]));
}

/** Fills the file system of `folder` to the last block with one file; returns a function that frees the space again. */
export function fillDisk(folder: string): () => void {
  const filler = join(folder, 'filler');
  const fd = openSync(filler, 'w');
  const blocks = [Buffer.alloc(1024 * 1024, 1), Buffer.alloc(4096, 1), Buffer.alloc(1, 1)];
  try {
    for (const block of blocks) {
      for (;;) {
        try {
          writeSync(fd, block);
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code === 'ENOSPC') break;
          throw error;
        }
      }
    }
  } finally {
    closeSync(fd);
  }
  let freed = false;
  return () => {
    if (!freed) unlinkSync(filler);
    freed = true;
  };
}
