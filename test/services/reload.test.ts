// `mailnest serve` (the built CLI, a child without a terminal) reloads on
// SIGHUP: a setting stored with `mailnest config set` takes effect in the
// running process. A reload that cannot start the services again ends serve
// as a refused start does (exit 78, run/start-error.json), so the firmware
// supervisor waits for a change instead of restarting in a loop.

import test from 'ava';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startRefusedExitStatus } from '../../services/core/errors.ts';
import { cliOk, ephemeralPortFlags, startServe } from '../helpers/cli.ts';
import { tempDataDir } from '../helpers/data-dir.ts';
import { greeting, occupyFreeOffsetPort, refused } from '../helpers/net-probe.ts';

test('serve without a terminal: SIGHUP reloads the stored settings; a reload that cannot bind its port exits 78 with run/start-error.json', async (t) => {
  const data = tempDataDir(t);
  // pop3 follows the stored port offset; every other service gets a free port of its own.
  const first = await occupyFreeOffsetPort(110);
  await new Promise<void>((resolve) => first.server.close(() => resolve()));
  await cliOk(['config', 'set', 'port-offset', String(first.offset)], { data });
  await cliOk(['config', 'set', 'hostname', 'before.example.test'], { data });
  const portFlags = ephemeralPortFlags().filter((flag, at, all) => flag !== 'pop3=0' && all[at + 1] !== 'pop3=0');
  const serve = startServe(data, [], { portFlags });
  t.teardown(() => serve.stop('SIGKILL'));
  const [, smtpPort] = await serve.waitFor(/info smtp listening addr=127\.0\.0\.1:(\d+)/);
  await serve.waitFor(/ ready /);
  const smtp = Number(smtpPort);
  t.regex(await greeting(smtp), /^220 before\.example\.test /);
  t.regex(await greeting(first.offset + 110), /^\+OK/);

  await cliOk(['config', 'set', 'hostname', 'after.example.test'], { data });
  serve.child.kill('SIGHUP');
  await serve.waitFor(/info serve reloaded reason=SIGHUP hostname=after\.example\.test/);
  t.regex(serve.output(), /"signal received" signal=SIGHUP action=reload/);
  // Same process, same port, the new name.
  t.is(serve.child.exitCode, null);
  t.regex(await greeting(smtp), /^220 after\.example\.test ESMTP/);
  t.regex(readFileSync(join(data, 'tls', 'cert.pem'), 'utf8'), /BEGIN CERTIFICATE/);

  // Now the offset moves pop3 onto a port another program holds.
  const blocker = await occupyFreeOffsetPort(110);
  t.teardown(() => new Promise<void>((resolve) => blocker.server.close(() => resolve())));
  await cliOk(['config', 'set', 'port-offset', String(blocker.offset)], { data });
  const exited = new Promise<number | null>((resolve) => serve.child.once('exit', resolve));
  serve.child.kill('SIGHUP');
  t.is(await exited, startRefusedExitStatus);
  const message = `pop3: port ${blocker.offset + 110} on 127.0.0.1 is already in use (is another Mailnest running?)`;
  t.true(serve.output().includes(`mailnest: ${message}\n`), serve.output());
  const startError = JSON.parse(readFileSync(join(data, 'run', 'start-error.json'), 'utf8'));
  t.like(startError, { message, pid: serve.child.pid, listen: { host: '127.0.0.1', port: blocker.offset + 110, code: 'EADDRINUSE' } });
  t.true(await refused(smtp));
  t.true(await refused(first.offset + 110));
});
