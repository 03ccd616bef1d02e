// The data folder's lock (services/store/lock.ts): serve.pid names the one
// serving process. A pid file left by a crash or a watchdog reset is taken
// over unless its pid is a live `mailnest serve` of this folder: after a
// reboot the pid may belong to any process, often one whose command line says
// "mailnest" (the appliance's console), which must not keep the box from
// starting, and neither may a thread of the new serve itself (qemu-test
// caught both).

import test, { type ExecutionContext } from 'ava';
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { lockDataFolder } from '../../services/store/lock.ts';
import { tempDataDir } from '../helpers/data-dir.ts';
import { until } from '../hw/until.ts';

/** A process that lives until the test ends, with the arguments given (argv[0] onwards as `ps` shows them). */
async function stayAlive(t: ExecutionContext, args: string[], cwd?: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)', ...args], { cwd, stdio: 'ignore' });
  t.teardown(() => child.kill('SIGKILL'));
  await new Promise((resolve) => child.once('spawn', resolve));
  return child;
}

test('a stale serve.pid naming a live process that is not mailnest serve is taken over', async (t) => {
  const data = tempDataDir(t);
  const console = await stayAlive(t, ['/usr/libexec/mailnest/console']);
  writeFileSync(join(data, 'serve.pid'), `${console.pid}\n`);
  const lock = lockDataFolder(data);
  lock.release();
  t.pass();
});

test('a live mailnest serve of another folder does not hold this one', async (t) => {
  const data = tempDataDir(t);
  const other = tempDataDir(t);
  const serve = await stayAlive(t, ['/opt/mailnest/dist/mailnest.js', 'serve', '--data', other]);
  writeFileSync(join(data, 'serve.pid'), `${serve.pid}\n`);
  lockDataFolder(data).release();
  t.pass();
});

test('a live mailnest serve of this folder, named absolutely or relative to its working folder, holds it', async (t) => {
  const data = tempDataDir(t);
  const absolute = await stayAlive(t, ['/opt/mailnest/dist/mailnest.js', 'serve', '--data', data]);
  writeFileSync(join(data, 'serve.pid'), `${absolute.pid}\n`);
  t.throws(() => lockDataFolder(data), { message: new RegExp(`another Mailnest \\(pid ${absolute.pid}\\) is already serving`) });
  const relative = await stayAlive(t, ['/opt/mailnest/dist/mailnest.js', 'serve', '--data', '.'], data);
  writeFileSync(join(data, 'serve.pid'), `${relative.pid}\n`);
  t.throws(() => lockDataFolder(data), { message: /already serving/ });
});

test('a stale serve.pid naming a thread of a live mailnest serve of this folder is taken over (after a reset, pids are handed out again)', async (t) => {
  const data = tempDataDir(t);
  const serve = await stayAlive(t, ['/opt/mailnest/dist/mailnest.js', 'serve', '--data', data]);
  const threads = () => readdirSync(`/proc/${serve.pid}/task`).map(Number).filter((tid) => tid !== serve.pid);
  await until(() => threads().length > 0, 'node to start its threads');
  const thread = threads()[0];
  writeFileSync(join(data, 'serve.pid'), `${thread}\n`);
  lockDataFolder(data).release();
  t.pass();
});
