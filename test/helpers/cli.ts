// Runs the real, bundled CLI (bin/mailnest → dist/mailnest.js) as a child process.

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { standardPorts } from '../../services/core/ports.ts';

export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
export const mailnestBin = fileURLToPath(new URL('../../bin/mailnest', import.meta.url));

function checkBuilt(): void {
  if (!existsSync(new URL('../../dist/mailnest.js', import.meta.url))) {
    throw new Error('dist/mailnest.js is missing: run `make build` (make test does it) before the tests');
  }
}

/** `--port NAME=0` for every service, so that a test's serve never takes a fixed port; later flags override. */
export function ephemeralPortFlags(): string[] {
  return Object.keys(standardPorts).flatMap((name) => ['--port', `${name}=0`]);
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function runCli(args: string[], options: { data?: string; stdin?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<CliResult> {
  checkBuilt();
  const argv = options.data !== undefined ? [...args, '--data', options.data] : args;
  return new Promise((resolve, reject) => {
    const child = spawn(mailnestBin, argv, { env: { ...process.env, MAILNEST_DATA: '', ...options.env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 30_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(options.stdin ?? '');
  });
}

/** Runs the CLI and fails loudly unless it exits 0. */
export async function cliOk(args: string[], options: Parameters<typeof runCli>[1] = {}): Promise<string> {
  const result = await runCli(args, options);
  if (result.code !== 0) throw new Error(`mailnest ${args.join(' ')} exited ${result.code}: ${result.stderr}`);
  return result.stdout;
}

export interface ServeProcess {
  child: ChildProcess;
  /** Log lines so far. */
  output: () => string;
  /** Resolves with the first output line matching `pattern`, rejects after `timeoutMs`. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  /** Sends SIGTERM and resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Starts `mailnest serve` on 127.0.0.1, every service on a free port unless `flags` say otherwise. */
export function startServe(data: string, flags: string[] = [], options: { /** default: ephemeralPortFlags() */ portFlags?: string[] } = {}): ServeProcess {
  checkBuilt();
  // The doctor's scheduled runs ask the internet (its probe host, the DNSBLs): off unless a test asks for them.
  const child = spawn(mailnestBin, ['serve', '--data', data, '--listen', '127.0.0.1', ...(options.portFlags ?? ephemeralPortFlags()), '--doctor-interval', 'off', ...flags], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, MAILNEST_DATA: '' } });
  let output = '';
  const waiters = new Set<() => void>();
  const onData = (chunk: Buffer) => {
    output += chunk.toString('utf8');
    for (const waiter of waiters) waiter();
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => {
    for (const waiter of waiters) waiter();
    resolve(code);
  }));
  return {
    child,
    output: () => output,
    waitFor(pattern, timeoutMs = 20_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const match = output.match(pattern);
          if (match) {
            done();
            resolve(match);
          } else if (child.exitCode !== null || child.signalCode !== null) {
            done();
            reject(new Error(`mailnest serve exited (${child.exitCode ?? child.signalCode}) before printing ${pattern}:\n${output}`));
          }
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`timed out waiting for ${pattern}; output:\n${output}`));
        }, timeoutMs);
        const done = () => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      });
    },
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}
