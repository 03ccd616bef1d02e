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
// SIGHUP and the long retry interval are the supervisor's own (supervisor.ts);
// describeRefusal names them all in the `retry` the supervisor reports.
// RefusalWatch holds what one refusal is compared against, from begin() to end().
//
// Invariants:
// - Nothing here connects to a service: a port is tested by binding it (and
//   closing it at once), so the program that holds it sees nothing.
// - A test that cannot tell (no permission to bind) answers "unknown", never "free".
// - No change counts sooner than minGapMs after the refusal, and one look runs
//   at a time, so that something that keeps changing cannot make a loop.

import { readFile, stat } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { startRefusedExitStatus } from './launch.ts';
import { settingsChangedPath, type StartErrorFile } from './run-files.ts';

export interface Refusal {
  /** One line: the services' own message, or what to look at when they left none. */
  message: string;
  /** When the supervisor tries again, for a person to read. */
  retry: string;
  /** The listener that could not be bound, when that was the reason. */
  listen?: StartErrorFile['listen'];
}

/** What a refusal to start is reported as; the start error file counts only when it is the refusing child's (its pid). */
export function describeRefusal(file: StartErrorFile | undefined, childPid: number | undefined, retryMs: number): Refusal {
  const record = file && file.pid === childPid ? file : undefined;
  const message = record?.message ?? `the services refused to start (exit status ${startRefusedExitStatus}) and left no message in run/start-error.json; see their output`;
  const busyPort = record?.listen?.code === 'EADDRINUSE' ? record.listen : undefined;
  const retry = `on SIGHUP, when a setting is changed${busyPort ? `, when port ${busyPort.port} is free again` : ''}, when another Mailnest holding the data folder stops, or in ${Math.round(retryMs / 1000)} s`;
  return { message, retry, ...(record?.listen ? { listen: record.listen } : {}) };
}

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

/** What one refusal to start is compared against: the marks taken when it began, and the port that was busy. */
export class RefusalWatch {
  private refusedAt = 0;
  private marks: ChangeMarks | undefined;
  private busyPort: { host: string; port: number } | undefined;
  private looking = false;

  constructor(
    private readonly dataDir: string,
    private readonly minGapMs: number,
  ) {}

  /** A refusal began: what changes from here on may let the services start. */
  async begin(listen: StartErrorFile['listen']): Promise<void> {
    this.refusedAt = Date.now();
    this.busyPort = listen?.code === 'EADDRINUSE' ? listen : undefined;
    this.marks = await changeMarks(this.dataDir);
  }

  /** The services are tried again: nothing more to watch. */
  end(): void {
    this.marks = undefined;
    this.busyPort = undefined;
  }

  /**
   * Why trying again is worth it now, or undefined: nothing changed, too soon
   * after the refusal, no refusal being watched, or a look already under way.
   * Rejects when the files cannot be read.
   */
  async look(): Promise<string | undefined> {
    if (this.looking || !this.marks) return undefined;
    if (Date.now() - this.refusedAt < this.minGapMs) return undefined;
    this.looking = true;
    try {
      const why = whatChanged(this.marks, await changeMarks(this.dataDir));
      if (why) return why;
      const port = this.busyPort;
      if (port && (await portIsFree(port.host, port.port))) return `port ${port.port} on ${port.host} is free again`;
      return undefined;
    } finally {
      this.looking = false;
    }
  }
}
