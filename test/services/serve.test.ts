// `mailnest serve` as a real child process on 127.0.0.1.

import test from 'ava';
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { request } from 'node:http';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { startRefusedExitStatus } from '../../services/core/errors.ts';
import { Store } from '../../services/store/index.ts';
import { ephemeralPortFlags, runCli, startServe } from '../helpers/cli.ts';
import { tempDataDir } from '../helpers/data-dir.ts';

/** What a refusing serve leaves for the supervisor in run/start-error.json. */
function startError(data: string): { message: string; pid: number; listen?: { host: string; port: number; code: string } } {
  return JSON.parse(readFileSync(join(data, 'run', 'start-error.json'), 'utf8'));
}

test('serve answers /healthz with each service state and stops cleanly on SIGTERM', async (t) => {
  const data = tempDataDir(t);
  const serve = startServe(data, ['--port', 'http=0', '--hostname', 'mail.example.test']);
  t.teardown(() => serve.stop('SIGKILL'));
  const [, port] = await serve.waitFor(/info web listening addr=127\.0\.0\.1:(\d+)/);
  await serve.waitFor(/ ready /);

  const response = await fetch(`http://127.0.0.1:${port}/healthz`);
  t.is(response.status, 200);
  t.regex(response.headers.get('content-type') ?? '', /application\/json/);
  const health = (await response.json()) as Record<string, any>;
  t.is(health.status, 'ok');
  t.is(health.hostname, 'mail.example.test');
  t.is(health.pid, serve.child.pid);
  t.deepEqual(health.store, { state: 'ok' });
  // HTTP first (the firmware probes it), then HTTPS.
  t.like(health.services.web, { state: 'running', ports: { http: Number(port) } });
  t.is(health.services.web.listening[0], `127.0.0.1:${port}`);
  t.is(health.services.web.listening[1], `127.0.0.1:${health.services.web.ports.https}`);
  // Everything but /healthz (and autoconfig) moves to HTTPS.
  t.is((await fetch(`http://127.0.0.1:${port}/nowhere`, { redirect: 'manual' })).status, 308);
  t.is((await fetch(`http://127.0.0.1:${port}/healthz`, { method: 'POST' })).status, 405);

  // A keep-alive connection left open must not hold up the stop.
  await new Promise<void>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: Number(port), path: '/healthz', agent: false, headers: { connection: 'keep-alive' } }, (res) => {
      res.resume();
      res.on('end', resolve);
    });
    req.on('error', reject);
    req.end();
  });
  t.is(await serve.stop('SIGTERM'), 0);
  t.regex(serve.output(), /"signal received" signal=SIGTERM[\s\S]*stopping[\s\S]*stopped/);
  // Every log line is one event: a timestamp, a level, a service.
  for (const line of serve.output().trim().split('\n')) t.regex(line, /^\d{4}-\d\d-\d\dT[\d:.]+Z (debug|info|warn|error) \S+ /);
});

test('an invalid setting stops the start with one line naming it', async (t) => {
  const data = tempDataDir(t);
  const result = await runCli(['serve', '--data', data, '--port-offset', 'lots']);
  // A refusal a restart cannot mend has its own exit status, so the supervisor does not loop on it.
  t.is(result.code, startRefusedExitStatus);
  t.is(result.stderr, 'mailnest: setting port-offset: "lots" is not a whole number (from the command line); expected a whole number from 0 to 60000\n');

  await runCli(['config', 'set', 'max-recipients', '5'], { data });
  const stored = await runCli(['serve', '--data', data, '--listen', '127.0.0.1', ...ephemeralPortFlags(), '--max-recipients', '0']);
  t.regex(stored.stderr, /^mailnest: setting max-recipients: 0 is outside 1\.\.10000 \(from the command line\)/);
  t.is(stored.code, startRefusedExitStatus);
  t.regex(startError(data).message, /^setting max-recipients: 0 is outside/);
});

test('a port already in use is reported, not a stack trace', async (t) => {
  const data = tempDataDir(t);
  const blocker = createServer();
  await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => blocker.close(() => resolve())));
  const port = (blocker.address() as { port: number }).port;
  const result = await runCli(['serve', '--data', data, '--listen', '127.0.0.1', ...ephemeralPortFlags(), '--port', `http=${port}`]);
  t.is(result.code, startRefusedExitStatus);
  t.regex(result.stderr, new RegExp(`^mailnest: web: port ${port} on 127\\.0\\.0\\.1 is already in use`));
  const left = startError(data);
  t.deepEqual(left.listen, { host: '127.0.0.1', port, code: 'EADDRINUSE' });
  t.is(left.message, result.stderr.replace(/^mailnest: /, '').trimEnd());

  // Once serve starts, the file goes.
  const serve = startServe(data);
  t.teardown(() => serve.stop('SIGKILL'));
  await serve.waitFor(/ ready /);
  t.false(existsSync(join(data, 'run', 'start-error.json')));
  t.is(await serve.stop('SIGTERM'), 0);
});

test('a database newer than this Mailnest is a refusal to start, not a stack trace', async (t) => {
  const data = tempDataDir(t);
  Store.open(data).close();
  const db = new Database(join(data, 'mailnest.db'));
  db.pragma('user_version = 999');
  db.close();
  const result = await runCli(['serve', '--data', data, '--listen', '127.0.0.1', ...ephemeralPortFlags()]);
  t.is(result.code, startRefusedExitStatus);
  t.regex(result.stderr, /^mailnest: the database is at schema version 999, newer than this Mailnest \(\d+\); upgrade Mailnest\n$/);
  t.regex(startError(data).message, /newer than this Mailnest/);
});

test('--port rejects unknown service names', async (t) => {
  const data = tempDataDir(t);
  const result = await runCli(['serve', '--data', data, '--port', 'gopher=70']);
  t.is(result.code, startRefusedExitStatus);
  t.regex(result.stderr, /--port gopher=70: expected NAME=PORT/);
});
