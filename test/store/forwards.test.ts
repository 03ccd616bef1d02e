// Per-mailbox forwarding in the store: what it accepts, and what the resolver
// makes of it (copies kept or not, local and outside destinations, loops).

import test from 'ava';
import { Store } from '../../services/store/index.ts';
import { tempDataDir } from '../helpers/data-dir.ts';
import { testPassword } from '../helpers/accounts.ts';

async function setup(t: Parameters<typeof tempDataDir>[0]): Promise<Store> {
  const store = Store.open(tempDataDir(t));
  t.teardown(() => store.close());
  store.domains.add('example.test');
  for (const user of ['alice', 'bob', 'carol']) await store.accounts.add({ address: `${user}@example.test`, password: testPassword });
  return store;
}

function resolved(store: Store, address: string) {
  const r = store.recipients.resolve(address);
  if (r.kind !== 'local') return { kind: r.kind };
  return { accounts: r.accounts.map((a) => a.address).sort(), external: r.external.sort(), forwarded: r.forwarded.sort() };
}

test('a mailbox forwards outside without a copy, or with one; the outside copy is marked as forwarded', async (t) => {
  const store = await setup(t);
  t.deepEqual(store.forwards.get('alice@example.test'), { to: [], keepCopy: true });
  t.deepEqual(store.forwards.set('Alice@Example.Test', { to: ['Me@Elsewhere.Test'], keepCopy: false }), { to: ['me@elsewhere.test'], keepCopy: false });
  t.deepEqual(resolved(store, 'alice@example.test'), { accounts: [], external: ['me@elsewhere.test'], forwarded: ['me@elsewhere.test'] });
  t.deepEqual(resolved(store, 'alice+news@example.test'), { accounts: [], external: ['me@elsewhere.test'], forwarded: ['me@elsewhere.test'] });
  store.forwards.set('alice@example.test', { to: ['me@elsewhere.test'], keepCopy: true });
  t.deepEqual(resolved(store, 'alice@example.test'), { accounts: ['alice@example.test'], external: ['me@elsewhere.test'], forwarded: ['me@elsewhere.test'] });
  t.deepEqual(store.forwards.clear('alice@example.test'), { to: [], keepCopy: true });
  t.deepEqual(resolved(store, 'alice@example.test'), { accounts: ['alice@example.test'], external: [], forwarded: [] });
});

test('a forward to a local address is delivered locally, through that address’s own forwarding', async (t) => {
  const store = await setup(t);
  store.forwards.set('alice@example.test', { to: ['bob@example.test'], keepCopy: false });
  t.deepEqual(resolved(store, 'alice@example.test'), { accounts: ['bob@example.test'], external: [], forwarded: [] });
  store.forwards.set('bob@example.test', { to: ['carol@example.test', 'bob@remote.test'], keepCopy: false });
  t.deepEqual(resolved(store, 'alice@example.test'), { accounts: ['carol@example.test'], external: ['bob@remote.test'], forwarded: ['bob@remote.test'] });
  // A local address that only a catch-all takes reaches the catch-all's target, as mail sent to it would.
  store.domains.add('other.test');
  t.throws(() => store.forwards.set('carol@example.test', { to: ['anyone@other.test'] }), { message: /reaches nobody/ });
  store.aliases.add('@other.test', ['carol@example.test']);
  store.forwards.set('alice@example.test', { to: ['anyone@other.test'], keepCopy: false });
  t.deepEqual(resolved(store, 'alice@example.test'), { accounts: ['carol@example.test'], external: [], forwarded: [] });
  store.forwards.set('alice@example.test', { to: ['bob@example.test'], keepCopy: false });
  // An alias to a forwarding mailbox follows the forward; its own outside destinations stay unmarked.
  store.aliases.add('family@example.test', ['alice@example.test', 'grandma@remote.test']);
  t.deepEqual(resolved(store, 'family@example.test'), { accounts: ['carol@example.test'], external: ['bob@remote.test', 'grandma@remote.test'], forwarded: ['bob@remote.test'] });
});

test('loops are bounded and never lose the mail: the mailbox whose forward leads back keeps a copy', async (t) => {
  const store = await setup(t);
  store.forwards.set('alice@example.test', { to: ['bob@example.test'], keepCopy: false });
  store.forwards.set('bob@example.test', { to: ['alice@example.test'], keepCopy: false });
  t.deepEqual(resolved(store, 'alice@example.test'), { accounts: ['bob@example.test'], external: [], forwarded: [] });
  t.deepEqual(resolved(store, 'bob@example.test'), { accounts: ['alice@example.test'], external: [], forwarded: [] });
  // Through an alias that points back.
  store.forwards.clear('bob@example.test');
  store.aliases.add('loop@example.test', ['carol@example.test']);
  store.forwards.set('carol@example.test', { to: ['loop@example.test'], keepCopy: false });
  t.deepEqual(resolved(store, 'carol@example.test'), { accounts: ['carol@example.test'], external: [], forwarded: [] });
  // A chain deeper than the limit ends in a kept copy too.
  store.forwards.clear('alice@example.test');
  store.forwards.clear('carol@example.test');
  for (let i = 0; i < 12; i += 1) await store.accounts.add({ address: `hop${i}@example.test`, password: testPassword });
  for (let i = 0; i < 11; i += 1) store.forwards.set(`hop${i}@example.test`, { to: [`hop${i + 1}@example.test`], keepCopy: false });
  const deep = resolved(store, 'hop0@example.test');
  t.is((deep as { accounts: string[] }).accounts.length, 1);
  t.notDeepEqual(deep, { accounts: ['hop11@example.test'], external: [], forwarded: [] }, 'the chain stops before its end');
});

test('a forward to a disabled mailbox keeps the copy; a disabled mailbox neither receives nor forwards', async (t) => {
  const store = await setup(t);
  store.forwards.set('alice@example.test', { to: ['bob@example.test'], keepCopy: false });
  store.accounts.setEnabled('bob@example.test', false);
  t.deepEqual(resolved(store, 'alice@example.test'), { accounts: ['alice@example.test'], external: [], forwarded: [] });
  store.accounts.setEnabled('bob@example.test', true);
  store.forwards.set('bob@example.test', { to: ['out@remote.test'], keepCopy: false });
  store.accounts.setEnabled('bob@example.test', false);
  const r = store.recipients.resolve('bob@example.test');
  t.true(r.kind === 'local' && r.accounts.length === 0 && r.external.length === 0 && r.disabled.length === 1);
});

test('forwarding is checked: no unknown local address, not itself, at most ten, addresses parsed', async (t) => {
  const store = await setup(t);
  t.throws(() => store.forwards.set('alice@example.test', { to: ['nobody@example.test'] }), { message: /nobody@example\.test is in a local domain but reaches nobody/ });
  t.throws(() => store.forwards.set('alice@example.test', { to: ['alice@example.test'] }), { message: /cannot forward to itself/ });
  t.throws(() => store.forwards.set('alice@example.test', { to: ['not an address'] }), { message: /not an email address/ });
  t.throws(() => store.forwards.set('alice@example.test', { to: Array.from({ length: 11 }, (_, i) => `x${i}@remote.test`) }), { message: /at most 10/ });
  t.throws(() => store.forwards.set('nobody@example.test', { to: ['x@remote.test'] }), { message: /does not exist/ });
  // A tagged local address and a role address reach someone.
  t.deepEqual(store.forwards.set('alice@example.test', { to: ['bob+from-alice@example.test', 'postmaster@example.test', 'bob+from-alice@example.test'], keepCopy: true }).to, ['bob+from-alice@example.test', 'postmaster@example.test']);
  t.deepEqual(store.forwards.get('alice@example.test'), { to: ['bob+from-alice@example.test', 'postmaster@example.test'], keepCopy: true });
  t.deepEqual(store.forwards.set('alice@example.test', { to: [], keepCopy: false }), { to: [], keepCopy: true }, 'forwarding nowhere keeps the mail');
});

test('removing a mailbox removes its forwarding and every forward to it; forwarding does not let the target send as the source', async (t) => {
  const store = await setup(t);
  store.forwards.set('alice@example.test', { to: ['bob@example.test', 'a@remote.test'], keepCopy: false });
  store.forwards.set('carol@example.test', { to: ['alice@example.test'], keepCopy: true });
  t.false(store.recipients.maySendAs(store.accounts.get('bob@example.test'), 'alice@example.test'));
  store.accounts.remove('alice@example.test');
  t.deepEqual(store.forwards.get('carol@example.test'), { to: [], keepCopy: true });
  t.is(store.db.prepare('SELECT count(*) FROM account_forwards').pluck().get(), 0);
});
