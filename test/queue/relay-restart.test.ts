// The smarthost (set with the real CLI, AUTH over implicit TLS), the queue
// surviving a restart, and the queue, relay and transport commands.

import test from 'ava';
import { createServer } from 'node:net';
import { cliOk, runCli } from '../helpers/cli.ts';
import { tempDataDir } from '../helpers/data-dir.ts';
import { startPeer } from '../helpers/smtp-peer.ts';
import { fromAlice, startQueueServices, submit, until } from './helpers.ts';

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

test('a smarthost that requires AUTH over implicit TLS takes all outside mail; a wrong password keeps the mail queued', async (t) => {
  const peer = await startPeer(t, { secure: true, login: { user: 'home@isp.test', pass: 'isp-secret' } });
  const data = tempDataDir(t);
  t.regex(
    await cliOk(['relay', 'set', `127.0.0.1:${peer.port}`, '--tls', '--user', 'home@isp.test', '--password-stdin', '--no-verify'], { data, stdin: 'wrong\n' }),
    /outside mail now goes through 127\.0\.0\.1:\d+ \(implicit TLS, login home@isp\.test, certificate not checked\)/,
  );
  const shown = JSON.parse(await cliOk(['relay', 'show', '--json'], { data })) as { password: string };
  t.is(shown.password, '(set)', 'the password is never printed');
  const env = await startQueueServices(t, { data });
  await submit(env, ['friend@far.test', 'other@elsewhere.test'], fromAlice('through the relay', 'friend@far.test, other@elsewhere.test'));
  const store = env.services.store;
  await until(() => store.outbound.list().every((r) => /login refused: 535/.test(r.lastError ?? '')), 'the refused login to be recorded');
  t.is(peer.received.length, 0);
  t.is(store.outbound.count(), 2, 'nothing is bounced for a relay login problem');
  store.relay.set({ ...store.relay.get()!, password: 'isp-secret' });
  store.outbound.retryNow();
  await until(() => peer.received.length === 2, 'both domains sent through the relay');
  for (const got of peer.received) {
    t.is(got.user, 'home@isp.test');
    t.true(got.secure);
  }
  t.deepEqual(peer.received.map((r) => r.to[0]).sort(), ['friend@far.test', 'other@elsewhere.test']);
});

test('the queue survives a restart: a message waiting for a server that is down is sent after Mailnest starts again; the queue commands', async (t) => {
  const data = tempDataDir(t);
  const down = await closedPort();
  let env = await startQueueServices(t, { data, timings: { retryBaseMs: 60_000, retryMaxMs: 60_000 } });
  env.services.store.transports.set('remote.test', `127.0.0.1:${down}`);
  await submit(env, ['friend@remote.test'], fromAlice('waits for a restart'));
  await until(() => /could not connect/.test(env.services.store.outbound.list()[0]?.lastError ?? ''), 'the first attempt to fail');
  await env.services.stop();

  const listed = await cliOk(['queue', 'list'], { data });
  t.regex(listed, /^ID\s+AGE\s+TRIES\s+FROM\s+TO\s+LAST ERROR$/m);
  t.regex(listed, /^1\s+\d+m\s+1\s+alice@example\.test\s+friend@remote\.test\s+could not connect: 127\.0\.0\.1: connect ECONNREFUSED/m);
  const json = JSON.parse(await cliOk(['queue', 'list', '--json'], { data })) as { id: number; subject: string; attempts: number }[];
  t.like(json[0], { id: 1, subject: 'waits for a restart', attempts: 1 });
  const shown = await cliOk(['queue', 'show', '1'], { data });
  t.regex(shown, /^to: {11}friend@remote\.test$/m);
  t.regex(shown, /^Subject: waits for a restart$/m);
  t.regex(await cliOk(['queue', 'retry', '--all'], { data }), /1 recipient will be tried again/);

  const peer = await startPeer(t);
  t.regex(await cliOk(['transport', 'set', 'Remote.Test', `127.0.0.1:${peer.port}`], { data }), new RegExp(`mail for remote\\.test now goes to 127\\.0\\.0\\.1:${peer.port}`));
  t.regex(await cliOk(['transport', 'list'], { data }), new RegExp(`^remote\\.test\\s+127\\.0\\.0\\.1:${peer.port}$`, 'm'));
  env = await startQueueServices(t, { data, family: false });
  await until(() => peer.received.length === 1, 'the message sent after the restart');
  t.regex(peer.received[0]!.raw.toString(), /^Subject: waits for a restart\r$/m);
  await until(() => env.services.store.outbound.count() === 0, 'the queue to empty');
  await env.services.stop();
  t.regex(await cliOk(['queue', 'list'], { data }), /the queue is empty/);
});

test('queue, relay and transport commands refuse bad input with one line and change nothing', async (t) => {
  const data = tempDataDir(t);
  await cliOk(['domain', 'add', 'example.test'], { data });
  const cases: [string[], number, RegExp][] = [
    [['queue', 'show', '7'], 1, /there is no queued message 7/],
    [['queue', 'show', 'x'], 2, /"x" is not a queue id/],
    [['queue', 'delete'], 2, /give the queue ids/],
    [['transport', 'set', 'remote.test', 'mx.remote.test:99999'], 1, /"99999" is not a port number/],
    [['transport', 'set', 'remote.test', 'bad_host:25'], 1, /"bad_host" is not a host name or IP address/],
    [['transport', 'remove', 'remote.test'], 1, /there is no transport for remote\.test/],
    [['relay', 'set', 'smtp.isp.test', '--tls', '--starttls'], 2, /choose --tls .* or --starttls/],
    [['relay', 'set', 'smtp.isp.test', '--user', 'me'], 2, /--password-stdin/],
  ];
  for (const [args, code, message] of cases) {
    const result = await runCli(args, { data });
    t.is(result.code, code, args.join(' '));
    t.regex(result.stderr, message, args.join(' '));
    t.is(result.stderr.trim().split('\n').length, 1, `${args.join(' ')}: one line`);
  }
  t.regex(await cliOk(['transport', 'list'], { data }), /no transports/);
  t.regex(await cliOk(['relay', 'show'], { data }), /no relay/);
  t.regex(await cliOk(['relay', 'set', 'smtp.isp.test'], { data }), /smtp\.isp\.test:587 \(STARTTLS, no login\)/);
  t.regex(await cliOk(['relay', 'clear'], { data }), /relay removed/);
  t.regex(await cliOk(['relay', 'clear'], { data }), /no relay was set/);
});
