// SMTP delivery benchmark: messages per second delivered end to end (each one
// fsynced and committed before its 250) for 1, 8 and 32 concurrent clients
// sending 10 KB messages to one mailbox, and the serve process's peak RSS.
// Run with `make bench` (or: node --import tsx scripts/bench-smtp.ts).

import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import nodemailer from 'nodemailer';
import { freePort, memoryMb, waitForPort } from './lib/bench.ts';

const bin = new URL('../bin/mailnest', import.meta.url).pathname;
const data = mkdtempSync(join(tmpdir(), 'mailnest-bench-smtp-'));
const rounds: [clients: number, messages: number][] = [
  [1, 300],
  [8, 1000],
  [32, 2000],
];

function cli(args: string[], input = ''): void {
  execFileSync(bin, [...args, '--data', data], { input, stdio: ['pipe', 'ignore', 'inherit'] });
}

const body = `${'The quick brown fox jumps over the lazy dog. '.repeat(2)}\r\n`.repeat(110);
function message(n: number): string {
  return `From: bench@remote.test\r\nTo: alice@example.test\r\nSubject: bench ${n}\r\nMessage-ID: <bench-${n}@remote.test>\r\n\r\n${body}`;
}

cli(['domain', 'add', 'example.test']);
cli(['user', 'add', 'alice@example.test', '--password-stdin'], 'bench-mark-password');
const port = await freePort();
const serve = spawn(bin, ['serve', '--data', data, '--listen', '127.0.0.1', '--port', `smtp=${port}`, '--port', 'http=0', '--log-level', 'warn'], { stdio: ['ignore', 'inherit', 'inherit'] });
await waitForPort(port);

let sent = 0;
console.log(`SMTP delivery, 10 KB messages (${Buffer.byteLength(message(0))} bytes), durable (fsync + commit before each 250)`);
console.log('clients  messages  seconds  msg/s   peak RSS (MB)');
try {
  for (const [clients, messages] of rounds) {
    let next = 0;
    const started = process.hrtime.bigint();
    await Promise.all(
      Array.from({ length: clients }, async () => {
        const transport = nodemailer.createTransport({ host: '127.0.0.1', port, secure: false, ignoreTLS: true, pool: true, maxConnections: 1, maxMessages: Infinity });
        try {
          while (next < messages) {
            const n = sent + next++;
            await transport.sendMail({ envelope: { from: 'bench@remote.test', to: ['alice@example.test'] }, raw: message(n) });
          }
        } finally {
          transport.close();
        }
      }),
    );
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    sent += messages;
    console.log(`${String(clients).padStart(7)}  ${String(messages).padStart(8)}  ${seconds.toFixed(2).padStart(7)}  ${(messages / seconds).toFixed(0).padStart(5)}   ${memoryMb(serve.pid!).peak.toFixed(1)}`);
  }
  const listed = JSON.parse(execFileSync(bin, ['mailbox', 'list', 'alice@example.test', '--json', '--data', data], { encoding: 'utf8' })) as { name: string; messages: number }[];
  const inbox = listed.find((m) => m.name === 'INBOX')!.messages;
  if (inbox !== sent) throw new Error(`sent ${sent} messages but INBOX holds ${inbox}`);
  console.log(`all ${sent} messages are in the INBOX`);
} finally {
  serve.kill('SIGTERM');
  await new Promise((resolve) => serve.on('exit', resolve));
  rmSync(data, { recursive: true, force: true });
}
