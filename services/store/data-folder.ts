// The data folder is private: it holds every password hash, the mail, the
// TLS and DKIM private keys and the key of sealed secrets (secrets.ts). The
// folder and every folder in it are 0700, every file 0600.
//
// Three things keep it so:
// - the CLI sets the process umask to 077 before anything runs (cli/bin.ts),
//   so whatever any part of the process creates later is private, including
//   files made by code that passes 0644 (the supervisor's run/ files);
// - the database file is made 0600 before SQLite opens it, and SQLite gives
//   its -wal and -shm files the database file's permissions whatever the
//   umask (its unix VFS copies the mode when it creates them), which covers
//   tests and other callers that open the store without the CLI;
// - `secureDataFolder` puts right what an older version, a copy or a restore
//   left, at every open of the store: a folder such as ./var made by hand, a
//   database made 0644, messages/, tmp/, tls/, dkim/, run/.
//
// Symbolic links are never followed (a link in the folder must not make the
// walk chmod something elsewhere). Message bodies are the bulk of the folder
// (one file each), so their modes are checked only when asked (the serve
// process's start) or when the folder itself was not private yet (the first
// open after an upgrade, or a folder restored from a copy); everything else is
// checked every time.

import { chmodSync, closeSync, lstatSync, mkdirSync, openSync, readdirSync, statSync, type Stats } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../core/errors.ts';
import type { DataPaths } from './paths.ts';

export const privateDirMode = 0o700;
export const privateFileMode = 0o600;

function ignoreMissing<T>(action: () => T): T | undefined {
  try {
    return action();
  } catch (error) {
    // A file the serve process renamed or removed meanwhile is not a problem.
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

function makePrivate(path: string, stats: Stats, mode: number, root: string): void {
  if ((stats.mode & 0o777) === mode) return;
  try {
    chmodSync(path, mode);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return;
    if (code === 'EPERM' || code === 'EACCES') {
      throw new UserError(`cannot make ${path} private (mode ${mode.toString(8)}): it belongs to another user; run Mailnest as the owner of ${root}, or give the files to that user (chown -R)`);
    }
    throw error;
  }
}

/**
 * Makes the data folder (creating it when `create`) and everything in it
 * private. `bodies`: also check every message body file, not only when the
 * folder was not private before.
 */
export function secureDataFolder(paths: DataPaths, options: { create: boolean; bodies?: boolean }): void {
  if (options.create) mkdirSync(paths.root, { recursive: true, mode: privateDirMode });
  // The root may be a link the user chose (/data → a partition): that one is followed.
  const rootStats = statSync(paths.root);
  if (!rootStats.isDirectory()) throw new UserError(`${paths.root} is not a folder; give the data folder with --data DIR or MAILNEST_DATA`);
  const wasPrivate = (rootStats.mode & 0o777) === privateDirMode;
  makePrivate(paths.root, rootStats, privateDirMode, paths.root);
  const checkBodies = options.bodies === true || !wasPrivate;

  const walk = (dir: string, insideMessages: boolean) => {
    const names = ignoreMissing(() => readdirSync(dir)) ?? [];
    for (const name of names) {
      const path = join(dir, name);
      const stats = ignoreMissing(() => lstatSync(path));
      if (!stats || stats.isSymbolicLink()) continue;
      if (stats.isDirectory()) {
        makePrivate(path, stats, privateDirMode, paths.root);
        // messages/<shard>/ holds the bodies: walked only when asked.
        if (insideMessages && !checkBodies) continue;
        walk(path, insideMessages || path === paths.messages);
      } else if (stats.isFile()) {
        makePrivate(path, stats, privateFileMode, paths.root);
      }
    }
  };
  walk(paths.root, false);
}

/** Makes an empty database file 0600 before SQLite creates it with the default mode. */
export function createPrivateFile(path: string): void {
  try {
    closeSync(openSync(path, 'wx', privateFileMode));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
}
