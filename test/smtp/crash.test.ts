// A serve process is SIGKILLed in the middle of a stream of deliveries. After a
// restart every message that got a 250 is there byte for byte, nothing partial
// is visible, and the store opens cleanly.

import test from 'ava';
import Database from 'better-sqlite3';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { cliOk, startServe } from '../helpers/cli.ts';
import { tempDataDir } from '../helpers/data-dir.ts';
import { sendRaw } from '../helpers/smtp-client.ts';

function rawMessage(n: number): Buffer {
  // 64–320 KB, so that the kill often lands while bodies are being written.
  const line = `message ${n} ${'abcdefghijklmnopqrstuvwxyz0123456789'.repeat(2)}\r\n`;
  const body = line.repeat(800 + ((n * 37) % 3200));
  return Buffer.from(`From: s@remote.test\r\nTo: alice@example.test\r\nSubject: crash ${n}\r\nMessage-ID: <crash-${n}@remote.test>\r\n\r\n${body}`);
}

test('SIGKILL during deliveries loses no acknowledged message and leaves nothing partial', async (t) => {
  const data = tempDataDir(t);
  await cliOk(['domain', 'add', 'example.test'], { data });
  await cliOk(['user', 'add', 'alice@example.test', '--password-stdin'], { data, stdin: 'sesame-tulip-42' });

  const serve = startServe(data, ['--port', 'smtp=0', '--port', 'http=0']);
  t.teardown(() => serve.stop('SIGKILL'));
  const [, port] = await serve.waitFor(/info smtp listening addr=127\.0\.0\.1:(\d+)/);

  const acknowledged = new Map<number, Buffer>();
  const attempted = new Map<number, Buffer>();
  let next = 0;
  let killed = false;
  const sender = async () => {
    while (!killed && next < 400) {
      const n = next++;
      const raw = rawMessage(n);
      attempted.set(n, raw);
      const result = await sendRaw(Number(port), 's@remote.test', ['alice@example.test'], raw);
      if (result.ok) acknowledged.set(n, raw);
      if (!killed && acknowledged.size >= 30) {
        killed = true;
        serve.child.kill('SIGKILL');
      }
    }
  };
  await Promise.all([sender(), sender(), sender(), sender()]);
  await serve.stop('SIGKILL');
  t.true(killed, 'the server was killed while clients were sending');
  t.true(acknowledged.size >= 30);
  t.true(attempted.size > acknowledged.size, 'some deliveries were cut off by the kill');

  // The store opens cleanly on restart, and the restart sweeps leftovers.
  const restarted = startServe(data, ['--port', 'smtp=0', '--port', 'http=0']);
  t.teardown(() => restarted.stop('SIGKILL'));
  await restarted.waitFor(/ ready /);
  t.is(await restarted.stop('SIGTERM'), 0, restarted.output());

  const db = new Database(join(data, 'mailnest.db'), { readonly: true });
  t.teardown(() => db.close());
  t.is(db.pragma('integrity_check', { simple: true }), 'ok');
  const rows = db
    .prepare(`SELECT m.uid, m.size, b.file, b.message_id FROM messages m JOIN bodies b ON b.id = m.body_id JOIN mailboxes x ON x.id = m.mailbox_id WHERE x.name = 'INBOX' ORDER BY m.uid`)
    .all() as { uid: number; size: number; file: string; message_id: string }[];
  const byNumber = new Map<number, { file: string; size: number }>();
  for (const row of rows) {
    const n = Number(/crash-(\d+)@/.exec(row.message_id)![1]);
    t.false(byNumber.has(n), `message ${n} is stored once`);
    byNumber.set(n, row);
  }
  for (const [n, raw] of acknowledged) {
    const row = byNumber.get(n);
    t.truthy(row, `acknowledged message ${n} is present`);
    if (!row) continue;
    const bytes = readFileSync(join(data, 'messages', row.file));
    t.true(bytes.subarray(bytes.length - raw.length).equals(raw), `message ${n} byte for byte`);
  }
  // Nothing partial: every row's file is whole; every file has a row; tmp/ is empty.
  for (const [n, row] of byNumber) {
    const bytes = readFileSync(join(data, 'messages', row.file));
    t.is(bytes.length, row.size);
    const raw = attempted.get(n)!;
    t.true(bytes.subarray(bytes.length - raw.length).equals(raw), `stored message ${n} is whole`);
  }
  const files = readdirSync(join(data, 'messages')).flatMap((shard) => (statSync(join(data, 'messages', shard)).isDirectory() ? readdirSync(join(data, 'messages', shard)).map((f) => `${shard}/${f}`) : []));
  t.deepEqual(files.sort(), rows.map((r) => r.file).sort());
  t.deepEqual(existsSync(join(data, 'tmp')) ? readdirSync(join(data, 'tmp')) : [], []);
  t.deepEqual(rows.map((r) => r.uid), [...rows.map((r) => r.uid)].sort((a, b) => a - b));
});
