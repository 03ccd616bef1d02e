// The files the services side writes in <data>/run/ for the firmware
// supervisor and the CLI (firmware/README.md, "Contracts with the services
// process"):
//
// - start-error.json: why `mailnest serve` refused to start. `serve` writes it
//   just before it exits with startRefusedExitStatus (errors.ts) and removes it
//   when it starts again:
//     {"message": "web: port 80 on 0.0.0.0 is already in use (is another Mailnest running?)",
//      "pid": 4211, "at": "2026-11-24T12:00:00.000Z",
//      "listen": {"host": "0.0.0.0", "port": 80, "code": "EADDRINUSE"}}
//   `listen` is there when a listener could not be bound, so that the
//   supervisor can tell when the port is free again.
// - settings-changed: touched (its content is the time) by every command that
//   changes a stored setting, so that a supervisor waiting on a bad setting
//   tries again.
// - config.json: the settings a running services process uses, which differ
//   from the stored ones where `serve --KEY VALUE` or `--port-offset` said so,
//   and its ports. Written once it runs, removed when it stops; `config list`
//   believes it only while the process that wrote it still holds the data
//   folder (serve.pid names it and it is alive):
//     {"pid": 4211, "startedAt": "...", "settings": {"port-offset": 10000, ...},
//      "sources": {"port-offset": "flag", "hostname": "stored", ...}, "ports": {"smtp": 10025, ...}}
//
// Invariants:
// - Written atomically (temporary file, rename): a reader sees all of a file or none of it.
// - Best effort: a data folder that cannot be written (the very error, perhaps)
//   loses the file, never the exit status or the command's result.
// - run/ is made only inside a data folder that exists: a mistyped --data is not created for this.

import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ListenError } from './listen.ts';
import { isServingProcess } from './serving-process.ts';

export interface StartErrorFile {
  message: string;
  /** The `serve` process that refused to start. */
  pid: number;
  at: string;
  listen?: { host: string; port: number; code: string };
}

export function startErrorPath(dataDir: string): string {
  return join(dataDir, 'run', 'start-error.json');
}

export function settingsChangedPath(dataDir: string): string {
  return join(dataDir, 'run', 'settings-changed');
}

/** Replaces <data>/run/NAME atomically; false when it could not be written. */
function writeRunFile(dataDir: string, path: string, text: string): boolean {
  const temporary = `${path}.${process.pid}.tmp`;
  try {
    if (!existsSync(join(dataDir, 'run'))) mkdirSync(join(dataDir, 'run'), { mode: 0o700 });
    writeFileSync(temporary, text, { mode: 0o600 });
    renameSync(temporary, path);
    return true;
  } catch {
    try {
      rmSync(temporary, { force: true });
    } catch {
      // nothing more to do
    }
    return false;
  }
}

export function recordStartError(dataDir: string, error: Error): void {
  const record: StartErrorFile = { message: error.message, pid: process.pid, at: new Date().toISOString() };
  if (error instanceof ListenError) record.listen = { host: error.host, port: error.port, code: error.code };
  writeRunFile(dataDir, startErrorPath(dataDir), JSON.stringify(record, null, 2) + '\n');
}

export function markSettingsChanged(dataDir: string): void {
  writeRunFile(dataDir, settingsChangedPath(dataDir), new Date().toISOString() + '\n');
}

export function clearStartError(dataDir: string): void {
  try {
    rmSync(startErrorPath(dataDir), { force: true });
  } catch {
    // a folder that cannot be written keeps the old file; the supervisor checks its pid
  }
}

export interface RunConfigFile {
  pid: number;
  startedAt: string;
  /** Each setting's value in effect, by setting key, as JSON. */
  settings: Record<string, unknown>;
  /** Where each came from: flag, stored or default. */
  sources: Record<string, string>;
  /** Each service's port as configured (0: the system picked one). */
  ports: Record<string, number>;
}

export function runConfigPath(dataDir: string): string {
  return join(dataDir, 'run', 'config.json');
}

export function writeRunConfig(dataDir: string, record: Omit<RunConfigFile, 'pid' | 'startedAt'>, startedAt: Date): void {
  const file: RunConfigFile = { pid: process.pid, startedAt: startedAt.toISOString(), ...record };
  writeRunFile(dataDir, runConfigPath(dataDir), JSON.stringify(file, null, 2) + '\n');
}

/** Removes config.json if this process wrote it (a newer server's is left alone). */
export function removeRunConfig(dataDir: string): void {
  const path = runConfigPath(dataDir);
  try {
    if ((JSON.parse(readFileSync(path, 'utf8')) as Partial<RunConfigFile>).pid === process.pid) rmSync(path, { force: true });
  } catch {
    // none, or unreadable: a reader checks the pid anyway
  }
}

/**
 * What the server serving this data folder uses, or undefined when none runs:
 * the file must name the pid serve.pid holds, and that process must be alive
 * and (after a reboot a pid can be reused) a Mailnest.
 */
export function readRunConfig(dataDir: string): RunConfigFile | undefined {
  let file: RunConfigFile;
  let lockPid: number;
  try {
    file = JSON.parse(readFileSync(runConfigPath(dataDir), 'utf8')) as RunConfigFile;
    lockPid = Number(readFileSync(join(dataDir, 'serve.pid'), 'utf8').trim());
  } catch {
    return undefined;
  }
  if (!file || typeof file.pid !== 'number' || file.pid !== lockPid || typeof file.settings !== 'object' || !file.settings) return undefined;
  if (!isServingProcess(file.pid, dataDir)) return undefined;
  return { pid: file.pid, startedAt: String(file.startedAt ?? ''), settings: file.settings, sources: file.sources ?? {}, ports: file.ports ?? {} };
}
