import test from 'ava';
import { Store } from '../../services/store/index.ts';
import { tempDataDir } from '../helpers/data-dir.ts';
import { testPassword } from '../helpers/accounts.ts';

async function setup(t: Parameters<typeof tempDataDir>[0]): Promise<Store> {
  const store = Store.open(tempDataDir(t));
  t.teardown(() => store.close());
  store.domains.add('example.test');
  store.domains.add('other.test');
  await store.accounts.add({ address: 'alice@example.test', password: testPassword });
  await store.accounts.add({ address: 'bob@example.test', password: testPassword });
  await store.accounts.add({ address: 'carol@other.test', password: testPassword });
  return store;
}

function addresses(store: Store, address: string) {
  const r = store.recipients.resolve(address);
  return r.kind === 'local' ? { kind: r.kind, accounts: r.accounts.map((a) => a.address).sort(), external: r.external.sort() } : { kind: r.kind };
}

test('an account resolves to itself, in any spelling, and with a +tag', async (t) => {
  const store = await setup(t);
  t.deepEqual(addresses(store, 'Alice@Example.Test'), { kind: 'local', accounts: ['alice@example.test'], external: [] });
  t.deepEqual(addresses(store, 'alice+lists@example.test'), { kind: 'local', accounts: ['alice@example.test'], external: [] });
  t.deepEqual(addresses(store, 'alice+a+b@example.test'), { kind: 'local', accounts: ['alice@example.test'], external: [] });
});

test('unknown local addresses and remote domains are told apart', async (t) => {
  const store = await setup(t);
  t.deepEqual(addresses(store, 'nobody@example.test'), { kind: 'unknown' });
  t.deepEqual(addresses(store, 'nobody+tag@example.test'), { kind: 'unknown' });
  t.deepEqual(addresses(store, 'alice@remote.test'), { kind: 'remote' });
  // Routing syntax inside a local part is never interpreted as a relay path.
  t.deepEqual(addresses(store, 'alice%remote.test@example.test'), { kind: 'unknown' });
  t.deepEqual(addresses(store, 'remote.test!alice@example.test'), { kind: 'unknown' });
});

test('aliases expand to local accounts and external addresses, through other aliases', async (t) => {
  const store = await setup(t);
  store.aliases.add('family@example.test', ['alice@example.test', 'bob@example.test', 'grandma@remote.test']);
  store.aliases.add('all@example.test', ['family@example.test', 'carol@other.test']);
  t.deepEqual(addresses(store, 'family@example.test'), { kind: 'local', accounts: ['alice@example.test', 'bob@example.test'], external: ['grandma@remote.test'] });
  t.deepEqual(addresses(store, 'all+x@example.test'), { kind: 'local', accounts: ['alice@example.test', 'bob@example.test', 'carol@other.test'], external: ['grandma@remote.test'] });
});

test('a catch-all takes only addresses that exist nowhere else', async (t) => {
  const store = await setup(t);
  store.aliases.add('@example.test', ['bob@example.test']);
  t.deepEqual(addresses(store, 'alice@example.test'), { kind: 'local', accounts: ['alice@example.test'], external: [] });
  t.deepEqual(addresses(store, 'anything@example.test'), { kind: 'local', accounts: ['bob@example.test'], external: [] });
  t.deepEqual(addresses(store, 'nobody@other.test'), { kind: 'unknown' });
});

test('alias loops deliver once and end', async (t) => {
  const store = await setup(t);
  store.aliases.add('a@example.test', ['alice@example.test']);
  store.aliases.add('b@example.test', ['a@example.test']);
  store.aliases.add('a@example.test', ['b@example.test']);
  t.deepEqual(addresses(store, 'a@example.test'), { kind: 'local', accounts: ['alice@example.test'], external: [] });
});

test('a disabled account is reported apart from the ones that receive', async (t) => {
  const store = await setup(t);
  store.accounts.setEnabled('bob@example.test', false);
  const r = store.recipients.resolve('bob@example.test');
  t.is(r.kind, 'local');
  if (r.kind === 'local') {
    t.deepEqual(r.accounts, []);
    t.deepEqual(r.disabled.map((a) => a.address), ['bob@example.test']);
  }
});

test('alias rules: local destinations must exist, no self-loop, source not a user, domain must be local', async (t) => {
  const store = await setup(t);
  t.throws(() => store.aliases.add('x@example.test', ['typo@example.test']), { message: /neither a user nor an alias/ });
  t.throws(() => store.aliases.add('x@example.test', ['x@example.test']), { message: /itself/ });
  t.throws(() => store.aliases.add('alice@example.test', ['bob@example.test']), { message: /is a user/ });
  t.throws(() => store.aliases.add('x@remote.test', ['bob@example.test']), { message: /does not exist/ });
  t.throws(() => store.aliases.add('x@example.test', []), { message: /at least one/ });
  t.deepEqual(store.aliases.list(), []);
  const first = store.aliases.add('x@example.test', ['bob@example.test', 'BOB@example.test']);
  t.deepEqual(first.added, ['bob@example.test']);
  t.deepEqual(store.aliases.add('x@example.test', ['bob@example.test']).added, []);
  t.throws(() => store.aliases.remove('x@example.test', 'alice@example.test'), { message: /does not point at/ });
  t.is(store.aliases.remove('x@example.test'), 1);
  t.throws(() => store.aliases.remove('x@example.test'), { message: /no alias/ });
});

test('postmaster (with no domain, any case), postmaster@ and abuse@ of every local domain reach the first user without configuration', async (t) => {
  const store = await setup(t);
  const owner = { kind: 'local', accounts: ['alice@example.test'], external: [] };
  for (const address of ['postmaster', 'PostMaster', ' POSTMASTER ', 'postmaster@example.test', 'Postmaster@Other.Test', 'abuse@example.test', 'abuse@other.test', 'postmaster+dmarc@example.test']) {
    t.deepEqual(addresses(store, address), owner, address);
  }
  t.deepEqual(addresses(store, 'postmaster@remote.test'), { kind: 'remote' });
  t.deepEqual(addresses(store, 'hostmaster@example.test'), { kind: 'unknown' }, 'only the role addresses the RFCs require');
  // A catch-all does not take them: reports must reach a person of the box.
  store.aliases.add('@example.test', ['grandma@remote.test']);
  t.deepEqual(addresses(store, 'postmaster@example.test'), owner);
  t.deepEqual(store.recipients.builtInAliases().map((a) => [a.source, a.destinations]), [
    ['postmaster@example.test', ['alice@example.test']],
    ['abuse@example.test', ['alice@example.test']],
    ['postmaster@other.test', ['alice@example.test']],
    ['abuse@other.test', ['alice@example.test']],
  ]);
});

test('an alias or a user of the same name overrides a role address; the owner follows the setting and the enabled users', async (t) => {
  const store = await setup(t);
  store.aliases.add('postmaster@example.test', ['bob@example.test', 'admin@remote.test']);
  await store.accounts.add({ address: 'abuse@other.test', password: testPassword });
  t.deepEqual(addresses(store, 'postmaster@example.test'), { kind: 'local', accounts: ['bob@example.test'], external: ['admin@remote.test'] });
  t.deepEqual(addresses(store, 'abuse@other.test'), { kind: 'local', accounts: ['abuse@other.test'], external: [] });
  t.deepEqual(addresses(store, 'postmaster'), { kind: 'local', accounts: ['alice@example.test'], external: [] }, 'the bare form is always the owner');
  t.deepEqual(store.recipients.builtInAliases('example.test').map((a) => a.source), ['abuse@example.test']);

  store.settings.set('postmaster', 'carol@other.test');
  t.deepEqual(addresses(store, 'abuse@example.test'), { kind: 'local', accounts: ['carol@other.test'], external: [] });
  store.accounts.setEnabled('carol@other.test', false);
  store.accounts.setEnabled('alice@example.test', false);
  t.is(store.owner.find()?.address, 'bob@example.test', 'a disabled named user falls back to the first enabled user');
  store.owner.pin('alice@example.test');
  store.accounts.setEnabled('alice@example.test', true);
  store.settings.set('postmaster', 'carol@other.test');
  t.is(store.owner.find()?.address, 'alice@example.test', 'the serve process pins the value in effect at its start');
});

test('role addresses can be alias destinations, cannot be removed while built in, and let the owner send as them', async (t) => {
  const store = await setup(t);
  store.aliases.add('admins@example.test', ['postmaster@example.test']);
  t.deepEqual(addresses(store, 'admins@example.test'), { kind: 'local', accounts: ['alice@example.test'], external: [] });
  t.throws(() => store.aliases.remove('postmaster@example.test'), { message: /postmaster@example\.test is built in.*mailnest alias add postmaster@example\.test ADDRESS/ });
  const alice = store.accounts.get('alice@example.test');
  const bob = store.accounts.get('bob@example.test');
  t.true(store.recipients.maySendAs(alice, 'postmaster@example.test'));
  t.true(store.recipients.maySendAs(alice, 'abuse@other.test'));
  t.false(store.recipients.maySendAs(bob, 'postmaster@example.test'));
  t.false(store.recipients.maySendAs(alice, 'postmaster@remote.test'));
});

test('without an enabled user, postmaster is unknown', async (t) => {
  const store = Store.open(tempDataDir(t));
  t.teardown(() => store.close());
  store.domains.add('example.test');
  t.deepEqual(addresses(store, 'postmaster'), { kind: 'unknown' });
  t.deepEqual(addresses(store, 'postmaster@example.test'), { kind: 'unknown' });
  t.deepEqual(store.recipients.builtInAliases(), []);
});
