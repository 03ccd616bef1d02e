// The connection log of every service (services/core/README.md, "Log fields"):
// each connection logs `connect` and `disconnect` with cid= and client= (the
// disconnect also with ms=, user= after a login, and messages= for SMTP); the
// firmware supervisor's probes (firmware/probes.ts, run here for real against
// the real services) log only at debug; no service uses another name for the
// client's address or the connection id.

import test from 'ava';
import { connect } from 'node:net';
import { portsFor, type PortName, type ServicesLaunch } from '../../firmware/launch.ts';
import { probeServices } from '../../firmware/probes.ts';
import { ConnectionLog } from '../../services/core/connection-log.ts';
import { memoryLogger } from '../../services/core/log.ts';
import { testPassword } from '../helpers/accounts.ts';
import { imapClient } from '../helpers/imap-client.ts';
import { Pop3Connection } from '../helpers/pop3-client.ts';
import { addFamily, startServices } from '../helpers/services.ts';
import { message, sendRaw, smtpDialogue } from '../helpers/smtp-client.ts';
import { until } from '../hw/until.ts';

/** A parsed log line: `TIME LEVEL SERVICE MESSAGE key=value...`. */
interface Line {
  level: string;
  service: string;
  message: string;
  text: string;
}

function parse(text: string): Line {
  const match = /^\S+ (\S+) (\S+) ("(?:[^"\\]|\\.)*"|\S+)/.exec(text);
  if (!match) throw new Error(`not a log line: ${text}`);
  const message = match[3]!.startsWith('"') ? (JSON.parse(match[3]!) as string) : match[3]!;
  return { level: match[1]!, service: match[2]!, message, text };
}

const connectionLine = (line: Line) => line.message === 'connect' || line.message === 'disconnect';

/** Fails on a connection line without cid= and client=, and on any line that names the client or the session otherwise. */
function assertFieldNames(t: import('ava').ExecutionContext, lines: Line[]): void {
  for (const line of lines) {
    t.notRegex(line.text, / (remoteAddress|remote|remoteIp|address|sessionId|session)=/, `an old field name: ${line.text}`);
    if (connectionLine(line)) {
      t.regex(line.text, / cid=\S+/, `no cid: ${line.text}`);
      t.regex(line.text, / client=\S+/, `no client: ${line.text}`);
    }
  }
}

test('the supervisor’s probes log at debug only; real clients from the same address log connect and disconnect at info', async (t) => {
  const env = await startServices(t);
  await addFamily(env.services);
  // env.ports is by service name; the probes want port names (the web service is on http).
  const ports = portsFor(0, { ...(env.ports as Partial<Record<PortName, number>>), http: env.ports.web! });
  const launch: ServicesLaunch = { command: '', args: [], host: '127.0.0.1', ports };

  // The probes, as the supervisor runs them: /healthz and every greeting.
  const before = env.logs.length;
  for (let round = 0; round < 3; round++) {
    const verdict = await probeServices(launch, process.pid, { timeoutMs: 5000, greet: true, storageExplainsStoreFailure: false });
    t.is(verdict.verdict, 'ok', verdict.detail);
  }
  // Each probe connection has logged its end (at debug) once the server saw it close.
  const probeLines = () => env.logs.slice(before).map(parse);
  await until(() => probeLines().filter((l) => l.message === 'disconnect').length >= 12, 'four disconnect lines per round');
  const probes = probeLines();
  t.deepEqual(probes.filter((l) => l.level !== 'debug').map((l) => l.text), [], 'probe traffic logs nothing above debug');
  for (const service of ['smtp', 'submission', 'imap', 'pop3']) {
    t.is(probes.filter((l) => l.service === service && l.message === 'connect').length, 3, `${service} probe connects`);
    t.is(probes.filter((l) => l.service === service && l.message === 'disconnect').length, 3, `${service} probe ends`);
  }
  t.is(probes.filter((l) => l.service === 'web' && l.message === 'request' && / path=\/healthz /.test(l.text)).length, 3);
  assertFieldNames(t, probes);

  // Real clients, from the very same loopback address.
  const real = env.logs.length;
  t.true((await sendRaw(env.ports.smtp!, 'friend@remote.test', ['alice@example.test'], message('one', 'first'))).ok);
  // An SMTP client that only says EHLO and QUIT is a client too.
  await smtpDialogue(env.ports.smtp!, ['EHLO client.example.test', 'QUIT']);
  const imap = await imapClient(t, env.ports.imap!);
  await imap.mailboxOpen('INBOX');
  await imap.logout();
  const pop3 = await Pop3Connection.open(env.ports.pop3!);
  await pop3.reply();
  for (const line of ['USER bob@example.test', `PASS ${testPassword}`, 'QUIT']) await pop3.command(line);
  const lines = () => env.logs.slice(real).map(parse);
  await until(() => lines().filter((l) => l.message === 'disconnect').length >= 4, 'the disconnect line of each client');
  const info = lines().filter((l) => l.level === 'info' && connectionLine(l));
  const of = (service: string, message: string) => info.filter((l) => l.service === service && l.message === message);
  t.is(of('smtp', 'connect').length, 2);
  const smtpEnds = of('smtp', 'disconnect');
  t.is(smtpEnds.length, 2);
  t.regex(smtpEnds[0]!.text, / client=127\.0\.0\.1 ms=\d+ messages=1$/);
  t.regex(smtpEnds[1]!.text, / client=127\.0\.0\.1 ms=\d+ messages=0$/);
  t.is(of('imap', 'connect').length, 1);
  t.regex(of('imap', 'disconnect')[0]?.text ?? '', / client=127\.0\.0\.1 user=alice@example\.test ms=\d+/);
  t.is(of('pop3', 'connect').length, 1);
  t.regex(of('pop3', 'disconnect')[0]?.text ?? '', / client=127\.0\.0\.1 ms=\d+ user=bob@example\.test reason=quit/);
  // Each session's connect and disconnect share its cid.
  for (const service of ['smtp', 'imap', 'pop3']) {
    const cid = (l: Line) => / cid=(\S+)/.exec(l.text)?.[1];
    t.deepEqual(of(service, 'connect').map(cid).sort(), of(service, 'disconnect').map(cid).sort(), service);
  }
  assertFieldNames(t, lines());
  assertFieldNames(t, env.logs.map(parse));
});

test('a client from another address is logged at connect, before it says anything', (t) => {
  const { logger, lines } = memoryLogger('debug');
  const remote = new ConnectionLog(logger.child('smtp'), 'c1', '203.0.113.5', { tls: false });
  t.is(lines.length, 1);
  t.regex(lines[0]!, / info smtp connect cid=c1 client=203\.0\.113\.5 tls=false$/);
  remote.end({ messages: 0 });
  remote.end();
  t.is(lines.length, 2);
  t.regex(lines[1]!, / info smtp disconnect cid=c1 client=203\.0\.113\.5 ms=\d+ messages=0$/);

  // From loopback: held back until the client does something, then at info.
  const local = new ConnectionLog(logger.child('pop3'), 'c2', '::1');
  t.is(lines.length, 2);
  local.loggedIn('alice@example.test');
  t.regex(lines[2]!, / info pop3 connect cid=c2 client=::1$/);
  local.end();
  t.regex(lines[3]!, / info pop3 disconnect cid=c2 client=::1 ms=\d+ user=alice@example\.test$/);

  // From loopback, nothing but the goodbye: both lines at debug.
  const probe = new ConnectionLog(logger.child('imap'), 'c3', '127.0.0.1');
  probe.end();
  t.regex(lines[4]!, / debug imap connect cid=c3 client=127\.0\.0\.1$/);
  t.regex(lines[5]!, / debug imap disconnect cid=c3 client=127\.0\.0\.1 ms=\d+$/);
});

test('an IMAP client that never logs in, from loopback, is logged once it sends a command', async (t) => {
  const env = await startServices(t);
  const before = env.logs.length;
  const socket = connect(env.ports.imap!, '127.0.0.1');
  t.teardown(() => socket.destroy());
  socket.setEncoding('utf8');
  let received = '';
  socket.on('data', (chunk: string) => (received += chunk));
  await until(() => received.includes('* OK'), 'the greeting');
  t.false(env.logs.slice(before).some((l) => / info imap connect /.test(l)));
  socket.write('a CAPABILITY\r\nb LOGOUT\r\n');
  await until(() => env.logs.slice(before).some((l) => / info imap disconnect /.test(l)), 'the disconnect line at info');
  t.true(env.logs.slice(before).some((l) => / info imap connect cid=\S+ client=127\.0\.0\.1 tls=false$/.test(l)));
});
