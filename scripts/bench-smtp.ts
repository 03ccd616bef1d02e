// SMTP delivery benchmark, in two parts (run with `make bench`, or:
// node --import tsx scripts/bench-smtp.ts; SMTP_ROUNDS=3 for medians of 3).
//
// 1. Beside the reference Postfix (../shared/tools/bench-reference, started by
//    its setup.sh when it is not up): Postfix's smtp-source sends 2,000 × 10 KB
//    over 20 sessions to Mailnest and to Postfix, in alternating rounds, with
//    the same script (smtp-throughput.sh). Mailnest's figure counts a message
//    when its 250 came, which is only after the body file, its folder and the
//    row are durable; Postfix's counts it when virtual(8) has put it in the
//    maildir. A Mailnest round counts only if all 2,000 reached the INBOX.
//    Prints both figures and the ratio.
// 2. nodemailer clients (1, 8 and 32 at once, one connection each, several
//    messages per connection) against Mailnest alone, and its peak RSS.

import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import nodemailer from 'nodemailer';
import { freePort, memoryMb, waitForPort } from './lib/bench.ts';

const root = new URL('..', import.meta.url).pathname;
const bin = join(root, 'bin/mailnest');
const tools = join(root, '../shared/tools/bench-reference');
const data = mkdtempSync(join(tmpdir(), 'mailnest-bench-smtp-'));
const referenceMaildir = '/tmp/mail-lab/dovecot/mail/user/Maildir';
const sideBySide = { messages: 2000, sessions: 20, size: 10240 };
const roundsOfReference = Math.max(1, Number(process.env.SMTP_ROUNDS ?? 1) || 1);
const rounds: [clients: number, messages: number][] = [
  [1, 300],
  [8, 1000],
  [32, 2000],
];

function cli(args: string[], input = ''): string {
  return execFileSync(bin, [...args, '--data', data], { input, encoding: 'utf8', stdio: ['pipe', 'pipe', 'inherit'] });
}

function inboxCount(address: string): number {
  const listed = JSON.parse(cli(['mailbox', 'list', address, '--json'])) as { name: string; messages: number }[];
  return listed.find((m) => m.name === 'INBOX')!.messages;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** smtp-throughput.sh against host:port; returns the line's figure (`msgs/s` or `delivered msgs/s`). */
function smtpSource(port: number, env: Record<string, string>, figure: RegExp): number {
  let output: string;
  try {
    output = execFileSync(join(tools, 'smtp-throughput.sh'), ['127.0.0.1', String(port), String(sideBySide.messages), String(sideBySide.sessions), String(sideBySide.size)], {
      env: { ...process.env, ...env },
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  } catch (error) {
    output = String((error as { stdout?: string }).stdout ?? '');
  }
  return Number(figure.exec(output)?.[1] ?? 0);
}

function referencesUp(): boolean {
  if (!existsSync(join(tools, 'smtp-throughput.sh'))) return false;
  try {
    execFileSync(join(tools, 'ref-postfix.sh'), ['status'], { stdio: 'ignore' });
    execFileSync(join(tools, 'ref-dovecot.sh'), ['status'], { stdio: 'ignore' });
    return true;
  } catch {
    try {
      execFileSync(join(tools, 'setup.sh'), { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  }
}

const body = `${'The quick brown fox jumps over the lazy dog. '.repeat(2)}\r\n`.repeat(110);
function message(n: number): string {
  return `From: bench@remote.test\r\nTo: alice@example.test\r\nSubject: bench ${n}\r\nMessage-ID: <bench-${n}@remote.test>\r\n\r\n${body}`;
}

// DNS (the filter's SPF, DKIM and DMARC lookups) to a closed port on loopback: answered at once with nothing, and no query leaves the machine.
cli(['config', 'set', 'dns-servers', '127.0.0.1:9']);
cli(['domain', 'add', 'example.test']);
cli(['domain', 'add', 'lab.example']);
cli(['user', 'add', 'alice@example.test', '--password-stdin'], 'bench-mark-password');
cli(['user', 'add', 'user@lab.example', '--password-stdin'], 'bench-mark-password');
const port = await freePort();
const serve = spawn(bin, ['serve', '--data', data, '--listen', '127.0.0.1', '--port', `smtp=${port}`, '--port', 'http=0', '--log-level', 'warn'], { stdio: ['ignore', 'inherit', 'inherit'] });
await waitForPort(port);

try {
  if (referencesUp()) {
    console.log(`SMTP durable delivery beside Postfix: smtp-source, ${sideBySide.messages} × ${sideBySide.size / 1024} KB over ${sideBySide.sessions} sessions, ${roundsOfReference} round(s)`);
    const ours: number[] = [];
    const theirs: number[] = [];
    for (let round = 1; round <= roundsOfReference; round++) {
      const before = inboxCount('user@lab.example');
      const mailnest = smtpSource(port, { SMTP_TO: 'user@lab.example' }, /^msgs\/s: ([\d.]+)/m);
      const arrived = inboxCount('user@lab.example') - before;
      // smtp-source counts a refused message as sent: a round counts only when every message is in the INBOX.
      ours.push(arrived === sideBySide.messages ? mailnest : 0);
      if (arrived !== sideBySide.messages) console.log(`round ${round}: only ${arrived} of ${sideBySide.messages} messages reached the INBOX; the round counts 0`);
      for (const folder of ['new', 'cur']) {
        const dir = join(referenceMaildir, folder);
        if (existsSync(dir)) for (const name of readdirSync(dir)) rmSync(join(dir, name), { force: true });
      }
      theirs.push(smtpSource(12525, { MAILDIR_WATCH: referenceMaildir }, /^delivered msgs\/s: ([\d.]+)/m));
      console.log(`round ${round}: mailnest ${ours.at(-1)} msg/s (250 after fsync and commit); postfix ${theirs.at(-1)} msg/s delivered to maildir`);
    }
    const m = median(ours);
    const p = median(theirs);
    console.log('figure                              mailnest   postfix   ratio');
    console.log(`SMTP durable delivery (msg/s)      ${m.toFixed(0).padStart(9)} ${p.toFixed(0).padStart(9)}   ${p > 0 ? (m / p).toFixed(2) : 'n/a'}×`);
  } else {
    console.log('SMTP beside Postfix: skipped (../shared/tools/bench-reference is missing, or its servers did not start)');
  }

  let sent = 0;
  console.log(`\nSMTP delivery with nodemailer, 10 KB messages (${Buffer.byteLength(message(0))} bytes), durable (fsync + commit before each 250)`);
  console.log('clients  messages  seconds  msg/s   peak RSS (MB)');
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
  const inbox = inboxCount('alice@example.test');
  if (inbox !== sent) throw new Error(`sent ${sent} messages but INBOX holds ${inbox}`);
  console.log(`all ${sent} messages are in the INBOX`);
} finally {
  serve.kill('SIGTERM');
  await new Promise((resolve) => serve.on('exit', resolve));
  rmSync(data, { recursive: true, force: true });
}
