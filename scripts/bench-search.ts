// SEARCH and SORT beside the reference Dovecot: the same 5,000 messages
// (gen-mbox.sh from ../shared/tools/bench-reference: plain, multipart, base64
// attachments, RFC 2047 subjects, threads) APPENDed over IMAP into a fresh
// folder on each side, then the same commands timed on both (one warm-up, the
// median of 3), each with its figure, the ratio and the number of matches (the
// two sides must find the same messages, or the comparison means nothing).
//
// Mailnest runs on a data folder in /dev/shm (its own serve, user
// bench@example.test); Dovecot is the running reference on 127.0.0.1:11143,
// user `bench` / `secret` (a user the stress benchmarks do not use).
// Run under the shared lock: flock /tmp/mail-lab/bench.lock node --import tsx scripts/bench-search.ts
// MESSAGES=1000 makes a smaller set; DOVECOT=host:port:user:pass another reference.

import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { ImapFlow } from 'imapflow';
import { Store } from '../services/store/index.ts';
import { RawImap } from '../test/helpers/imap-raw.ts';
import { freePort, waitForPort } from './lib/bench.ts';

const total = Number(process.env.MESSAGES ?? 5000);
const [dHost, dPort, dUser, dPass] = (process.env.DOVECOT ?? '127.0.0.1:11143:bench:secret').split(':');
const tools = new URL('../../shared/tools/bench-reference/', import.meta.url).pathname;
const bin = new URL('../bin/mailnest', import.meta.url).pathname;
const folder = 'SearchBench';
const user = 'bench@example.test';
const password = 'bench-search-password-1';

function mboxMessages(file: string): Buffer[] {
  const text = readFileSync(file, 'latin1');
  return text
    .split(/^From .*\n/m)
    .filter((part) => part.trim() !== '')
    .map((part) => Buffer.from(part.replace(/^>(>*From )/gm, '$1').replace(/\r?\n/g, '\r\n'), 'latin1'));
}

async function appendAll(host: string, port: number, auth: { user: string; pass: string }, messages: Buffer[]): Promise<number> {
  const client = new ImapFlow({ host, port, secure: false, auth, logger: false, disableAutoIdle: true, tls: { rejectUnauthorized: false } });
  await client.connect();
  await client.mailboxDelete(folder).catch(() => {});
  await client.mailboxCreate(folder);
  const started = Date.now();
  for (const message of messages) await client.append(folder, message);
  const seconds = (Date.now() - started) / 1000;
  await client.logout();
  return seconds;
}

async function timed(imap: RawImap, command: string): Promise<{ ms: number; found: number }> {
  const once = async () => {
    const started = process.hrtime.bigint();
    const result = await imap.command(command);
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    if (!result.status.startsWith('OK')) throw new Error(`${command}: ${result.status}`);
    const line = result.untagged.map((l) => l.toString('latin1')).find((l) => /^\* (SEARCH|SORT)/.test(l)) ?? '';
    return { ms, found: line.trim().split(' ').length - 2 };
  };
  await once();
  const runs = [await once(), await once(), await once()];
  runs.sort((a, b) => a.ms - b.ms);
  return runs[1]!;
}

async function messageIdAt(imap: RawImap, seq: number): Promise<string> {
  const result = await imap.command(`FETCH ${seq} (BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])`);
  const text = result.untagged.map((l) => l.toString('latin1')).join('\n');
  return /Message-ID:\s*(\S+)/i.exec(text)?.[1] ?? '<none>';
}

const mbox = `/dev/shm/mailnest-bench-search-${total}.mbox`;
if (!existsSync(mbox)) execFileSync('bash', [`${tools}gen-mbox.sh`, mbox, String(total), '42']);
const messages = mboxMessages(mbox);

const data = mkdtempSync('/dev/shm/mailnest-bench-search-');
const store = Store.open(data);
store.domains.add('example.test');
await store.accounts.add({ address: user, password });
store.close();
const port = await freePort();
const others = ['smtp', 'submission', 'submissions', 'imaps', 'pop3', 'pop3s', 'http'].flatMap((name) => ['--port', `${name}=0`]);
const serve = spawn(bin, ['serve', '--data', data, '--listen', '127.0.0.1', '--port', `imap=${port}`, ...others, '--log-level', 'warn'], { stdio: ['ignore', 'inherit', 'inherit'] });
try {
  await waitForPort(port);
  const sides = [
    { name: 'Mailnest', host: '127.0.0.1', port, user, pass: password },
    { name: 'Dovecot', host: dHost!, port: Number(dPort), user: dUser!, pass: dPass! },
  ];
  const sessions: RawImap[] = [];
  for (const side of sides) {
    const seconds = await appendAll(side.host, side.port, { user: side.user, pass: side.pass }, messages);
    console.log(`${side.name}: APPEND ${messages.length} messages in ${seconds.toFixed(1)} s`);
    const imap = await RawImap.open(side.port);
    const login = await imap.command(`LOGIN ${side.user} ${side.pass}`);
    if (!login.status.startsWith('OK')) throw new Error(`${side.name} login: ${login.status}`);
    await imap.command(`SELECT ${folder}`);
    // Some messages seen, so that UNSEEN has something to leave out.
    const everyThird = Array.from({ length: Math.ceil(messages.length / 3) }, (_, i) => 1 + i * 3).join(',');
    await imap.command(`STORE ${everyThird} +FLAGS.SILENT (\\Seen)`);
    sessions.push(imap);
  }
  const messageId = await messageIdAt(sessions[1]!, Math.floor(messages.length / 2));
  const commands = [
    `UID SEARCH HEADER Message-ID "${messageId}"`,
    'UID SEARCH SUBJECT "report"',
    'UID SEARCH FROM "alice"',
    'UID SEARCH BODY "meeting"',
    'UID SEARCH TEXT "invoice"',
    'UID SEARCH UNSEEN',
    'UID SEARCH SINCE 1-Jan-2020',
    'UID SORT (SUBJECT) UTF-8 ALL',
  ];
  console.log(`${messages.length} messages; median of 3 after one warm-up`);
  console.log(`${'command'.padEnd(48)} ${'Mailnest'.padStart(10)} ${'Dovecot'.padStart(10)} ${'ratio'.padStart(7)}  matches`);
  for (const command of commands) {
    const mine = await timed(sessions[0]!, command);
    const theirs = await timed(sessions[1]!, command);
    const ratio = mine.ms / theirs.ms;
    const label = command.length > 47 ? command.slice(0, 44) + '...' : command;
    console.log(`${label.padEnd(48)} ${mine.ms.toFixed(1).padStart(8)}ms ${theirs.ms.toFixed(1).padStart(8)}ms ${ratio.toFixed(2).padStart(6)}×  ${mine.found} / ${theirs.found}`);
  }
  for (const imap of sessions) imap.close();
} finally {
  serve.kill('SIGTERM');
  await new Promise((resolve) => serve.on('exit', resolve));
  rmSync(data, { recursive: true, force: true });
}
