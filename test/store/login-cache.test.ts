// The login cache (services/store/login-cache.ts) through AccountsTable.authenticate
// on a real temporary database: a repeated good login skips scrypt, a wrong one
// never hits, any password change or a disabled/removed account makes the entry
// useless, and scrypt never runs more than scryptConcurrency at once. Scrypt work
// is observed through scryptActivity's counters, never through timing; those
// tests are serial because the counters belong to the whole process.

import test from 'ava';
import { VerifiedLogins } from '../../services/store/login-cache.ts';
import { Store } from '../../services/store/index.ts';
import { scryptActivity, scryptConcurrency } from '../../services/store/password.ts';
import { tempDataDir } from '../helpers/data-dir.ts';
import { testPassword } from '../helpers/accounts.ts';

const otherPassword = 'marble-otter-517';

async function storeWithAlice(t: Parameters<typeof tempDataDir>[0]): Promise<{ store: Store; dir: string }> {
  const dir = tempDataDir(t);
  const store = Store.open(dir);
  t.teardown(() => store.close());
  store.domains.add('example.test');
  await store.accounts.add({ address: 'alice@example.test', password: testPassword });
  return { store, dir };
}

test.serial('a repeated good login does not run scrypt again', async (t) => {
  const { store } = await storeWithAlice(t);
  t.truthy(await store.accounts.authenticate('alice@example.test', testPassword));
  const runs = scryptActivity.runs;
  t.is((await store.accounts.authenticate('ALICE@example.test', testPassword))?.address, 'alice@example.test');
  t.truthy(await store.accounts.authenticate('alice@example.test', testPassword));
  t.is(scryptActivity.runs, runs, 'no scrypt for the second and third login');
  t.is(store.accounts.verifiedLogins.counts.hits, 2);
});

test.serial('a wrong password after a good one fails and is checked by scrypt', async (t) => {
  const { store } = await storeWithAlice(t);
  t.truthy(await store.accounts.authenticate('alice@example.test', testPassword));
  const runs = scryptActivity.runs;
  t.is(await store.accounts.authenticate('alice@example.test', 'sesame-tulip-43'), undefined);
  t.is(await store.accounts.authenticate('alice@example.test', testPassword.toUpperCase()), undefined);
  t.is(scryptActivity.runs, runs + 2, 'each wrong password paid scrypt');
  t.is(await store.accounts.authenticate('alice@example.test', ''), undefined, 'an empty one is refused before scrypt');
  t.is(store.accounts.verifiedLogins.counts.hits, 0);
  t.truthy(await store.accounts.authenticate('alice@example.test', testPassword), 'the good one still hits afterwards');
  t.is(scryptActivity.runs, runs + 2);
});

test.serial('a password change in this process drops the entry; the old password fails', async (t) => {
  const { store } = await storeWithAlice(t);
  t.truthy(await store.accounts.authenticate('alice@example.test', testPassword));
  await store.accounts.setPassword('alice@example.test', otherPassword);
  t.is(store.accounts.verifiedLogins.size, 0);
  t.is(await store.accounts.authenticate('alice@example.test', testPassword), undefined);
  t.truthy(await store.accounts.authenticate('alice@example.test', otherPassword));
});

test.serial('a password changed by another process (as `mailnest user passwd`) makes the old entry miss', async (t) => {
  const { store, dir } = await storeWithAlice(t);
  t.truthy(await store.accounts.authenticate('alice@example.test', testPassword));
  // A second connection with its own AccountsTable: it cannot reach the first one's cache.
  const cli = Store.open(dir, { create: false });
  await cli.accounts.setPassword('alice@example.test', otherPassword);
  cli.close();
  t.is(store.accounts.verifiedLogins.size, 1, 'the serving process still holds the entry');
  const runs = scryptActivity.runs;
  t.is(await store.accounts.authenticate('alice@example.test', testPassword), undefined);
  t.is(scryptActivity.runs, runs + 1, 'the old password was checked by scrypt against the new hash');
  t.truthy(await store.accounts.authenticate('alice@example.test', otherPassword));
});

test.serial('a disabled or removed account cannot log in with a cached password', async (t) => {
  const { store, dir } = await storeWithAlice(t);
  t.truthy(await store.accounts.authenticate('alice@example.test', testPassword));
  store.accounts.setEnabled('alice@example.test', false);
  t.is(store.accounts.verifiedLogins.size, 0);
  t.is(await store.accounts.authenticate('alice@example.test', testPassword), undefined);
  store.accounts.setEnabled('alice@example.test', true);
  t.truthy(await store.accounts.authenticate('alice@example.test', testPassword));
  // Disabled by another process: the entry is still here, the row refuses.
  const cli = Store.open(dir, { create: false });
  cli.accounts.setEnabled('alice@example.test', false);
  t.is(store.accounts.verifiedLogins.size, 1);
  t.is(await store.accounts.authenticate('alice@example.test', testPassword), undefined);
  cli.accounts.setEnabled('alice@example.test', true);
  t.truthy(await store.accounts.authenticate('alice@example.test', testPassword));
  cli.accounts.remove('alice@example.test');
  cli.close();
  t.is(await store.accounts.authenticate('alice@example.test', testPassword), undefined);
  // A new account of the same address (perhaps the same row id) has a new hash: no hit.
  await store.accounts.add({ address: 'alice@example.test', password: otherPassword });
  t.is(await store.accounts.authenticate('alice@example.test', testPassword), undefined);
  store.accounts.remove('alice@example.test');
  t.is(store.accounts.verifiedLogins.size, 0);
});

test.serial('ten logins at once run at most scryptConcurrency scrypt computations together', async (t) => {
  const { store } = await storeWithAlice(t);
  await store.accounts.add({ address: 'bob@example.test', password: otherPassword });
  scryptActivity.peak = 0;
  const runs = scryptActivity.runs;
  const attempts = Array.from({ length: 10 }, (_, i) =>
    i % 2 === 0 ? store.accounts.authenticate('alice@example.test', testPassword) : store.accounts.authenticate('bob@example.test', 'wrong-password-' + i),
  );
  t.true(scryptActivity.waiting > 0, 'logins past the bound wait for a slot');
  const results = await Promise.all(attempts);
  t.deepEqual(results.map((r) => r?.address), results.map((_, i) => (i % 2 === 0 ? 'alice@example.test' : undefined)));
  t.is(scryptActivity.runs, runs + 10, 'all ten started cold, so each ran scrypt');
  t.is(scryptActivity.peak, scryptConcurrency, 'never more than the bound, and the bound was used');
  t.is(scryptActivity.running, 0);
  t.is(scryptActivity.waiting, 0);
});

test('entries expire after their TTL, and the oldest goes when the cache is full', (t) => {
  let now = 1_000;
  const cache = new VerifiedLogins({ ttlMs: 60_000, maxEntries: 2, now: () => now });
  cache.remember(1, '$scrypt$a', 'pw-one');
  t.true(cache.has(1, '$scrypt$a', 'pw-one'));
  t.false(cache.has(1, '$scrypt$b', 'pw-one'), 'another stored hash');
  t.false(cache.has(2, '$scrypt$a', 'pw-one'), 'another account');
  now += 59_999;
  t.true(cache.has(1, '$scrypt$a', 'pw-one'), 'a hit does not extend the entry, but it has not expired yet');
  now += 1;
  t.false(cache.has(1, '$scrypt$a', 'pw-one'), 'expired');
  t.is(cache.size, 0);
  cache.remember(1, 'h', 'a');
  cache.remember(2, 'h', 'b');
  cache.remember(3, 'h', 'c');
  t.is(cache.size, 2);
  t.false(cache.has(1, 'h', 'a'));
  t.true(cache.has(3, 'h', 'c'));
});

test('passwords equal in NFC hit the same entry', (t) => {
  const cache = new VerifiedLogins();
  cache.remember(7, 'h', 'caf\u00e9-secret');
  t.true(cache.has(7, 'h', 'cafe\u0301-secret'));
  t.false(cache.has(7, 'h', 'cafe-secret'));
});
