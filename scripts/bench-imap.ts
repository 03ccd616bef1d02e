// IMAP benchmark on a mailbox of 100,000 messages: the time for SELECT,
// `FETCH 1:* (FLAGS)`, SEARCH (BODY, TEXT, SUBJECT, UNSEEN) and SORT (SUBJECT),
// the serve process's RSS, and commands per second for 10 concurrent clients.
// The data folder is on tmpfs (/dev/shm) so that building the mailbox takes
// a minute, not the hour 100,000 fsyncs would; the figures are for a warm
// file cache. MESSAGES=20000 makes a smaller mailbox.
// Run with `make bench` (or: node --import tsx scripts/bench-imap.ts).

import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { Readable } from 'node:stream';
import { createBodyAnalyzer } from '../services/delivery/analyzer.ts';
import { Store } from '../services/store/index.ts';
import { receiveBody } from '../services/store/receive.ts';
import { RawImap } from '../test/helpers/imap-raw.ts';
import { freePort, memoryMb, waitForPort } from './lib/bench.ts';

const total = Number(process.env.MESSAGES ?? 100_000);
const bin = new URL('../bin/mailnest', import.meta.url).pathname;
const data = mkdtempSync('/dev/shm/mailnest-bench-imap-');
const words = 'apple river mountain letter garden window silver orange market yellow doctor holiday pencil summer island violin'.split(' ');

function messageText(n: number): string {
  const lines: string[] = [];
  for (let i = 0; i < 40; i++) lines.push(Array.from({ length: 10 }, (_, j) => words[(n * 7 + i * 3 + j) % words.length]).join(' '));
  if (n % 1000 === 0) lines.push('Please bring the pineapple.');
  return `From: Sender ${n % 50} <sender${n % 50}@remote.test>\r\nTo: alice@example.test\r\nSubject: Message number ${n}\r\nDate: ${new Date(Date.UTC(2026, 0, 1) + n * 60_000).toUTCString()}\r\nMessage-ID: <bench-${n}@remote.test>\r\n\r\n${lines.join('\r\n')}\r\n`;
}

async function build(): Promise<void> {
  const store = Store.open(data);
  store.domains.add('example.test');
  const alice = await store.accounts.add({ address: 'alice@example.test', password: 'bench-mark-password' });
  const started = Date.now();
  for (let n = 1; n <= total; n++) {
    const received = await receiveBody(store.mail.files, createBodyAnalyzer(), Readable.from([Buffer.from(messageText(n))]));
    if (!received.ok) throw new Error('not received');
    store.mail.append(alice, 'INBOX', received.body, n % 3 === 0 ? ['\\Seen'] : [], Date.now());
    if (n % 20_000 === 0) process.stderr.write(`  built ${n} messages\n`);
  }
  console.log(`built a mailbox of ${total} messages in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  store.close();
}

async function timed<T>(work: () => Promise<T>): Promise<[T, number]> {
  const started = process.hrtime.bigint();
  const result = await work();
  return [result, Number(process.hrtime.bigint() - started) / 1e6];
}

await build();
const port = await freePort();
const others = ['smtp', 'submission', 'submissions', 'imaps', 'pop3', 'pop3s', 'http'].flatMap((name) => ['--port', `${name}=0`]);
const serve = spawn(bin, ['serve', '--data', data, '--listen', '127.0.0.1', '--port', `imap=${port}`, ...others, '--log-level', 'warn'], { stdio: ['ignore', 'inherit', 'inherit'] });
try {
  await waitForPort(port);
  const imap = await RawImap.open(port);
  await imap.command('LOGIN alice@example.test bench-mark-password');
  const [selected, selectMs] = await timed(() => imap.command('SELECT INBOX'));
  if (!selected.status.startsWith('OK')) throw new Error(selected.status);
  const [flags, fetchMs] = await timed(() => imap.command('FETCH 1:* (FLAGS)'));
  console.log(`mailbox of ${total} messages of about 2.5 KB (40 lines each)`);
  console.log(`SELECT INBOX                      ${selectMs.toFixed(0).padStart(7)} ms`);
  console.log(`FETCH 1:* (FLAGS)                 ${fetchMs.toFixed(0).padStart(7)} ms  (${flags.untagged.length} responses)`);
  // The search index answers these (services/imap/search.ts); the counts show what was found.
  for (const command of ['UID SEARCH BODY pineapple', 'UID SEARCH TEXT pineapple', 'UID SEARCH SUBJECT "number 4242"', 'UID SEARCH UNSEEN', 'UID SORT (SUBJECT) UTF-8 ALL']) {
    const [search, searchMs] = await timed(() => imap.command(command));
    if (!search.status.startsWith('OK')) throw new Error(`${command}: ${search.status}`);
    const found = (search.untagged.map((l) => l.toString()).find((l) => /^\* (SEARCH|SORT)/.test(l)) ?? '').trim().split(' ').length - 2;
    console.log(`${command.padEnd(34)}${searchMs.toFixed(0).padStart(7)} ms  (${found} found)`);
  }
  console.log(`serve RSS after these             ${memoryMb(serve.pid!).rss.toFixed(1).padStart(7)} MB (peak ${memoryMb(serve.pid!).peak.toFixed(1)} MB)`);
  imap.close();

  // 10 clients, each logged in with INBOX selected, running a mix of what mail clients do.
  const seconds = 10;
  let operations = 0;
  const deadline = Date.now() + seconds * 1000;
  await Promise.all(
    Array.from({ length: 10 }, async (_, client) => {
      const session = await RawImap.open(port);
      await session.command('LOGIN alice@example.test bench-mark-password');
      await session.command('SELECT INBOX');
      let n = client;
      while (Date.now() < deadline) {
        const uid = 1 + ((n * 7919) % total);
        await session.command(`UID FETCH ${uid} (FLAGS ENVELOPE BODY.PEEK[HEADER] RFC822.SIZE)`);
        await session.command(`UID STORE ${uid} +FLAGS.SILENT (\\Flagged)`);
        await session.command(`UID FETCH ${uid}:${uid + 20} (FLAGS)`);
        await session.command('NOOP');
        operations += 4;
        n++;
      }
      session.close();
    }),
  );
  console.log(`10 concurrent clients              ${(operations / seconds).toFixed(0).padStart(7)} commands/s (UID FETCH, UID STORE, NOOP)`);
  console.log(`serve peak RSS                    ${memoryMb(serve.pid!).peak.toFixed(1).padStart(7)} MB`);
} finally {
  serve.kill('SIGTERM');
  await new Promise((resolve) => serve.on('exit', resolve));
  rmSync(data, { recursive: true, force: true });
  void execFileSync;
}
