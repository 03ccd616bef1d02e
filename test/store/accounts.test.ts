import test from 'ava';
import { Store } from '../../services/store/index.ts';
import { hashPassword } from '../../services/store/password.ts';
import { tempDataDir } from '../helpers/data-dir.ts';

function openStore(t: Parameters<typeof tempDataDir>[0]): Store {
  const store = Store.open(tempDataDir(t));
  t.teardown(() => store.close());
  store.domains.add('example.test');
  return store;
}

test('an account is stored with a normalised address and a hashed password', async (t) => {
  const store = openStore(t);
  const account = await store.accounts.add({ address: 'Alice@EXAMPLE.test', password: 's3cret', quotaBytes: 1024, displayName: 'Alice' });
  t.is(account.address, 'alice@example.test');
  t.is(account.domain, 'example.test');
  t.is(account.quotaBytes, 1024);
  t.true(account.enabled);
  const row = store.db.prepare('SELECT password_hash FROM accounts WHERE id = ?').get(account.id) as { password_hash: string };
  t.regex(row.password_hash, /^\$scrypt\$ln=15,r=8,p=1\$/);
  t.false(row.password_hash.includes('s3cret'));
});

test('authentication accepts the right password in any address spelling and refuses the rest', async (t) => {
  const store = openStore(t);
  await store.accounts.add({ address: 'alice@example.test', password: 's3cret' });
  t.is((await store.accounts.authenticate('ALICE@example.TEST', 's3cret'))?.address, 'alice@example.test');
  t.is(await store.accounts.authenticate('alice@example.test', 'wrong'), undefined);
  t.is(await store.accounts.authenticate('nobody@example.test', 's3cret'), undefined);
  t.is(await store.accounts.authenticate('not an address', 's3cret'), undefined);
  store.accounts.setEnabled('alice@example.test', false);
  t.is(await store.accounts.authenticate('alice@example.test', 's3cret'), undefined, 'a disabled account cannot log in');
});

test('a hash with weaker parameters is upgraded at the next successful login', async (t) => {
  const store = openStore(t);
  const account = await store.accounts.add({ address: 'alice@example.test', password: 's3cret' });
  store.db.prepare('UPDATE accounts SET password_hash = ? WHERE id = ?').run(await hashPassword('s3cret', { ln: 10, r: 8, p: 1 }), account.id);
  t.truthy(await store.accounts.authenticate('alice@example.test', 's3cret'));
  const row = store.db.prepare('SELECT password_hash FROM accounts WHERE id = ?').get(account.id) as { password_hash: string };
  t.regex(row.password_hash, /^\$scrypt\$ln=15,/);
  t.truthy(await store.accounts.authenticate('alice@example.test', 's3cret'));
});

test('bad new accounts are refused and change nothing', async (t) => {
  const store = openStore(t);
  await store.accounts.add({ address: 'alice@example.test', password: 'pw' });
  await store.aliases.add('info@example.test', ['alice@example.test']);
  const cases: [string, string, RegExp][] = [
    ['alice@example.test', 'pw', /already exists/],
    ['ALICE@example.test', 'pw', /already exists/],
    ['bob@elsewhere.test', 'pw', /domain elsewhere\.test does not exist/],
    ['bob', 'pw', /no @/],
    ['bob@example.test', '', /password is empty/],
    ['bob+x@example.test', 'pw', /kept for tags/],
    ['info@example.test', 'pw', /already an alias/],
  ];
  for (const [address, password, message] of cases) {
    await t.throwsAsync(store.accounts.add({ address, password }), { message }, address);
  }
  await t.throwsAsync(store.accounts.add({ address: 'bob@example.test', password: 'pw', quotaBytes: -1 }), { message: /quota/ });
  t.deepEqual(store.accounts.list().map((a) => a.address), ['alice@example.test']);
});

test('password, quota and enabled can be changed; remove deletes the account and aliases pointing at it', async (t) => {
  const store = openStore(t);
  await store.accounts.add({ address: 'alice@example.test', password: 'old' });
  await store.accounts.add({ address: 'bob@example.test', password: 'pw' });
  store.aliases.add('team@example.test', ['alice@example.test', 'bob@example.test']);
  await store.accounts.setPassword('alice@example.test', 'new');
  t.falsy(await store.accounts.authenticate('alice@example.test', 'old'));
  t.truthy(await store.accounts.authenticate('alice@example.test', 'new'));
  t.is(store.accounts.setQuota('alice@example.test', 5 * 1024 ** 2).quotaBytes, 5 * 1024 ** 2);
  t.throws(() => store.accounts.setQuota('alice@example.test', 1.5), { message: /whole number/ });
  store.accounts.remove('alice@example.test');
  t.is(store.accounts.find('alice@example.test'), undefined);
  t.deepEqual(store.aliases.get('team@example.test')?.destinations, ['bob@example.test']);
  t.throws(() => store.accounts.remove('alice@example.test'), { message: /does not exist/ });
});

test('listing by domain shows only that domain, and an unknown domain is an error', async (t) => {
  const store = openStore(t);
  store.domains.add('other.test');
  await store.accounts.add({ address: 'b@example.test', password: 'pw' });
  await store.accounts.add({ address: 'a@other.test', password: 'pw' });
  t.deepEqual(store.accounts.list('example.test').map((a) => a.address), ['b@example.test']);
  t.deepEqual(store.accounts.list().map((a) => a.address), ['b@example.test', 'a@other.test']);
  t.throws(() => store.accounts.list('missing.test'), { message: /does not exist/ });
});

test('a domain with users cannot be removed; without users it goes with its aliases', async (t) => {
  const store = openStore(t);
  await store.accounts.add({ address: 'a@example.test', password: 'pw' });
  store.aliases.add('@example.test', ['someone@external.test']);
  t.throws(() => store.domains.remove('example.test'), { message: /still has 1 user/ });
  t.is(store.domains.list().length, 1);
  store.accounts.remove('a@example.test');
  t.deepEqual(store.domains.remove('example.test'), { aliasesRemoved: 1 });
  t.deepEqual(store.domains.list(), []);
  t.throws(() => store.domains.add('-bad-'), { message: /not/ });
  store.domains.add('example.test');
  t.throws(() => store.domains.add('EXAMPLE.test'), { message: /already exists/ });
});
