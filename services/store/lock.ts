// One serving process per data folder: `serve.pid` names it. Two would both
// sweep tmp/ and allocate from the same counters behind each other's caches.
// A pid file left by a crash or a reset is taken over when that process is
// gone, or when the pid now belongs to something that is not `mailnest serve`
// of this folder: after a reboot pids are handed out again, and on the
// appliance many processes have "mailnest" in their command line (the
// console's, the supervisor's), so the name alone proves nothing.

import { readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../core/errors.ts';
import { isServingProcess } from '../core/serving-process.ts';

export interface DataLock {
  release(): void;
}

export function lockDataFolder(root: string): DataLock {
  const path = join(root, 'serve.pid');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(path, `${process.pid}\n`, { flag: 'wx', mode: 0o600 });
      let released = false;
      return {
        release() {
          if (released) return;
          released = true;
          try {
            if (readFileSync(path, 'utf8').trim() === String(process.pid)) unlinkSync(path);
          } catch {
            // already gone
          }
        },
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const pid = Number(readFileSync(path, 'utf8').trim());
      if (isServingProcess(pid, root)) {
        throw new UserError(`another Mailnest (pid ${pid}) is already serving ${root}; stop it first (or delete ${path} if it is gone)`);
      }
      unlinkSync(path);
    }
  }
  throw new UserError(`could not lock ${root}: ${path} keeps reappearing`);
}
