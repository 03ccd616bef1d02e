// The services process as a child of the supervisor: spawn, watch its exit,
// stop it (SIGTERM, then SIGKILL when it does not stop in time). Also the
// one-shot commands the supervisor runs (the factory reset), and the clean-up
// of a services process a crashed supervisor left behind.
//
// Invariants:
// - The child runs in its own process group (detached), so a Ctrl-C in a
//   terminal reaches the supervisor only, which then stops the services in
//   order; the supervisor never unrefs it and always waits for its exit
//   before starting another (two would fight over the data folder's lock).
// - `exited` resolves exactly once, also when the spawn itself failed.

import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { CommandLine } from './launch.ts';
import type { EventLog } from './log.ts';

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Set when the process could not be started at all. */
  error?: string;
}

export function describeExit(info: ExitInfo): string {
  if (info.error) return `could not start: ${info.error}`;
  if (info.signal) return `killed by ${info.signal}`;
  return `exit status ${info.code}`;
}

export type OutputTarget = 'inherit' | 'ignore' | ((text: string) => void);

function stdioFor(output: OutputTarget): StdioOptions {
  return output === 'inherit' ? ['ignore', 'inherit', 'inherit'] : output === 'ignore' ? 'ignore' : ['ignore', 'pipe', 'pipe'];
}

export class ServicesChild {
  readonly startedAt = Date.now();
  /** Set before an intended stop, so its exit is not taken for a crash. */
  expectedExit = false;
  exitInfo: ExitInfo | undefined;
  readonly exited: Promise<ExitInfo>;

  private constructor(private readonly child: ChildProcess) {
    this.exited = new Promise((resolve) => {
      const done = (info: ExitInfo) => {
        if (this.exitInfo) return;
        this.exitInfo = info;
        resolve(info);
      };
      child.once('exit', (code, signal) => done({ code, signal }));
      child.once('error', (error) => {
        // 'error' without a pid: the spawn failed and no 'exit' follows.
        if (child.pid === undefined) done({ code: null, signal: null, error: error.message });
      });
    });
  }

  static spawn(line: CommandLine, options: { output?: OutputTarget; env?: NodeJS.ProcessEnv } = {}): ServicesChild {
    const output = options.output ?? 'inherit';
    const child = spawn(line.command, line.args, { stdio: stdioFor(output), env: options.env ?? process.env, detached: true });
    if (typeof output === 'function') {
      child.stdout?.setEncoding('utf8').on('data', output);
      child.stderr?.setEncoding('utf8').on('data', output);
    }
    return new ServicesChild(child);
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get running(): boolean {
    return this.exitInfo === undefined;
  }

  signal(signal: NodeJS.Signals): void {
    if (this.running) this.child.kill(signal);
  }

  /** SIGTERM, and SIGKILL after timeoutMs; resolves when it has exited. */
  async stop(timeoutMs: number): Promise<ExitInfo & { killed: boolean }> {
    this.expectedExit = true;
    if (!this.running) return { ...this.exitInfo!, killed: false };
    this.child.kill('SIGTERM');
    let killed = false;
    const timer = setTimeout(() => {
      killed = true;
      this.child.kill('SIGKILL');
    }, timeoutMs);
    const info = await this.exited;
    clearTimeout(timer);
    return { ...info, killed };
  }
}

/** Runs a command to its end (at most timeoutMs), keeping the tail of its output for the log. */
export function runOnce(line: CommandLine, timeoutMs: number, env: NodeJS.ProcessEnv = process.env): Promise<{ ok: boolean; detail: string }> {
  return new Promise((resolve) => {
    const child = spawn(line.command, line.args, { stdio: ['ignore', 'pipe', 'pipe'], env });
    let output = '';
    const keep = (chunk: string) => {
      output = (output + chunk).slice(-2000);
    };
    child.stdout.setEncoding('utf8').on('data', keep);
    child.stderr.setEncoding('utf8').on('data', keep);
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    const text = () => output.trim().split('\n').slice(-3).join(' / ');
    child.once('error', (error) => {
      clearTimeout(timer);
      resolve({ ok: false, detail: error.message });
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      const info = describeExit({ code, signal });
      resolve(code === 0 ? { ok: true, detail: text() || info } : { ok: false, detail: `${info}${text() ? `: ${text()}` : ''}` });
    });
  });
}

/**
 * A services process still running from before this supervisor (its parent
 * died and init adopted it) holds the data folder's lock and the ports; it is
 * stopped so that ours can start. It is recognised by <data>/serve.pid (written
 * by `mailnest serve`), a command line with "mailnest" and "serve", and parent pid 1:
 * a `mailnest serve` a person started from a shell is left alone.
 */
export async function stopLeftoverServices(dataDir: string, log: EventLog, timeoutMs: number): Promise<void> {
  const pid = Number((await readFile(join(dataDir, 'serve.pid'), 'utf8').catch(() => '')).trim());
  if (!Number.isInteger(pid) || pid <= 1 || pid === process.pid) return;
  const cmdline = (await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')).split('\0');
  if (!cmdline.some((a) => a.includes('mailnest')) || !cmdline.includes('serve')) return;
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  // Fields after the command name, which is in parentheses and may hold spaces: state, ppid, ...
  const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  if (ppid !== 1) return;
  log.warn('stopping a services process left by an earlier supervisor', { pid });
  const alive = () => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + timeoutMs;
  while (alive() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
  if (alive()) {
    log.warn('it did not stop in time: killed', { pid });
    process.kill(pid, 'SIGKILL');
  }
}
