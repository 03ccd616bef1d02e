// The data folder holds everything a backup needs. Its layout, in one place:
//
//   mailnest.db (+ -wal, -shm)   the SQLite database
//   messages/                    message bodies, one immutable file each
//   tmp/                         files being written; swept at start
//   tls/                         TLS certificate and key
//   dkim/                        DKIM keys, one pair per domain
//   run/                         what the supervisor reports (firmware/)
//   secrets.key                  the key of sealed secrets (secrets.ts), apart from the database
//   serve.pid                    the serving process's lock (lock.ts)
//
// Everything in it is private: folders 0700, files 0600 (data-folder.ts).

import { join, resolve } from 'node:path';

export interface DataPaths {
  root: string;
  database: string;
  messages: string;
  tmp: string;
  tls: string;
  dkim: string;
  run: string;
  secretsKey: string;
}

export function dataPaths(dataDir: string): DataPaths {
  const root = resolve(dataDir);
  return {
    root,
    database: join(root, 'mailnest.db'),
    messages: join(root, 'messages'),
    tmp: join(root, 'tmp'),
    tls: join(root, 'tls'),
    dkim: join(root, 'dkim'),
    run: join(root, 'run'),
    secretsKey: join(root, 'secrets.key'),
  };
}

/** `--data DIR`, else $MAILNEST_DATA, else ./var. */
export function defaultDataDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.MAILNEST_DATA || './var';
}
