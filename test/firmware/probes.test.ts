// Health probes against small local servers: what /healthz says, who answers
// it, and greetings. Every probe has a deadline.

import test from 'ava';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer, type Server, type Socket } from 'node:net';
import { portsFor, type ServicesLaunch } from '../../firmware/launch.ts';
import { checkGreeting, fetchHealthz, greetings, probeServices } from '../../firmware/probes.ts';
import { freePorts } from './helpers.ts';

async function listen<T extends Server | HttpServer>(t: import('ava').ExecutionContext, server: T): Promise<number> {
  const sockets = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(
    () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  );
  return (server.address() as { port: number }).port;
}

function healthzServer(t: import('ava').ExecutionContext, body: unknown, status = 200): Promise<number> {
  return listen(
    t,
    createHttpServer((_req, res) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(typeof body === 'string' ? body : JSON.stringify(body));
    }),
  );
}

function launchOn(http: number, smtp = 1): ServicesLaunch {
  return { command: 'x', args: [], host: '127.0.0.1', ports: portsFor(0, { http, smtp }) };
}

const options = { timeoutMs: 1000, greet: false, storageExplainsStoreFailure: false };
const running = { state: 'running' };

test('ok, starting, stopping, degraded', async (t) => {
  const ok = await healthzServer(t, { status: 'ok', pid: 42, store: { state: 'ok' }, services: { web: running } });
  t.like(await probeServices(launchOn(ok), 42, options), { verdict: 'ok', setupDone: true });
  const starting = await healthzServer(t, { status: 'starting', pid: 42 }, 503);
  t.like(await probeServices(launchOn(starting), 42, options), { verdict: 'starting' });
  const stopping = await healthzServer(t, { status: 'stopping', pid: 42 }, 503);
  t.like(await probeServices(launchOn(stopping), 42, options), { verdict: 'unhealthy', detail: 'the services are stopping' });
  const half = await healthzServer(t, { status: 'degraded', pid: 42, store: { state: 'ok' }, services: { web: running, smtp: { state: 'stopped' } } }, 503);
  t.like(await probeServices(launchOn(half), 42, options), { verdict: 'degraded', detail: 'service smtp is stopped' });
});

test('setupDone is read, and a missing field counts as done', async (t) => {
  const notYet = await healthzServer(t, { status: 'ok', pid: 1, setupDone: false });
  t.like(await probeServices(launchOn(notYet), 1, options), { verdict: 'ok', setupDone: false });
  const old = await healthzServer(t, { status: 'ok', pid: 1 });
  t.like(await probeServices(launchOn(old), 1, options), { setupDone: true });
});

test('another pid answering, a failed service, a failed database, no JSON: unhealthy', async (t) => {
  const other = await healthzServer(t, { status: 'ok', pid: 7 });
  t.like(await probeServices(launchOn(other), 42, options), { verdict: 'unhealthy', detail: `another process (pid 7) answers /healthz on port ${other}` });
  const failedService = await healthzServer(t, { status: 'degraded', pid: 42, services: { smtp: { state: 'failed', detail: 'EADDRINUSE' } } }, 503);
  t.like(await probeServices(launchOn(failedService), 42, options), { verdict: 'unhealthy', detail: 'service smtp failed: EADDRINUSE' });
  const store = await healthzServer(t, { status: 'degraded', pid: 42, store: { state: 'failed', detail: 'SQLITE_FULL' } }, 503);
  t.like(await probeServices(launchOn(store), 42, options), { verdict: 'unhealthy', detail: 'the database cannot be written: SQLITE_FULL' });
  t.like(await probeServices(launchOn(store), 42, { ...options, storageExplainsStoreFailure: true }), { verdict: 'degraded' });
  const html = await healthzServer(t, '<html>', 500);
  t.like(await probeServices(launchOn(html), 42, options), { verdict: 'unhealthy', detail: '/healthz answered HTTP 500 without a JSON report' });
});

test('nothing listening is unreachable; a server that never answers runs into the deadline', async (t) => {
  const [closed] = await freePorts(1);
  t.like(await probeServices(launchOn(closed!), 42, options), { verdict: 'unreachable' });
  const silent = await listen(t, createServer(() => {}));
  const answer = await fetchHealthz('127.0.0.1', silent, 200);
  t.deepEqual(answer, { reachable: false, error: 'no answer within 200 ms' });
});

test('greetings are checked for the services listed as running, on the ports from the flags', async (t) => {
  const smtp = await listen(
    t,
    createServer((socket) => {
      socket.on('error', () => {});
      socket.write('220-mx.example.test ESMTP\r\n220 ready\r\n');
    }),
  );
  const http = await healthzServer(t, { status: 'ok', pid: 42, services: { smtp: running, imap: { state: 'stopped' } } });
  t.like(await probeServices(launchOn(http, smtp), 42, { ...options, greet: true }), { verdict: 'degraded', detail: 'service imap is stopped' });

  const rude = await listen(
    t,
    createServer((socket) => {
      socket.on('error', () => {});
      socket.end('421 too busy\r\n');
    }),
  );
  const verdict = await probeServices(launchOn(http, rude), 42, { ...options, greet: true });
  t.is(verdict.verdict, 'unhealthy');
  t.is(verdict.detail, `smtp greeting on 127.0.0.1:${rude}: unexpected greeting "421 too busy"`);
});

test('a port of 0 in the flags is taken from what /healthz says the service listens on', async (t) => {
  const imap = await listen(
    t,
    createServer((socket) => {
      socket.on('error', () => {});
      socket.write('* OK [CAPABILITY IMAP4rev1] ready\r\n');
    }),
  );
  const http = await healthzServer(t, { status: 'ok', pid: 42, services: { imap: { state: 'running', listening: [`127.0.0.1:${imap}`] } } });
  const launch = launchOn(http);
  launch.ports.imap = 0;
  t.like(await probeServices(launch, 42, { ...options, greet: true }), { verdict: 'ok' });
});

test('greeting problems: silence, a closed connection, nothing listening', async (t) => {
  const silent = await listen(t, createServer((socket) => socket.on('error', () => {})));
  t.is(await checkGreeting('127.0.0.1', silent, greetings.smtp!, 200), 'no greeting within 200 ms');
  const closing = await listen(t, createServer((socket) => socket.end()));
  t.is(await checkGreeting('127.0.0.1', closing, greetings.imap!, 1000), 'closed before greeting');
  const [nothing] = await freePorts(1);
  t.regex((await checkGreeting('127.0.0.1', nothing!, greetings.pop3!, 1000)) ?? '', /ECONNREFUSED/);
});

test('doctor alarms in /healthz make the verdict degraded with their text; none, or a malformed field, leave it ok', async (t) => {
  const base = { status: 'ok', pid: 42, store: { state: 'ok' }, services: { web: running } };
  const alarmed = await healthzServer(t, { ...base, alarms: ['Outbound port 25 is blocked'] });
  t.like(await probeServices(launchOn(alarmed), 42, options), { verdict: 'degraded', detail: 'doctor alarm: Outbound port 25 is blocked' });
  const many = await healthzServer(t, { ...base, alarms: ['a', 'b', 'c', 'd', 'x'.repeat(500)] });
  const verdict = await probeServices(launchOn(many), 42, options);
  t.is(verdict.detail, 'doctor alarm: a; doctor alarm: b; doctor alarm: c; and 2 more doctor alarms');
  for (const alarms of [[], 'not a list', [7, '']]) {
    const quiet = await healthzServer(t, { ...base, alarms });
    t.like(await probeServices(launchOn(quiet), 42, options), { verdict: 'ok' }, JSON.stringify(alarms));
  }
});
