// APPEND latency from a client that writes the literal and its closing CRLF in
// two sends with Nagle's algorithm on, as Python's imaplib (and OfflineIMAP on
// it) does: python3's own imaplib drives a fresh `mailnest serve` and the
// reference Dovecot (127.0.0.1:11143, user bench/secret, started by
// ../shared/tools/bench-reference/setup.sh) with the same messages, one
// connection, one APPEND after another. Printed: ms per APPEND on both sides
// and the ratio (target: ≤ 3 ms), and the same run with TCP_NODELAY on the
// client (the CRLF leaves at once), which shows what the storage path alone
// costs. Run under the shared lock: flock /tmp/mail-lab/bench.lock node --import tsx scripts/bench-append.ts

import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { standardPorts } from '../services/core/ports.ts';
import { freePort, waitForPort } from './lib/bench.ts';

const bin = new URL('../bin/mailnest', import.meta.url).pathname;
const data = mkdtempSync(join(tmpdir(), 'mailnest-bench-append-'));
const count = Number(process.env.APPEND_COUNT ?? 200);
const password = 'amber-kettle-violin-42';
const reference = { host: '127.0.0.1', port: 11143, user: 'bench', password: 'secret' };

// One connection; `count` APPENDs of a 2 KB message, timed from the first to the last OK.
const driver = String.raw`
import imaplib, socket, sys, time
host, port, user, pw, n, nodelay = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], int(sys.argv[5]), sys.argv[6] == '1'
m = imaplib.IMAP4(host, port)
if nodelay:
    m.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
m.login(user, pw)
body = b"".join(b"line %04d of a message appended by bench-append, long enough to look like mail\r\n" % i for i in range(25))
msg = b"From: bench@lab.example\r\nTo: bench@lab.example\r\nSubject: append bench\r\n\r\n" + body
m.append('INBOX', None, None, msg)
start = time.perf_counter()
for i in range(n):
    typ, _ = m.append('INBOX', None, None, msg)
    if typ != 'OK':
        sys.exit('APPEND failed: %s' % typ)
print('%.3f' % ((time.perf_counter() - start) * 1000 / n))
m.logout()
`;

function cli(args: string[], input = ''): string {
  return execFileSync(bin, [...args, '--data', data], { input, encoding: 'utf8', stdio: ['pipe', 'pipe', 'inherit'] });
}

function msPerAppend(host: string, port: number, user: string, pass: string, nodelay: boolean): number | undefined {
  try {
    const out = execFileSync('python3', ['-c', driver, host, String(port), user, pass, String(count), nodelay ? '1' : '0'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 120_000 });
    return Number(out.trim());
  } catch (error) {
    console.log(`  (${host}:${port} did not answer: ${((error as { stderr?: string }).stderr ?? String(error)).trim().split('\n').pop()})`);
    return undefined;
  }
}

async function startServe(imapPort: number): Promise<ChildProcess> {
  const ports = Object.keys(standardPorts).flatMap((name) => ['--port', `${name}=${name === 'imap' ? imapPort : 0}`]);
  const serve = spawn(bin, ['serve', '--data', data, '--listen', '127.0.0.1', ...ports, '--log-level', 'warn'], { stdio: ['ignore', 'inherit', 'inherit'] });
  await waitForPort(imapPort);
  return serve;
}

const fmt = (value: number | undefined) => (value === undefined ? 'n/a' : value.toFixed(2));
const ratio = (a: number | undefined, b: number | undefined) => (a === undefined || b === undefined || b === 0 ? 'n/a' : (a / b).toFixed(2));

cli(['domain', 'add', 'lab.example']);
cli(['user', 'add', 'bench@lab.example', '--password-stdin'], password);
const imapPort = await freePort();
const serve = await startServe(imapPort);
try {
  const rows: [string, number | undefined, number | undefined][] = [];
  for (const nodelay of [false, true]) {
    const ours = msPerAppend('127.0.0.1', imapPort, 'bench@lab.example', password, nodelay);
    const theirs = msPerAppend(reference.host, reference.port, reference.user, reference.password, nodelay);
    rows.push([nodelay ? 'client TCP_NODELAY (storage path only)' : "imaplib as it is (Nagle on, CRLF apart)", ours, theirs]);
  }
  console.log(`APPEND of a 2 KB message from python3 imaplib, ${count} in a row on one connection (ms per APPEND; target ≤ 3 ms)`);
  console.log('client                                     mailnest   dovecot   ratio');
  for (const [name, ours, theirs] of rows) console.log(`${name.padEnd(42)} ${fmt(ours).padStart(8)} ${fmt(theirs).padStart(9)} ${ratio(ours, theirs).padStart(7)}`);
} finally {
  serve.kill('SIGTERM');
  await new Promise((resolve) => serve.on('exit', resolve));
  rmSync(data, { recursive: true, force: true });
}
