import test from 'ava';
import { Store } from '../../services/store/index.ts';
import { hashPassword } from '../../services/store/password.ts';
import { tempDataDir } from '../helpers/data-dir.ts';
import { testPassword } from '../helpers/accounts.ts';

function openStore(t: Parameters<typeof tempDataDir>[0]): Store {
  const store = Store.open(tempDataDir(t));
  t.teardown(() => store.close());
  store.domains.add('example.test');
  return store;
}

test('an account is stored with a normalised address and a hashed password', async (t) => {
  const store = openStore(t);
  const account = await store.accounts.add({ address: 'Alice@EXAMPLE.test', password: testPassword, quotaBytes: 1024, displayName: 'Alice' });
  t.is(account.address, 'alice@example.test');
  t.is(account.domain, 'example.test');
  t.is(account.quotaBytes, 1024);
  t.true(account.enabled);
  const row = store.db.prepare('SELECT password_hash FROM accounts WHERE id = ?').get(account.id) as { password_hash: string };
  t.regex(row.password_hash, /^\$scrypt\$ln=15,r=8,p=1\$/);
  t.false(row.password_hash.includes(testPassword));
});

test('authentication accepts the right password in any address spelling and refuses the rest', async (t) => {
  const store = openStore(t);
  await store.accounts.add({ address: 'alice@example.test', password: testPassword });
  t.is((await store.accounts.authenticate('ALICE@example.TEST', testPassword))?.address, 'alice@example.test');
  t.is(await store.accounts.authenticate('alice@example.test', 'wrong'), undefined);
  t.is(await store.accounts.authenticate('nobody@example.test', testPassword), undefined);
  t.is(await store.accounts.authenticate('not an address', testPassword), undefined);
  store.accounts.setEnabled('alice@example.test', false);
  t.is(await store.accounts.authenticate('alice@example.test', testPassword), undefined, 'a disabled account cannot log in');
});

test('a hash with weaker parameters is upgraded at the next successful login', async (t) => {
  const store = openStore(t);
  const account = await store.accounts.add({ address: 'alice@example.test', password: testPassword });
  store.db.prepare('UPDATE accounts SET password_hash = ? WHERE id = ?').run(await hashPassword(testPassword, { ln: 10, r: 8, p: 1 }), account.id);
  t.truthy(await store.accounts.authenticate('alice@example.test', testPassword));
  const row = store.db.prepare('SELECT password_hash FROM accounts WHERE id = ?').get(account.id) as { password_hash: string };
  t.regex(row.password_hash, /^\$scrypt\$ln=15,/);
  t.truthy(await store.accounts.authenticate('alice@example.test', testPassword));
});

test('bad new accounts are refused and change nothing', async (t) => {
  const store = openStore(t);
  await store.accounts.add({ address: 'alice@example.test', password: testPassword });
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
  await store.accounts.add({ address: 'alice@example.test', password: 'the old passphrase' });
  await store.accounts.add({ address: 'bob@example.test', password: testPassword });
  store.aliases.add('team@example.test', ['alice@example.test', 'bob@example.test']);
  await store.accounts.setPassword('alice@example.test', 'the new passphrase');
  t.falsy(await store.accounts.authenticate('alice@example.test', 'the old passphrase'));
  t.truthy(await store.accounts.authenticate('alice@example.test', 'the new passphrase'));
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
  await store.accounts.add({ address: 'b@example.test', password: testPassword });
  await store.accounts.add({ address: 'a@other.test', password: testPassword });
  t.deepEqual(store.accounts.list('example.test').map((a) => a.address), ['b@example.test']);
  t.deepEqual(store.accounts.list().map((a) => a.address), ['b@example.test', 'a@other.test']);
  t.throws(() => store.accounts.list('missing.test'), { message: /does not exist/ });
});

test('a domain with users cannot be removed; without users it goes with its aliases', async (t) => {
  const store = openStore(t);
  await store.accounts.add({ address: 'a@example.test', password: testPassword });
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

test('the password rule applies to new accounts and new passwords, never to logins with an older password', async (t) => {
  const store = openStore(t);
  const cases: [string, RegExp][] = [
    ['x', /too short: 1 character, at least 10/],
    ['nine char', /too short: 9 characters/],
    // Counted in code points: 18 bytes of UTF-8 are still 9 characters.
    ['ééééééééé', /too short: 9 characters/],
    // The same in decomposed form (e + combining accent) is 18 code points, but it is hashed in NFC.
    ['e\u0301'.repeat(9), /too short: 9 characters/],
    ['1234567890', /most common passwords/],
    ['QwertyUiop', /most common passwords/],
    ['Christopher.Robin@Example.test', /must not be the address/],
    ['christopher.ROBIN', /must not be the address/],
  ];
  for (const [password, message] of cases) {
    await t.throwsAsync(store.accounts.add({ address: 'christopher.robin@example.test', password }), { message }, password);
  }
  t.deepEqual(store.accounts.list(), []);
  // Nine letters and an emoji (two UTF-16 units) are ten characters.
  await store.accounts.add({ address: 'alice@example.test', password: 'ééééééééé🙂' });
  await t.throwsAsync(store.accounts.setPassword('alice@example.test', 'password123'), { message: /most common/ });
  // A hash made before the rule existed still lets its owner in.
  store.db.prepare('UPDATE accounts SET password_hash = ? WHERE address = ?').run(await hashPassword('pw', { ln: 10, r: 8, p: 1 }), 'alice@example.test');
  t.truthy(await store.accounts.authenticate('alice@example.test', 'pw'));
});
