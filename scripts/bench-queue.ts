// Outbound queue benchmark: how fast the queue empties into a loopback peer
// server. Messages (10 KB, DKIM-signed on the way out) are queued while their
// destination is down, then the destination comes up and Mailnest starts;
// the figure is messages per second from start until the peer holds them all,
// with the default limit of 2 connections to one destination (target: ≥ 300
// msg/s, with connections reused between messages as Postfix's connection
// cache does), the connections the peer saw, and the serve process's peak RSS.
// smtp-server waits 100 ms before its greeting, so a connection per message
// caps the queue near 20 msg/s. Run with `make bench` (under the shared lock:
// flock /tmp/mail-lab/bench.lock node --import tsx scripts/bench-queue.ts).

import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import nodemailer from 'nodemailer';
import { SMTPServer } from 'smtp-server';
import { standardPorts } from '../services/core/ports.ts';
import { freePort, memoryMb, waitForPort } from './lib/bench.ts';

const bin = new URL('../bin/mailnest', import.meta.url).pathname;
const data = mkdtempSync(join(tmpdir(), 'mailnest-bench-queue-'));
const count = 1000;

function cli(args: string[], input = ''): string {
  return execFileSync(bin, [...args, '--data', data], { input, encoding: 'utf8', stdio: ['pipe', 'pipe', 'inherit'] });
}

async function startServe(smtpPort: number, submissionPort = 0): Promise<ChildProcess> {
  const ports = Object.keys(standardPorts).flatMap((name) => ['--port', `${name}=${name === 'smtp' ? smtpPort : name === 'submission' ? submissionPort : 0}`]);
  const serve = spawn(bin, ['serve', '--data', data, '--listen', '127.0.0.1', ...ports, '--log-level', 'warn'], { stdio: ['ignore', 'inherit', 'inherit'] });
  await waitForPort(smtpPort);
  return serve;
}

async function stopServe(serve: ChildProcess): Promise<void> {
  if (serve.exitCode !== null || serve.signalCode !== null) return;
  serve.kill('SIGTERM');
  await new Promise((resolve) => serve.on('exit', resolve));
}

const body = `${'The quick brown fox jumps over the lazy dog. '.repeat(2)}\r\n`.repeat(110);
const message = (n: number) => `From: Alice <alice@example.test>\r\nTo: friend@remote.test\r\nSubject: bench ${n}\r\nMessage-ID: <queue-bench-${n}@example.test>\r\n\r\n${body}`;

cli(['domain', 'add', 'example.test']);
cli(['user', 'add', 'alice@example.test', '--password-stdin'], 'bench-mark-password');
cli(['transport', 'set', 'remote.test', `127.0.0.1:${await freePort()}`]);

const smtpPort = await freePort();
const submissionPort = await freePort();
let serve = await startServe(smtpPort, submissionPort);
try {
  // Submitted by a logged-in user (port 587, STARTTLS, AUTH), so every message is DKIM-signed on the way out.
  const transport = nodemailer.createTransport({
    host: '127.0.0.1',
    port: submissionPort,
    secure: false,
    requireTLS: true,
    tls: { rejectUnauthorized: false },
    auth: { user: 'alice@example.test', pass: 'bench-mark-password' },
    pool: true,
    maxConnections: 8,
    maxMessages: Infinity,
  });
  let next = 0;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (next < count) {
        const n = next++;
        await transport.sendMail({ envelope: { from: 'alice@example.test', to: ['friend@remote.test'] }, raw: message(n) });
      }
    }),
  );
  transport.close();
  await stopServe(serve);

  let received = 0;
  let connections = 0;
  let done: () => void = () => {};
  const all = new Promise<void>((resolve) => (done = resolve));
  const peer = new SMTPServer({
    authOptional: true,
    disabledCommands: ['AUTH'],
    logger: false,
    // Reverse DNS would query the system resolver for each connection; nothing here may leave the machine.
    disableReverseLookup: true,
    onConnect(_session, callback) {
      connections += 1;
      callback();
    },
    onData(stream, _session, callback) {
      stream.on('data', () => {});
      stream.on('end', () => {
        callback(null, 'Ok');
        if (++received === count) done();
      });
    },
  });
  const peerPort = await freePort();
  await new Promise<void>((resolve) => peer.listen(peerPort, '127.0.0.1', resolve));
  cli(['transport', 'set', 'remote.test', `127.0.0.1:${peerPort}`]);
  cli(['queue', 'retry', '--all']);

  const started = process.hrtime.bigint();
  serve = await startServe(smtpPort);
  await all;
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  console.log(`Outbound queue to a loopback peer: ${count} messages of ${Buffer.byteLength(message(0))} bytes, DKIM-signed (RSA + Ed25519), STARTTLS, 2 connections to the destination`);
  console.log('messages  seconds  msg/s  target  connections  peak RSS (MB)');
  console.log(`${String(count).padStart(8)}  ${seconds.toFixed(2).padStart(7)}  ${(count / seconds).toFixed(0).padStart(5)}  ${'≥ 300'.padStart(6)}  ${String(connections).padStart(11)}  ${memoryMb(serve.pid!).peak.toFixed(1).padStart(13)}`);
  for (let i = 0; i < 100 && !/the queue is empty/.test(cli(['queue', 'list'])); i++) await new Promise((r) => setTimeout(r, 100));
  const left = cli(['queue', 'list']);
  if (!/the queue is empty/.test(left)) throw new Error(`the queue did not empty:\n${left}`);
  console.log(`the peer received all ${count}; the queue is empty`);
  peer.close();
} finally {
  await stopServe(serve);
  rmSync(data, { recursive: true, force: true });
}
