// `mailnest firmware` as a process, in development mode (simulated hardware):
// it starts the real `serve` through the supervisor, restarts it when it is
// killed (the LED pattern changes in the log), and stops cleanly on SIGTERM.

import test from 'ava';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { repoRoot } from '../helpers/cli.ts';
import { tempDataDir } from '../helpers/data-dir.ts';
import { allPortsFree, until } from './helpers.ts';

const runner = fileURLToPath(new URL('./fixtures/run-firmware.ts', import.meta.url));

test('firmware runs serve through the supervisor, restarts it when killed, and stops on SIGTERM', async (t) => {
  if (!existsSync(join(repoRoot, 'dist', 'mailnest.js'))) throw new Error('dist/mailnest.js is missing: run `make build` first');
  const data = tempDataDir(t);
  const ports = await allPortsFree();
  const portFlags = Object.entries(ports).flatMap(([name, port]) => ['--port', `${name}=${port}`]);
  const child = spawn(process.execPath, ['--import', 'tsx', runner, '--data', data, '--listen', '127.0.0.1', ...portFlags], {
    cwd: repoRoot,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, MAILNEST_DATA: '' },
  });
  const readText = (path: string) => {
    try {
      return readFileSync(path, 'utf8').trim();
    } catch {
      return '';
    }
  };
  const servicesPid = () => {
    const text = readText(join(data, 'run', 'supervisor.json'));
    return text ? (JSON.parse(text) as { services: { pid: number | null } }).services.pid : null;
  };
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  t.teardown(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
    // The services child runs in its own process group: make sure it is gone too.
    for (const pid of [servicesPid(), Number(readText(join(data, 'serve.pid')))]) {
      try {
        if (pid) process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  });
  const seen = (pattern: RegExp) => until(() => pattern.test(output), `${pattern} in the output:\n${output}`, 60_000);

  await seen(/info firmware led pattern=setup-not-done was=booting state=healthy/);
  t.regex(output, /info firmware hardware note="simulated hardware/);
  // supervisor.json is written just after the LED change: wait until it names the services process.
  await until(() => servicesPid() !== null, 'a services pid in supervisor.json', 30_000);
  t.true(existsSync(join(data, 'run', 'storage-state.json')));

  process.kill(servicesPid()!, 'SIGKILL');
  await seen(/warn firmware "restarting services" reason="the services process ended \(killed by SIGKILL\)" restart=1/);
  await seen(/info firmware led pattern=degraded was=setup-not-done state=recovering/);
  await seen(/info firmware led pattern=setup-not-done was=degraded state=healthy/);

  child.kill('SIGTERM');
  t.is(await exited, 0);
  t.regex(output, /info firmware "watchdog disarmed \(magic close\)"/);
  t.regex(output, /info firmware "supervisor stopped" restarts=1/);
  t.regex(output, /info serve stopped/);
});
