// Connection limits per client address and in all (services/core/connection-limits.ts),
// for IMAP, POP3 and SMTP: a refused client gets one line saying why (or, on
// an implicit-TLS port, a closed connection), and every closed connection
// gives its slot back, however often clients come and go.

import test from 'ava';
import { connect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { addressKey, ConnectionLimits, refusalLogThrottle } from '../../services/core/connection-limits.ts';
import type { ImapService } from '../../services/imap/index.ts';
import type { Pop3Service } from '../../services/pop3/index.ts';
import { startServices, type TestServices } from '../helpers/services.ts';

test('addresses: IPv4-mapped IPv6 is the IPv4 address, IPv6 counts per /64', (t) => {
  t.is(addressKey('::ffff:192.0.2.7'), '192.0.2.7');
  t.is(addressKey('::FFFF:192.0.2.7'), '192.0.2.7');
  t.is(addressKey('192.0.2.7'), '192.0.2.7');
  t.is(addressKey('2001:db8:1:2:aaaa::1'), '2001:db8:1:2::/64');
  t.is(addressKey('2001:0db8:0001:0002:ffff:1:2:3'), '2001:db8:1:2::/64');
  t.is(addressKey('2001:db8::1'), '2001:db8:0:0::/64');
  t.is(addressKey('fe80::1%eth0'), 'fe80:0:0:0::/64');
  t.is(addressKey(undefined), 'unknown');
});

test('admit and release: per address, in all, loopback exempt from the per-address limit unless told, release idempotent', (t) => {
  const limits = new ConnectionLimits({ perAddress: 2, total: 3, exemptLoopback: false });
  const a1 = limits.admit('192.0.2.1');
  const a2 = limits.admit('::ffff:192.0.2.1');
  const a3 = limits.admit('192.0.2.1');
  t.true(a1.admitted && a2.admitted);
  t.like(a3, { admitted: false, reason: 'per-address', limit: 2 });
  const b1 = limits.admit('198.51.100.1');
  t.true(b1.admitted);
  t.like(limits.admit('203.0.113.1'), { admitted: false, reason: 'total', limit: 3 });
  if (!a1.admitted) return;
  a1.release();
  a1.release();
  t.is(limits.active('192.0.2.1'), 1, 'a second release of the same connection changes nothing');
  t.is(limits.active(), 2);
  t.true(limits.admit('192.0.2.1').admitted);
  // Loopback is free of the per-address limit by default, not of the total.
  const local = new ConnectionLimits({ perAddress: 1, total: 3 });
  t.true(local.admit('127.0.0.1').admitted && local.admit('::1').admitted && local.admit('::ffff:127.0.0.1').admitted);
  t.like(local.admit('127.0.0.1'), { admitted: false, reason: 'total' });
  t.throws(() => new ConnectionLimits({ perAddress: 0, total: 1 }));
});

test('refusals are logged once a minute per address, with bounded memory', (t) => {
  const shouldLog = refusalLogThrottle(60_000, 3);
  t.true(shouldLog('a', 0));
  t.false(shouldLog('a', 59_999));
  t.true(shouldLog('a', 60_000));
  for (const key of ['b', 'c', 'd', 'e']) t.true(shouldLog(key, 60_001));
  t.true(shouldLog('a', 60_002), 'forgotten once too many addresses were remembered');
});

interface LineClient {
  socket: Socket;
  /** The first line the server sent, or '' when it closed without one. */
  firstLine: Promise<string>;
  closed: Promise<void>;
}

function open(port: number, options: { localAddress?: string; tls?: boolean } = {}): LineClient {
  const tcp = connect({ port, host: '127.0.0.1', localAddress: options.localAddress });
  tcp.on('error', () => {});
  const socket: Socket = options.tls ? tlsConnect({ socket: tcp, rejectUnauthorized: false }) : tcp;
  socket.on('error', () => {});
  let received = '';
  const firstLine = new Promise<string>((resolve) => {
    socket.on('data', (chunk: Buffer) => {
      received += chunk.toString('latin1');
      const end = received.indexOf('\r\n');
      if (end >= 0) resolve(received.slice(0, end));
    });
    socket.once('close', () => resolve(''));
  });
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  return { socket, firstLine, closed };
}

async function until(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function limitedServices(t: Parameters<typeof startServices>[0]): Promise<TestServices> {
  return startServices(t, { overrides: { 'max-connections-per-address': '3', 'max-connections': '5' }, connectionLimits: { exemptLoopback: false } });
}

const protocols = [
  { name: 'imap', tlsName: 'imaps', ok: /^\* OK /, perAddress: '* BYE Too many connections from your address; close some and try again', total: '* BYE Too many connections to this server; try again later' },
  { name: 'pop3', tlsName: 'pop3s', ok: /^\+OK /, perAddress: '-ERR [SYS/TEMP] Too many connections from your address; close some and try again later', total: '-ERR [SYS/TEMP] Too many connections to this server; try again later' },
] as const;

for (const protocol of protocols) {
  test(`${protocol.name}: at most 3 connections per address and 5 in all; a refused client is told why; closed connections give their slots back`, async (t) => {
    const env = await limitedServices(t);
    const service = env.services.services.find((s) => s.name === protocol.name) as ImapService | Pop3Service;
    const port = env.ports[protocol.name]!;
    const tlsPort = env.ports[protocol.tlsName]!;
    const held: LineClient[] = [];
    t.teardown(() => held.forEach((client) => client.socket.destroy()));
    for (let i = 0; i < 3; i++) {
      held.push(open(port));
      t.regex(await held[i]!.firstLine, protocol.ok);
    }
    const over = open(port);
    t.is(await over.firstLine, protocol.perAddress);
    await over.closed;
    // On the implicit-TLS port the refusal is a closed connection, before any handshake.
    const overTls = open(tlsPort, { tls: true });
    t.is(await overTls.firstLine, '');
    t.is(service.limits.active('127.0.0.1'), 3);

    held.shift()!.socket.destroy();
    await until(() => service.limits.active('127.0.0.1') === 2, 'the slot of the closed connection');
    held.push(open(port));
    t.regex(await held[2]!.firstLine, protocol.ok);
    const secure = open(tlsPort, { tls: true, localAddress: '127.0.0.2' });
    t.regex(await secure.firstLine, protocol.ok);
    held.push(secure);
    held.push(open(port, { localAddress: '127.0.0.2' }));
    t.regex(await held[4]!.firstLine, protocol.ok);
    t.is(service.limits.active(), 5);
    const overTotal = open(port, { localAddress: '127.0.0.3' });
    t.is(await overTotal.firstLine, protocol.total);

    for (const client of held.splice(0)) client.socket.destroy();
    await until(() => service.limits.active() === 0, 'every slot back');
    // Many connections coming and going (some closed by the client, some by the server at QUIT/LOGOUT) leak no slot.
    for (let round = 0; round < 60; round++) {
      const client = open(round % 2 ? tlsPort : port, { tls: round % 2 === 1 });
      t.regex(await client.firstLine, protocol.ok);
      if (round % 3 === 0) client.socket.write(protocol.name === 'imap' ? 'a LOGOUT\r\n' : 'QUIT\r\n');
      else client.socket.destroy();
      await client.closed;
      await until(() => service.limits.active() === 0, `the slot of round ${round}`);
    }
    t.is(service.limits.addresses, 0);
    t.is((await service.health()).refusedConnections, 3);
  });
}

// The 421 takes the greeting's place, so it carries no enhanced status code (RFC 2034 §3).
test('smtp: at most 3 connections per address and 5 in all, answered 421; closed connections give their slots back', async (t) => {
  const env = await limitedServices(t);
  const port = env.ports.smtp!;
  const held: LineClient[] = [];
  t.teardown(() => held.forEach((client) => client.socket.destroy()));
  for (let i = 0; i < 3; i++) {
    held.push(open(port));
    t.regex(await held[i]!.firstLine, /^220 /);
  }
  const over = open(port);
  t.is(await over.firstLine, '421 mx.example.test Too many connections from your address, try again later');
  await over.closed;
  for (let i = 0; i < 2; i++) {
    held.push(open(port, { localAddress: '127.0.0.2' }));
    t.regex(await held[3 + i]!.firstLine, /^220 /);
  }
  const overTotal = open(port, { localAddress: '127.0.0.3' });
  t.is(await overTotal.firstLine, '421 mx.example.test Too many connections to this server, try again later');
  for (const client of held.splice(0)) client.socket.destroy();

  // 60 sessions come and go. A slot that leaked would keep three at once from
  // being admitted below; one still being given back is retried until a deadline.
  const admitted = async (): Promise<LineClient> => {
    const deadline = Date.now() + 10_000;
    for (;;) {
      const client = open(port);
      const line = await client.firstLine;
      if (/^220 /.test(line)) return client;
      client.socket.destroy();
      if (Date.now() > deadline) throw new Error(`not admitted: ${line}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };
  for (let round = 0; round < 60; round++) {
    const client = await admitted();
    if (round % 2) client.socket.write('QUIT\r\n');
    else client.socket.destroy();
    await client.closed;
  }
  const three = await Promise.all([admitted(), admitted(), admitted()]);
  held.push(...three);
  const fourth = open(port);
  t.regex(await fourth.firstLine, /^421 mx\.example\.test Too many connections from your address/);
});
