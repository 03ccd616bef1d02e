// Sealed secrets: the relay password is encrypted with a key kept apart from
// the database, so a copied mailnest.db alone does not give it away; the
// queue still logs in with it; a missing key is said, not guessed around.

import test from 'ava';
import { existsSync, lstatSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Store } from '../../services/store/index.ts';
import { SecretBox, SecretUnreadableError } from '../../services/store/secrets.ts';
import { fromAlice, startQueueServices, submit, until } from '../queue/helpers.ts';
import { cliOk, runCli } from '../helpers/cli.ts';
import { tempDataDir } from '../helpers/data-dir.ts';
import { startPeer } from '../helpers/smtp-peer.ts';

const relayPassword = 'isp-relay-passphrase-1';

/** The bytes of the database and its -wal and -shm, as SQLite left them. */
function databaseBytes(data: string): Buffer {
  return Buffer.concat(['mailnest.db', 'mailnest.db-wal', 'mailnest.db-shm'].map((name) => join(data, name)).filter(existsSync).map((path) => readFileSync(path)));
}

test('seal and open: the purpose is bound in, and a missing or other key is reported, never guessed around', (t) => {
  const dir = tempDataDir(t);
  const keyPath = join(dir, 'secrets.key');
  const box = new SecretBox(keyPath);
  t.false(existsSync(keyPath), 'no key before the first seal');
  const sealed = box.seal('hunter2 but long', 'relay password');
  t.true(SecretBox.isSealed(sealed));
  t.false(sealed.includes('hunter2'));
  t.not(box.seal('hunter2 but long', 'relay password'), sealed, 'a fresh nonce each time');
  t.is(lstatSync(keyPath).mode & 0o777, 0o600);
  t.is(new SecretBox(keyPath).open(sealed, 'relay password'), 'hunter2 but long', 'another instance (process) reads the same key');
  t.throws(() => box.open(sealed, 'fetch password'), { instanceOf: SecretUnreadableError, message: /not the key it was encrypted with/ });
  t.throws(() => box.open(`${sealed.slice(0, -4)}AAAA`, 'relay password'), { instanceOf: SecretUnreadableError });
  t.throws(() => box.open('sealed:v1:AAAA', 'relay password'), { message: /damaged/ });

  rmSync(keyPath);
  const fresh = new SecretBox(keyPath);
  t.throws(() => fresh.open(sealed, 'relay password'), { instanceOf: SecretUnreadableError, message: /secrets\.key, is missing/ });
  t.false(existsSync(keyPath), 'opening never makes a key');
  fresh.seal('x', 'relay password');
  t.throws(() => fresh.open(sealed, 'relay password'), { message: /not the key it was encrypted with \(was the key file replaced\?\)/ });
  writeFileSync(keyPath, 'short\n');
  t.throws(() => new SecretBox(keyPath).open(sealed, 'relay password'), { message: /secrets\.key is damaged/ });
});

test('relay set keeps the password out of the database; the queue logs in to the relay with it', async (t) => {
  const peer = await startPeer(t, { secure: true, login: { user: 'home@isp.test', pass: relayPassword } });
  const data = tempDataDir(t);
  await cliOk(['relay', 'set', `127.0.0.1:${peer.port}`, '--tls', '--user', 'home@isp.test', '--password-stdin', '--no-verify'], { data, stdin: `${relayPassword}\n` });
  t.false(databaseBytes(data).includes(relayPassword), 'the database does not hold the password');
  t.is(lstatSync(join(data, 'secrets.key')).mode & 0o777, 0o600);
  const env = await startQueueServices(t, { data });
  t.false(databaseBytes(data).includes(relayPassword));
  await submit(env, ['friend@far.test'], fromAlice('through the relay', 'friend@far.test'));
  await until(() => peer.received.length === 1, 'the message sent through the relay');
  t.is(peer.received[0]!.user, 'home@isp.test');
});

test('a database without its key file says what happened and how to fix it, keeps the mail queued, and relay set mends it', async (t) => {
  const peer = await startPeer(t, { secure: true, login: { user: 'home@isp.test', pass: relayPassword } });
  const data = tempDataDir(t);
  await cliOk(['relay', 'set', `127.0.0.1:${peer.port}`, '--tls', '--user', 'home@isp.test', '--password-stdin', '--no-verify'], { data, stdin: relayPassword });
  // A database copied without the rest of the folder.
  rmSync(join(data, 'secrets.key'));
  const shown = await runCli(['relay', 'show'], { data });
  t.is(shown.code, 0);
  t.regex(shown.stdout, /login home@isp\.test/);
  t.regex(shown.stderr, /^mailnest: the relay password cannot be read: the key it was encrypted with, .*secrets\.key, is missing .*; set it again: mailnest relay set 127\.0\.0\.1:\d+ --user home@isp\.test --password-stdin\n$/);
  t.is(JSON.parse(await cliOk(['relay', 'show', '--json'], { data })).password, '(unreadable)');

  const env = await startQueueServices(t, { data });
  const store = env.services.store;
  await submit(env, ['friend@far.test'], fromAlice('waits for the password', 'friend@far.test'));
  await until(() => /the relay password cannot be read: .*mailnest relay set/.test(store.outbound.list()[0]?.lastError ?? ''), 'the reason to be recorded');
  t.is(peer.received.length, 0, 'nothing is sent without the password');
  t.is(store.outbound.count(), 1, 'the mail stays queued');

  store.relay.set({ ...store.relay.get()!, password: relayPassword });
  store.outbound.retryNow();
  await until(() => peer.received.length === 1, 'the message sent once the password is set again');
});

test('a clear-text relay password from an older version is sealed at the next open, and leaves no trace in the database files', async (t) => {
  const data = tempDataDir(t);
  const old = Store.open(data);
  // What version 3 of the schema stored.
  old.db.prepare(`INSERT INTO relay (id, host, port, security, username, password, verify) VALUES (1, 'smtp.isp.test', 587, 'starttls', 'me', ?, 1)`).run(relayPassword);
  old.close();
  t.true(databaseBytes(data).includes(relayPassword), 'the fixture holds the clear text');
  t.false(existsSync(join(data, 'secrets.key')));

  // Checked while the store is open, before a close could checkpoint and clean up behind the upgrade.
  const store = Store.open(data);
  t.teardown(() => store.close());
  t.true(existsSync(join(data, 'secrets.key')));
  t.false(databaseBytes(data).includes(relayPassword), 'no copy of the clear text is left');
  t.is(store.relay.get()!.password, relayPassword);
  t.regex(await cliOk(['relay', 'show'], { data }), /smtp\.isp\.test:587 \(STARTTLS, login me\)/);
  t.true(SecretBox.isSealed(store.db.prepare('SELECT password FROM relay').pluck().get() as string));
});
