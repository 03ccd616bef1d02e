// Durability, observed at the system calls (issue 12, item 10): a `250` after
// DATA is written to the socket only after the body file was fsynced, renamed
// into messages/, its folder fsynced, and the SQLite commit naming it fsynced
// (WAL, synchronous=FULL). strace, attached to a real `mailnest serve`, records
// the calls; removing any of the syncs (or weakening the PRAGMA) fails this
// test, where a PRAGMA check alone would not notice.

import test from 'ava';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { cliOk, startServe } from '../helpers/cli.ts';
import { tempDataDir } from '../helpers/data-dir.ts';
import { message, sendRaw } from '../helpers/smtp-client.ts';

interface Call {
  name: string;
  text: string;
}

/**
 * The completed calls of an `strace -f -y` log in the order they returned
 * (each step of a delivery awaits the one before, so return order is causal).
 * A call cut by another thread's line ("<unfinished ...>") completes at its
 * "<... name resumed>" line.
 */
function completedCalls(log: string): Call[] {
  const pending = new Map<string, string>();
  const calls: Call[] = [];
  for (const line of log.split('\n')) {
    const match = /^(\d+)\s+(.*)$/.exec(line);
    if (!match) continue;
    const [, pid, rest] = match as unknown as [string, string, string];
    if (rest.endsWith('<unfinished ...>')) {
      pending.set(pid, rest.slice(0, -'<unfinished ...>'.length));
      continue;
    }
    const resumed = /^<\.\.\. (\w+) resumed>(.*)$/.exec(rest);
    const text = resumed ? (pending.get(pid) ?? '') + resumed[2] : rest;
    if (resumed) pending.delete(pid);
    const name = /^(\w+)\(/.exec(text)?.[1];
    if (name) calls.push({ name, text });
  }
  return calls;
}

test('a 250 is sent only after body fsync, rename, folder fsync and the fsynced commit, in that order', async (t) => {
  const data = tempDataDir(t);
  const scratch = tempDataDir(t, 'mailnest-trace-');
  await cliOk(['domain', 'add', 'example.test'], { data });
  await cliOk(['user', 'add', 'alice@example.test', '--password-stdin'], { data, stdin: 'a long enough passphrase' });
  const serve = startServe(data);
  t.teardown(() => serve.stop('SIGKILL'));
  const [, port] = await serve.waitFor(/info smtp listening addr=127\.0\.0\.1:(\d+)/);
  await serve.waitFor(/ ready /);

  const traceFile = join(scratch, 'trace.txt');
  const strace = spawn('strace', ['-f', '-y', '-s', '64', '-e', 'trace=fsync,fdatasync,rename,renameat,renameat2,write,writev', '-o', traceFile, '-p', String(serve.child.pid)], { stdio: ['ignore', 'ignore', 'pipe'] });
  const detached = new Promise<void>((resolve) => strace.on('exit', () => resolve()));
  t.teardown(() => strace.kill('SIGKILL'));
  await new Promise<void>((resolve, reject) => {
    let stderr = '';
    const timer = setTimeout(() => reject(new Error(`strace did not attach: ${stderr}`)), 20_000);
    strace.stderr!.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      if (/attached/.test(stderr)) {
        clearTimeout(timer);
        resolve();
      }
    });
    strace.on('error', reject);
  });

  // Three in a row: the first write of a process may sync the WAL for reasons of its own (a new WAL header).
  for (const n of [1, 2, 3]) {
    const result = await sendRaw(Number(port), 's@remote.test', ['alice@example.test'], message(`durable ${n}`, 'body '.repeat(2000)));
    t.true(result.ok, result.response);
  }
  strace.kill('SIGINT');
  await detached;

  const calls = completedCalls(readFileSync(traceFile, 'utf8'));
  const find = (what: string, test: (call: Call) => boolean, after = -1) => {
    const index = calls.findIndex((call, i) => i > after && test(call));
    t.true(index >= 0, `${what}, after call ${after}; calls: ${calls.filter((c) => c.name !== 'write' || /socket/.test(c.text)).map((c) => c.text).join('\n')}`);
    return index;
  };
  let after = -1;
  for (const n of [1, 2, 3]) {
    const bodySync = find(`message ${n}: fsync of the spool file`, (c) => /^f(data)?sync\(\d+<[^>]*\/tmp\/[0-9a-f]+\.tmp>\)/.test(c.text), after);
    const name = /\/tmp\/([0-9a-f]+)\.tmp>/.exec(calls[bodySync]!.text)![1]!;
    const shard = name.slice(0, 2);
    const rename = find(`message ${n}: rename into messages/`, (c) => c.name.startsWith('rename') && c.text.includes(`/tmp/${name}.tmp`) && c.text.includes(`/messages/${shard}/${name}.eml`), bodySync);
    const folderSync = find(`message ${n}: fsync of the shard folder`, (c) => new RegExp(`^fsync\\(\\d+<[^>]*/messages/${shard}>\\)`).test(c.text), rename);
    const commit = find(`message ${n}: fsync of the WAL after the rename`, (c) => /^f(data)?sync\(\d+<[^>]*\/mailnest\.db-wal>\)/.test(c.text), folderSync);
    after = find(`message ${n}: the 250 on the socket after the commit`, (c) => /^writev?\(\d+<(TCP|socket)/.test(c.text) && c.text.includes('250 2.0.0 Ok: delivered'), commit);
  }
});
