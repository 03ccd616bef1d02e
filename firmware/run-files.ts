// The files the supervisor writes for the services process, in <data>/run/:
//
// - storage-state.json: {"state": "ok"|"nearly-full"|"read-only", "detail": "...", "since": "ISO time"}
//   The services watch it and answer temporary failures (SMTP 452/451, IMAP NO)
//   while it is not "ok", so no mail is accepted that might not be kept.
// - supervisor.json: the SupervisorReport (supervisor.ts), which the services
//   include in /healthz and the web UI's system page shows.
//
// Invariants:
// - Both are replaced atomically: written to a temporary file in the same
//   folder, fsynced, renamed over the old one, and the folder fsynced, so a
//   reader sees the old or the new file, never half of one, even across a power cut.
// - Writes of one file are serialised by the caller (the supervisor chains them);
//   the temporary name carries the pid and a counter all the same.

import { mkdir, open, rename, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';

export type StorageCondition = 'ok' | 'nearly-full' | 'read-only';

export interface StorageStateFile {
  state: StorageCondition;
  detail: string;
  since: string;
}

export function runDir(dataDir: string): string {
  return join(dataDir, 'run');
}

export function storageStatePath(dataDir: string): string {
  return join(runDir(dataDir), 'storage-state.json');
}

export function supervisorStatePath(dataDir: string): string {
  return join(runDir(dataDir), 'supervisor.json');
}

let counter = 0;

export async function writeJsonAtomic(path: string, value: unknown): Promise<void> {
  const dir = dirname(path);
  await mkdir(dir, { recursive: true });
  const temporary = `${path}.${process.pid}.${++counter}.tmp`;
  const handle = await open(temporary, 'w', 0o644);
  try {
    await handle.writeFile(JSON.stringify(value, null, 2) + '\n');
    await handle.sync();
  } catch (error) {
    await handle.close().catch(() => {});
    await unlink(temporary).catch(() => {});
    throw error;
  }
  await handle.close();
  try {
    await rename(temporary, path);
  } catch (error) {
    await unlink(temporary).catch(() => {});
    throw error;
  }
  const folder = await open(dir, 'r');
  try {
    await folder.sync();
  } finally {
    await folder.close();
  }
}
