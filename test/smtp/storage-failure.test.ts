// A full disk and a read-only file system answer temporary failures (452 4.3.1,
// 451 4.3.0), keep nothing half-written, and the next message after the
// problem is fixed is delivered. These tests mount file systems, so they need
// root (as CI has).

import test from 'ava';
import { execFileSync } from 'node:child_process';
import { closeSync, openSync, readdirSync, statfsSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { tempDataDir } from '../helpers/data-dir.ts';
import { addFamily, startServices, type TestServices } from '../helpers/services.ts';
import { message, sendRaw } from '../helpers/smtp-client.ts';
import { mountTmpfs, requireRoot } from '../helpers/storage.ts';

test.serial.before((t) => requireRoot(t));

function inboxCount(env: TestServices): number {
  const store = env.services.store;
  return store.mail.findMailbox(store.accounts.get('alice@example.test').id, 'INBOX')!.messages;
}

function messageFiles(data: string): string[] {
  const root = join(data, 'messages');
  return readdirSync(root).flatMap((shard) => readdirSync(join(root, shard)));
}

test.serial('a full disk answers 452 4.3.1 and keeps nothing half-written', async (t) => {
  const data = tempDataDir(t);
  mountTmpfs(t, data, '12m');
  const env = await startServices(t, { data });
  await addFamily(env.services);
  t.true((await sendRaw(env.ports.smtp!, 's@remote.test', ['alice@example.test'], message('before', 'fits'))).ok);

  // Fill the file system, leaving about 96 KB.
  const filler = join(data, 'filler');
  const fd = openSync(filler, 'w');
  const block = Buffer.alloc(64 * 1024, 1);
  try {
    while (statfsSync(data).bavail * statfsSync(data).bsize > 96 * 1024 + block.length) writeSync(fd, block);
  } finally {
    closeSync(fd);
  }
  const files = messageFiles(data);
  const result = await sendRaw(env.ports.smtp!, 's@remote.test', ['alice@example.test'], message('too big for the disk', 'x'.repeat(76).concat('\r\n').repeat(4000)));
  t.false(result.ok);
  t.is(result.code, 452, result.response + env.logs.slice(-5).join('\n'));
  t.regex(result.response, /^452 4\.3\.1 Insufficient system storage/);
  t.is(inboxCount(env), 1);
  t.deepEqual(messageFiles(data), files, 'no new body file');
  t.deepEqual(readdirSync(join(data, 'tmp')), [], 'no partial file left in tmp/');

  unlinkSync(filler);
  const after = await sendRaw(env.ports.smtp!, 's@remote.test', ['alice@example.test'], message('after', 'x'.repeat(76).concat('\r\n').repeat(4000)));
  t.true(after.ok, after.response);
  t.is(inboxCount(env), 2);
});

test.serial('a read-only file system answers 451 4.3.0 and nothing is stored', async (t) => {
  const env = await startServices(t, { data: tempDataDir(t) });
  await addFamily(env.services);
  const tmp = join(env.data, 'tmp');
  execFileSync('mount', ['--bind', tmp, tmp]);
  let mounted = true;
  const unmount = () => {
    if (mounted) execFileSync('umount', [tmp]);
    mounted = false;
  };
  t.teardown(unmount);
  execFileSync('mount', ['-o', 'remount,bind,ro', tmp]);
  const result = await sendRaw(env.ports.smtp!, 's@remote.test', ['alice@example.test'], message('read-only', 'nowhere to write'));
  t.false(result.ok);
  t.is(result.code, 451);
  t.regex(result.response, /^451 4\.3\.0 Local error in processing \(storage unavailable\)/);
  t.is(inboxCount(env), 0);
  t.true(env.logs.some((l) => /could not store message" .*code=EROFS/.test(l)), env.logs.join('\n'));
  unmount();
  t.true((await sendRaw(env.ports.smtp!, 's@remote.test', ['alice@example.test'], message('writable again', 'ok'))).ok);
  t.is(inboxCount(env), 1);
});
