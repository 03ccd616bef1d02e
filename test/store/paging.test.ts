// Paged, searchable listing in the store: mailboxes (with the bytes each
// uses), aliases, domains and the outbound queue, with totals, offsets and
// limits, never loading the whole table.

import test from 'ava';
import { Readable } from 'node:stream';
import { createBodyAnalyzer } from '../../services/delivery/analyzer.ts';
import { Store } from '../../services/store/index.ts';
import { receiveBody } from '../../services/store/receive.ts';
import { testPassword } from '../helpers/accounts.ts';
import { tempDataDir } from '../helpers/data-dir.ts';
import { appendRaw, sample } from '../helpers/mail.ts';

async function setup(t: Parameters<typeof tempDataDir>[0]): Promise<Store> {
  const store = Store.open(tempDataDir(t));
  t.teardown(() => store.close());
  store.domains.add('example.test');
  store.domains.add('other.test');
  await store.accounts.add({ address: 'alice@example.test', password: testPassword, displayName: 'Alice Liddell' });
  await store.accounts.add({ address: 'bob@other.test', password: testPassword, displayName: 'Bob' });
  // Many more, made with alice's hash: scrypt for each would only slow the test down.
  const hash = store.db.prepare('SELECT password_hash FROM accounts WHERE address = ?').pluck().get('alice@example.test');
  const domainId = store.domains.get('example.test').id;
  const insert = store.db.prepare('INSERT INTO accounts (domain_id, address, password_hash, display_name, created_at) VALUES (?, ?, ?, ?, ?)');
  store.db.transaction(() => {
    for (let i = 0; i < 250; i += 1) insert.run(domainId, `user${String(i).padStart(3, '0')}@example.test`, hash, i % 50 === 0 ? 'Fifty' : '', Date.now());
  })();
  return store;
}

test('mailboxes: pages in address order with the total, searched in address and name, with the bytes used', async (t) => {
  const store = await setup(t);
  await appendRaw(store, 'alice@example.test', 'INBOX', sample(1));
  const first = store.accounts.page();
  t.is(first.total, 252);
  t.is(first.limit, 50);
  t.is(first.offset, 0);
  t.is(first.items.length, 50);
  t.is(first.items[0]!.address, 'alice@example.test');
  t.true(first.items[0]!.usedBytes > 0, 'alice’s message counts');
  t.is(first.items[1]!.usedBytes, 0);
  const last = store.accounts.page({ offset: 200, limit: 200 });
  t.is(last.items.length, 52);
  t.is(last.items.at(-1)!.address, 'bob@other.test', 'domains in order, then addresses');
  t.deepEqual(store.accounts.page({ query: 'USER24' }).items.map((a) => a.address), Array.from({ length: 10 }, (_, i) => `user24${i}@example.test`));
  t.is(store.accounts.page({ query: 'user24' }).total, 10);
  t.deepEqual(store.accounts.page({ query: 'liddell' }).items.map((a) => a.address), ['alice@example.test']);
  t.is(store.accounts.page({ query: 'fifty' }).total, 5);
  t.deepEqual(store.accounts.page({ domain: 'other.test' }).items.map((a) => a.address), ['bob@other.test']);
  t.is(store.accounts.page({ query: '%' }).total, 0, 'no wildcards in a search');
  t.is(store.accounts.page({ query: '_' }).total, 0);
});

test('bad paging is refused with what to give', async (t) => {
  const store = await setup(t);
  t.throws(() => store.accounts.page({ limit: 201 }), { message: 'limit must be a whole number from 1 to 200' });
  t.throws(() => store.accounts.page({ limit: 0 }), { message: /limit must be/ });
  t.throws(() => store.aliases.page({ offset: -1 }), { message: 'offset must be a whole number, 0 or more' });
  t.throws(() => store.outbound.page({ offset: 1.5 }), { message: /offset must be/ });
  t.throws(() => store.domains.page({ query: 'x'.repeat(321) }), { message: /too long/ });
});

test('aliases page by source, found by source or by any destination; domains by name', async (t) => {
  const store = await setup(t);
  for (let i = 0; i < 120; i += 1) store.aliases.add(`list${String(i).padStart(3, '0')}@example.test`, ['alice@example.test', ...(i % 40 === 0 ? ['grandma@remote.test'] : [])]);
  const page = store.aliases.page({ offset: 100, limit: 50 });
  t.is(page.total, 120);
  t.is(page.items.length, 20);
  t.is(page.items[0]!.source, 'list100@example.test');
  const withGrandma = store.aliases.page({ query: 'grandma' });
  t.deepEqual(withGrandma.items.map((a) => a.source), ['list000@example.test', 'list040@example.test', 'list080@example.test']);
  t.deepEqual(withGrandma.items[0]!.destinations, ['alice@example.test', 'grandma@remote.test'], 'every destination of a match, not only the matching one');
  t.deepEqual(store.domains.page({ query: 'OTHER' }).items.map((d) => d.name), ['other.test']);
  t.is(store.domains.page().total, 2);
});

test('the queue pages oldest first and is searched by recipient, sender, subject or id', async (t) => {
  const store = await setup(t);
  for (let i = 0; i < 60; i += 1) {
    const raw = `From: alice@example.test\r\nTo: x@remote.test\r\nSubject: ${i === 7 ? 'the invoice' : `note ${i}`}\r\n\r\nBody ${i}.\r\n`;
    const received = await receiveBody(store.mail.files, createBodyAnalyzer(), Readable.from([Buffer.from(raw)]));
    if (!received.ok) throw new Error('not received');
    store.mail.deliver(received.body, [], Date.now(), [{ sender: 'alice@example.test', recipient: `friend${i}@remote${i % 3}.test`, origin: 'submission' }]);
  }
  const page = store.outbound.page({ limit: 25, offset: 50 });
  t.is(page.total, 60);
  t.is(page.items.length, 10);
  t.is(page.items[0]!.recipient, 'friend50@remote2.test');
  t.is(store.outbound.page({ query: 'remote1.test' }).total, 20);
  t.deepEqual(store.outbound.page({ query: 'Invoice' }).items.map((r) => r.recipient), ['friend7@remote1.test']);
  const id = store.outbound.page({ query: 'friend9@' }).items[0]!.id;
  t.deepEqual(store.outbound.page({ query: String(id) }).items.map((r) => r.id).filter((found) => found === id), [id]);
});
