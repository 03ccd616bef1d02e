// Who holds a data folder: the `mailnest serve` whose pid <data>/serve.pid
// names (services/store/lock.ts writes it). A pid file can outlive its writer
// (a crash, a reset), and after a reboot its pid may belong to any process,
// often one with "mailnest" in its command line (the appliance's console and
// supervisor, or a thread of the new serve itself, whose id answers kill()),
// so the holder is recognised as a process (not a thread) whose arguments say
// `serve`, and the same data folder where `--data` names one.

import { readFileSync, readlinkSync } from 'node:fs';
import { resolve } from 'node:path';

/** Whether `pid` is a live `mailnest serve` of the data folder `root` (other than this process). */
export function isServingProcess(pid: number, root: string): boolean {
  if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid) return false;
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  // A thread's id answers kill() and has a /proc entry with its process's command line, but no process has
  // that pid: the writer is gone. After a reset the pid in a stale serve.pid is often a thread of the new serve.
  const tgid = threadGroupOf(pid);
  if (tgid !== undefined && tgid !== pid) return false;
  let argv: string[];
  try {
    argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  } catch {
    // No /proc to ask (or not ours to read): alive is all we know, and it may be the holder.
    return true;
  }
  if (!argv.some((arg) => arg.includes('mailnest')) || !argv.includes('serve')) return false;
  const flag = argv.indexOf('--data');
  const data = flag >= 0 ? argv[flag + 1] : argv.find((arg) => arg.startsWith('--data='))?.slice('--data='.length);
  if (data === undefined) return true; // its folder came from MAILNEST_DATA or the default: it may be this one
  let cwd: string;
  try {
    cwd = readlinkSync(`/proc/${pid}/cwd`);
  } catch {
    return true;
  }
  return resolve(cwd, data) === resolve(root);
}

/** The process a task id belongs to (its own pid for a process), from /proc; undefined without /proc. */
function threadGroupOf(pid: number): number | undefined {
  try {
    const match = /^Tgid:\s*(\d+)$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) : undefined;
  } catch {
    return undefined;
  }
}
