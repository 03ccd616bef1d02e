// The files the supervisor writes for the services process, in <data>/run/:
//
// - storage-state.json: {"state": "ok"|"nearly-full"|"read-only", "detail": "...", "since": "ISO time"}
//   The services watch it and answer temporary failures (SMTP 452/451, IMAP NO)
//   while it is not "ok", so no mail is accepted that might not be kept.
// - supervisor.json: the SupervisorReport (report.ts), which the services
//   include in /healthz and the web UI's system page shows.
//
// - button-press: {"at": "ISO time", "source": "button", "pid": N}, written at
//   every short press of the button; the services process claims the box for
//   the one browser waiting on the setup page (services/web/setup.ts) and
//   removes the file. `mailnest setup claim` writes the same file.
//
// and reads the ones the services side writes (services/core/run-files.ts):
//
// - start-error.json: why `serve` refused to start (it then exits with
//   startRefusedExitStatus): {"message", "pid", "at", "listen"?: {"host", "port", "code"}}.
// - settings-changed: touched by every command that changes a stored setting.
//
// Invariants:
// - Both are replaced atomically: written to a temporary file in the same
//   folder, fsynced, renamed over the old one, and the folder fsynced, so a
//   reader sees the old or the new file, never half of one, even across a power cut.
// - Writes of one file are serialised by the caller (the supervisor chains them);
//   the temporary name carries the pid and a counter all the same.

import { unlinkSync } from 'node:fs';
import { mkdir, open, readFile, rename, unlink } from 'node:fs/promises';
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

export function buttonPressPath(dataDir: string): string {
  return join(runDir(dataDir), 'button-press');
}

/** Tells the services process that the button was pressed (see the top of this file). */
export function writeButtonPress(dataDir: string, at = new Date()): Promise<void> {
  return writeJsonAtomic(buttonPressPath(dataDir), { at: at.toISOString(), source: 'button', pid: process.pid });
}

export interface StartErrorFile {
  message: string;
  pid: number;
  at: string;
  listen?: { host: string; port: number; code: string };
}

export function startErrorPath(dataDir: string): string {
  return join(runDir(dataDir), 'start-error.json');
}

export function settingsChangedPath(dataDir: string): string {
  return join(runDir(dataDir), 'settings-changed');
}

/** The start error `serve` left, or undefined when there is none or it cannot be read as one. */
export async function readStartError(dataDir: string): Promise<StartErrorFile | undefined> {
  try {
    const parsed = JSON.parse(await readFile(startErrorPath(dataDir), 'utf8')) as Partial<StartErrorFile>;
    if (!parsed || typeof parsed.message !== 'string' || typeof parsed.pid !== 'number') return undefined;
    const listen = parsed.listen && typeof parsed.listen.host === 'string' && typeof parsed.listen.port === 'number' ? { host: parsed.listen.host, port: parsed.listen.port, code: String(parsed.listen.code ?? '') } : undefined;
    // One line, bounded: it goes into the log and onto the web UI.
    const message = parsed.message.replace(/[\r\n]+/g, ' ').slice(0, 1000);
    return { message, pid: parsed.pid, at: String(parsed.at ?? ''), ...(listen ? { listen } : {}) };
  } catch {
    return undefined;
  }
}

/** Synchronous, so that it is done before the next child can write its own. */
export function removeStartError(dataDir: string): void {
  try {
    unlinkSync(startErrorPath(dataDir));
  } catch {
    // none, or a folder that cannot be written: the pid in the file tells whose it is
  }
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
