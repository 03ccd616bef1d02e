// `mailnest firmware` as a process, in development mode (simulated hardware):
// it starts the real `serve` through the supervisor, restarts it when it is
// killed (the LED pattern changes in the log), and stops cleanly on SIGTERM.
// A port in use is reported once, shown as cannot-start, and tried again on SIGHUP.

import test, { type ExecutionContext } from 'ava';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { repoRoot } from '../helpers/cli.ts';
import { tempDataDir } from '../helpers/data-dir.ts';
import { allPortsFree, until } from './helpers.ts';

const runner = fileURLToPath(new URL('./fixtures/run-firmware.ts', import.meta.url));

function runFirmware(t: ExecutionContext, data: string, flags: string[]) {
  if (!existsSync(join(repoRoot, 'dist', 'mailnest.js'))) throw new Error('dist/mailnest.js is missing: run `make build` first');
  const child = spawn(process.execPath, ['--import', 'tsx', runner, '--data', data, ...flags], {
    cwd: repoRoot,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, MAILNEST_DATA: '' },
  });
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  t.teardown(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
    // The services child runs in its own process group: make sure it is gone too.
    for (const pid of [servicesPid(data), Number(readText(join(data, 'serve.pid')))]) {
      try {
        if (pid) process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  });
  return {
    child,
    exited,
    output: () => output,
    seen: (pattern: RegExp) => until(() => pattern.test(output), `${pattern} in the output:\n${output}`, 60_000),
  };
}

function readText(path: string): string {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return '';
  }
}

function servicesPid(data: string): number | null {
  const text = readText(join(data, 'run', 'supervisor.json'));
  return text ? (JSON.parse(text) as { services: { pid: number | null } }).services.pid : null;
}

test('firmware runs serve through the supervisor, restarts it when killed, and stops on SIGTERM', async (t) => {
  const data = tempDataDir(t);
  const ports = await allPortsFree();
  const portFlags = Object.entries(ports).flatMap(([name, port]) => ['--port', `${name}=${port}`]);
  const { child, exited, seen, output } = runFirmware(t, data, ['--listen', '127.0.0.1', ...portFlags]);

  await seen(/info firmware led pattern=setup-not-done was=booting state=healthy/);
  t.regex(output(), /info firmware hardware note="simulated hardware/);
  // supervisor.json is written just after the LED change: wait until it names the services process.
  await until(() => servicesPid(data) !== null, 'a services pid in supervisor.json', 30_000);
  t.true(existsSync(join(data, 'run', 'storage-state.json')));

  process.kill(servicesPid(data)!, 'SIGKILL');
  await seen(/warn firmware "restarting services" reason="the services process ended \(killed by SIGKILL\)" restart=1/);
  await seen(/info firmware led pattern=degraded was=setup-not-done state=recovering/);
  await seen(/info firmware led pattern=setup-not-done was=degraded state=healthy/);

  child.kill('SIGTERM');
  t.is(await exited, 0);
  t.regex(output(), /info firmware "watchdog disarmed \(magic close\)"/);
  t.regex(output(), /info firmware "supervisor stopped" restarts=1/);
  t.regex(output(), /info serve stopped/);
});

test('firmware with a port in use: one report, the cannot-start pattern, no restart; SIGHUP tries again', async (t) => {
  const data = tempDataDir(t);
  const ports = await allPortsFree();
  const blocker = createServer((socket) => socket.destroy());
  await new Promise<void>((resolve, reject) => {
    blocker.once('error', reject);
    blocker.listen(ports.imap, '127.0.0.1', resolve);
  });
  t.teardown(() => new Promise<void>((resolve) => blocker.close(() => resolve())));
  const portFlags = Object.entries(ports).flatMap(([name, port]) => ['--port', `${name}=${port}`]);
  const { child, exited, seen, output } = runFirmware(t, data, ['--listen', '127.0.0.1', ...portFlags]);
  const report = `error firmware "the services cannot start: no restart until something changes" error="imap: port ${ports.imap} on 127.0.0.1 is already in use (is another Mailnest running?)"`;
  await seen(new RegExp(`info firmware led pattern=cannot-start was=booting state=cannot-start status="blink 1000/1000ms"`));
  t.true(output().includes(report), output());
  await until(() => /"state": "cannot-start"/.test(readText(join(data, 'run', 'supervisor.json'))), 'supervisor.json to say cannot-start', 30_000);
  const written = JSON.parse(readText(join(data, 'run', 'supervisor.json'))) as { watchdog: { petting: boolean }; startError: { message: string } };
  t.true(written.watchdog.petting);
  t.regex(written.startError.message, /^imap: port \d+ on 127\.0\.0\.1 is already in use/);

  child.kill('SIGHUP');
  await seen(/info firmware "trying the services again" why=SIGHUP/);
  await seen(/info firmware "the services still cannot start, for the same reason"/);
  t.is(output().split(report).length - 1, 1, 'reported once');
  t.is((output().match(/info firmware "services started"/g) ?? []).length, 2);
  t.notRegex(output(), /restarting services|recovery failed|watchdog no longer petted/);

  child.kill('SIGTERM');
  t.is(await exited, 0);
  t.regex(output(), /info firmware "supervisor stopped" restarts=0/);
});
