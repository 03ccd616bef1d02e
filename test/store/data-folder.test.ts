// The data folder is private: 0700 folders and 0600 files, after `mailnest
// serve` starts and after any CLI command, for a folder an older version or a
// person made with other modes, and for the files SQLite makes later.

import test from 'ava';
import { chmodSync, lstatSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Store } from '../../services/store/index.ts';
import { testPassword } from '../helpers/accounts.ts';
import { cliOk, startServe } from '../helpers/cli.ts';
import { tempDataDir } from '../helpers/data-dir.ts';
import { appendRaw, sample } from '../helpers/mail.ts';

function mode(path: string): number {
  return lstatSync(path).mode & 0o777;
}

/** Every folder and file under `root` (links not followed) that is not private, as "path mode". */
function notPrivate(root: string): string[] {
  const found: string[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      const stats = lstatSync(path);
      if (stats.isSymbolicLink()) continue;
      const want = stats.isDirectory() ? 0o700 : 0o600;
      if ((stats.mode & 0o777) !== want) found.push(`${path.slice(root.length)} ${(stats.mode & 0o777).toString(8)}`);
      if (stats.isDirectory()) walk(path);
    }
  };
  if (mode(root) !== 0o700) found.push(`/ ${mode(root).toString(8)}`);
  walk(root);
  return found;
}

/**
 * A data folder as an older Mailnest (or `mkdir var` and a restore) left it:
 * everything 0755 and 0644, with a domain, a user and a stored message.
 */
async function openFolder(t: Parameters<typeof tempDataDir>[0]): Promise<{ data: string; outside: string; body: string }> {
  const parent = tempDataDir(t);
  const data = join(parent, 'var');
  const store = Store.open(data);
  store.domains.add('example.test');
  await store.accounts.add({ address: 'alice@example.test', password: testPassword });
  await appendRaw(store, 'alice@example.test', 'INBOX', sample(1));
  const inbox = store.mail.findMailbox(store.accounts.get('alice@example.test').id, 'INBOX')!;
  const body = store.mail.files.absolute(store.mail.listMessages(inbox.id)[0]!.file);
  store.close();
  for (const dir of ['tls', 'dkim/example.test', 'run']) mkdirSync(join(data, dir), { recursive: true });
  writeFileSync(join(data, 'tls', 'key.pem'), 'not a real key\n');
  writeFileSync(join(data, 'dkim', 'example.test', 'rsa.pem'), 'not a real key\n');
  writeFileSync(join(data, 'run', 'supervisor.json'), '{}\n');
  // A link to a file elsewhere must not make Mailnest change that file.
  const outside = join(parent, 'outside.txt');
  writeFileSync(outside, 'not ours\n');
  chmodSync(outside, 0o644);
  symlinkSync(outside, join(data, 'link-to-outside'));
  const loosen = (dir: string) => {
    chmodSync(dir, 0o755);
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      const stats = lstatSync(path);
      if (stats.isSymbolicLink()) continue;
      if (stats.isDirectory()) loosen(path);
      else chmodSync(path, 0o644);
    }
  };
  loosen(data);
  t.true(notPrivate(data).length > 8, 'the fixture starts out readable by anyone');
  return { data, outside, body };
}

test('a CLI command makes a pre-existing 0755 folder with 0644 files private, and leaves what a link points at alone', async (t) => {
  const { data, outside } = await openFolder(t);
  t.regex(await cliOk(['domain', 'list'], { data }), /example\.test/);
  t.deepEqual(notPrivate(data), []);
  t.is(mode(outside), 0o644);
});

test('a CLI command that makes a new folder makes it private, with the database, its -wal and -shm', async (t) => {
  const data = join(tempDataDir(t), 'new');
  await cliOk(['domain', 'add', 'example.test'], { data });
  t.deepEqual(notPrivate(data), []);
  // The -wal and -shm exist while a connection is open; SQLite makes them with the database's mode.
  const store = Store.open(data);
  t.teardown(() => store.close());
  store.domains.add('other.test');
  t.is(mode(join(data, 'mailnest.db-wal')), 0o600);
  t.is(mode(join(data, 'mailnest.db-shm')), 0o600);
});

test('serve makes everything private at start, message bodies included, and what it creates later is private too', async (t) => {
  const { data, body } = await openFolder(t);
  const serve = startServe(data);
  t.teardown(() => serve.stop());
  await serve.waitFor(/ ready /);
  t.deepEqual(notPrivate(data), [], serve.output());
  t.is(mode(body), 0o600);
  t.is(mode(join(data, 'mailnest.db-wal')), 0o600);
  t.is(mode(join(data, 'serve.pid')), 0o600);
  t.true(readdirSync(join(data, 'tls')).length > 0);
  t.is(await serve.stop(), 0);

  // A body left 0644 in a folder that is private already: only the serve start looks at every body.
  chmodSync(body, 0o644);
  await cliOk(['user', 'list'], { data });
  t.is(mode(body), 0o644, 'CLI commands do not walk every message body of a private folder');
  const again = startServe(data);
  t.teardown(() => again.stop());
  await again.waitFor(/ ready /);
  t.is(mode(body), 0o600);
  t.deepEqual(notPrivate(data), []);
  t.is(readFileSync(body, 'utf8'), sample(1));
});
