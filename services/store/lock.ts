// One serving process per data folder: `serve.pid` names it. Two would both
// sweep tmp/ and allocate from the same counters behind each other's caches.
// A pid file left by a crash is taken over when that process is gone (or the
// pid now belongs to something that is not Mailnest, after a reboot).

import { readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../core/errors.ts';

function isMailnestProcess(pid: number): boolean {
  if (pid === process.pid) return false;
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('mailnest');
  } catch {
    return true;
  }
}

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
      if (Number.isInteger(pid) && pid > 0 && isMailnestProcess(pid)) {
        throw new UserError(`another Mailnest (pid ${pid}) is already serving ${root}; stop it first (or delete ${path} if it is gone)`);
      }
      unlinkSync(path);
    }
  }
  throw new UserError(`could not lock ${root}: ${path} keeps reappearing`);
}
