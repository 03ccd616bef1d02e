// While the services refuse to start (exit status 78: a bad setting, a port in
// use or not allowed, a newer database, the data folder held by another
// Mailnest), a restart would meet the same error. The supervisor waits instead
// for something that could have changed the outcome; this file is how it sees
// those changes from outside the services process:
//
// - the stored settings changed: <data>/run/settings-changed is touched by
//   `mailnest config set|unset|reset`;
// - <data>/serve.pid changed: the Mailnest that held the data folder stopped;
// - the port that was in use can be bound again.
//
// SIGHUP and the long retry interval are the supervisor's own (supervisor.ts).
//
// Invariants:
// - Nothing here connects to a service: a port is tested by binding it (and
//   closing it at once), so the program that holds it sees nothing.
// - A test that cannot tell (no permission to bind) answers "unknown", never "free".

import { readFile, stat } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { settingsChangedPath } from './run-files.ts';

export interface ChangeMarks {
  /** The settings-changed file's time stamp, or '' when there is none. */
  settings: string;
  /** What serve.pid holds, or '' when there is none. */
  servePid: string;
}

export async function changeMarks(dataDir: string): Promise<ChangeMarks> {
  const settings = await stat(settingsChangedPath(dataDir)).then(
    (s) => `${s.mtimeMs}:${s.ino}`,
    () => '',
  );
  const servePid = await readFile(join(dataDir, 'serve.pid'), 'utf8').then(
    (text) => text.trim(),
    () => '',
  );
  return { settings, servePid };
}

/** Why a retry is worth it, or undefined when nothing that matters changed. */
export function whatChanged(before: ChangeMarks, after: ChangeMarks): string | undefined {
  if (before.settings !== after.settings) return 'the stored settings changed';
  // Another Mailnest starting (none before) cures nothing; the one before going away may.
  if (before.servePid && before.servePid !== after.servePid) return `the Mailnest that held the data folder (pid ${before.servePid}) stopped`;
  return undefined;
}

/** true: the port can be bound; false: it is still in use; undefined: cannot tell. */
export function portIsFree(host: string, port: number): Promise<boolean | undefined> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', (error: NodeJS.ErrnoException) => resolve(error.code === 'EADDRINUSE' ? false : undefined));
    server.listen({ host, port, exclusive: true, ipv6Only: host.includes(':') }, () => server.close(() => resolve(true)));
  });
}
