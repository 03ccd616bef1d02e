// The admin API over real HTTPS against a real ServicesProcess: domains,
// mailboxes (made, changed, reset, disabled, removed) proven with real IMAP
// logins, aliases, forwarding, the queue with a real queued message and a
// peer server, the relay (whose password never comes back), transports, and
// the system page from the health report and run/supervisor.json.

import test from 'ava';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkNewPassword } from '../../services/store/password-rule.ts';
import { testPassword } from '../helpers/accounts.ts';
import { imapClient, imapLoginWorks } from '../helpers/imap-client.ts';
import { message, sendRaw } from '../helpers/smtp-client.ts';
import { startPeer } from '../helpers/smtp-peer.ts';
import { setUpWebBox } from '../helpers/web-box.ts';
import { until } from '../hw/until.ts';
import { fromAlice, submit } from '../queue/helpers.ts';

test('a mailbox made over the API with a generated password logs in over IMAP; the answer holds the client settings once', async (t) => {
  const box = await setUpWebBox(t);
  const admin = await box.signedIn('admin');
  const made = await admin.post('/api/admin/mailboxes', { address: 'Carol@Example.Test', displayName: 'Carol', quotaBytes: 1048576 });
  t.is(made.status, 200, made.text);
  t.like(made.body.mailbox, { address: 'carol@example.test', displayName: 'Carol', domain: 'example.test', enabled: true, quotaBytes: 1048576, usedBytes: 0 });
  const password = made.body.password as string;
  t.regex(password, /^[a-z]{6}-[a-z]{6}-[a-z]{6}-\d{2}$/);
  await t.notThrowsAsync(checkNewPassword(password, 'carol@example.test'));
  t.deepEqual(made.body.client, {
    address: 'carol@example.test',
    username: 'carol@example.test',
    imap: { host: 'mx.example.test', port: box.ports.imaps, security: 'tls' },
    pop3: { host: 'mx.example.test', port: box.ports.pop3s, security: 'tls' },
    smtp: { host: 'mx.example.test', port: box.ports.submissions, security: 'tls' },
  });
  const imap = await imapClient(t, made.body.client.imap.port, 'carol@example.test', password, { secure: true });
  t.truthy((await imap.mailboxOpen('INBOX')).exists !== undefined);
  // A password given is not sent back; a weak one is refused naming the field; a duplicate says so.
  const given = await admin.post('/api/admin/mailboxes', { address: 'dave@example.test', password: testPassword });
  t.is(given.status, 200);
  t.false('password' in given.body);
  const weak = await admin.post('/api/admin/mailboxes', { address: 'erin@example.test', password: 'password123' });
  t.is(weak.status, 400);
  t.is(weak.body.error.field, 'password');
  const twice = await admin.post('/api/admin/mailboxes', { address: 'carol@example.test' });
  t.is(twice.status, 400);
  t.is(twice.body.error.field, 'address');
  t.regex(twice.body.error.message, /already exists/);
  const nowhere = await admin.post('/api/admin/mailboxes', { address: 'x@unknown.test' });
  t.regex(nowhere.body.error.message, /domain unknown\.test does not exist/);
});

test('mailboxes are paged and searched over the API, with the bytes each uses', async (t) => {
  const box = await setUpWebBox(t);
  const store = box.services.store;
  const hash = store.db.prepare('SELECT password_hash FROM accounts WHERE address = ?').pluck().get('alice@example.test');
  const insert = store.db.prepare('INSERT INTO accounts (domain_id, address, password_hash, created_at) VALUES (?, ?, ?, ?)');
  const domainId = store.domains.get('example.test').id;
  for (let i = 0; i < 120; i += 1) insert.run(domainId, `member${String(i).padStart(3, '0')}@example.test`, hash, Date.now());
  t.true((await sendRaw(box.ports.smtp!, 'sender@remote.test', ['bob@example.test'], message('for bob', 'Some bytes.'))).ok);
  const admin = await box.signedIn('admin');
  const first = await admin.get('/api/admin/mailboxes');
  t.like(first.body, { total: 122, offset: 0, limit: 50 });
  t.is(first.body.items.length, 50);
  t.is(first.body.items[0].address, 'alice@example.test');
  t.is(first.body.items[1].address, 'bob@example.test');
  t.true(first.body.items[1].usedBytes > 0);
  t.regex(first.body.items[0].createdAt, /^\d{4}-\d\d-\d\dT/);
  const page = await admin.get('/api/admin/mailboxes?offset=100&limit=200');
  t.is(page.body.items.length, 22);
  t.is(page.body.items[0].address, 'member098@example.test');
  const found = await admin.get('/api/admin/mailboxes?query=MEMBER11');
  t.is(found.body.total, 10);
  t.deepEqual(found.body.items.map((m: { address: string }) => m.address).slice(0, 2), ['member110@example.test', 'member111@example.test']);
  const tooMany = await admin.get('/api/admin/mailboxes?limit=500');
  t.is(tooMany.status, 400);
  t.is(tooMany.body.error.field, 'limit');
  t.is((await admin.get('/api/admin/mailboxes?domain=nowhere.test')).body.error.field, 'domain');
});

test('password reset, disable and enable, quota and name: IMAP and the web follow at once', async (t) => {
  const box = await setUpWebBox(t);
  const admin = await box.signedIn('admin');
  const bob = await box.signedIn('bob@example.test');
  const reset = await admin.post('/api/admin/mailboxes/bob%40example.test/password', {});
  t.is(reset.status, 200, reset.text);
  const newPassword = reset.body.password as string;
  t.false(await imapLoginWorks(box.ports.imaps!, 'bob@example.test', testPassword), 'the old password no longer works');
  t.true(await imapLoginWorks(box.ports.imaps!, 'bob@example.test', newPassword));
  t.is((await bob.get('/api/me')).status, 401, 'a reset signs bob out of the web');
  const chosen = await admin.post('/api/admin/mailboxes/bob@example.test/password', { password: testPassword });
  t.deepEqual(chosen.body, {});
  t.true(await imapLoginWorks(box.ports.imaps!, 'bob@example.test', testPassword));

  const alice = await box.signedIn('alice@example.test');
  const disabled = await admin.request('PATCH', '/api/admin/mailboxes/alice@example.test', { json: { enabled: false } });
  t.is(disabled.status, 200, disabled.text);
  t.false(disabled.body.mailbox.enabled);
  t.false(await imapLoginWorks(box.ports.imaps!, 'alice@example.test', testPassword), 'a disabled mailbox cannot log in over IMAP');
  t.is((await alice.get('/api/me')).status, 401, 'nor keep its web session');
  t.is((await box.browser().post('/api/session', { username: 'alice@example.test', password: testPassword })).status, 401);
  const refused = await sendRaw(box.ports.smtp!, 'sender@remote.test', ['alice@example.test'], message('to a disabled box', 'x'));
  t.is(refused.code, 550);
  await admin.request('PATCH', '/api/admin/mailboxes/alice@example.test', { json: { enabled: true } });
  t.true(await imapLoginWorks(box.ports.imaps!, 'alice@example.test', testPassword));

  const changed = await admin.request('PATCH', '/api/admin/mailboxes/alice@example.test', { json: { quotaBytes: 2097152, displayName: 'Alice L.' } });
  t.like(changed.body.mailbox, { quotaBytes: 2097152, displayName: 'Alice L.' });
  const me = await (await box.signedIn('alice@example.test')).get('/api/me');
  t.deepEqual(me.body.quota, { usedBytes: 0, limitBytes: 2097152 });
  t.is(me.body.displayName, 'Alice L.');
  const nothing = await admin.request('PATCH', '/api/admin/mailboxes/alice@example.test', { json: {} });
  t.is(nothing.status, 400);
  const badQuota = await admin.request('PATCH', '/api/admin/mailboxes/alice@example.test', { json: { quotaBytes: -1 } });
  t.is(badQuota.body.error.field, 'quotaBytes');
  t.is((await admin.request('PATCH', '/api/admin/mailboxes/nobody@example.test', { json: { enabled: true } })).status, 404);
});

test('domains: added with DKIM and its DNS records, refused while it has mailboxes, removed with its aliases', async (t) => {
  const box = await setUpWebBox(t);
  const admin = await box.signedIn('admin');
  const added = await admin.post('/api/admin/domains', { name: 'Family.Test' });
  t.is(added.status, 200, added.text);
  t.like(added.body.domain, { name: 'family.test', users: 0 });
  const dns = await admin.get('/api/admin/domains/family.test/dns');
  t.is(dns.body.domain, 'family.test');
  t.is(dns.body.hostname, 'mx.example.test');
  const types = new Set((dns.body.records as { type: string }[]).map((r) => r.type));
  for (const type of ['MX', 'TXT', 'SRV']) t.true(types.has(type), type);
  t.regex(JSON.stringify(dns.body.records), /v=DKIM1/);
  const list = await admin.get('/api/admin/domains?query=family');
  t.deepEqual(list.body.items.map((d: { name: string }) => d.name), ['family.test']);
  t.is((await admin.post('/api/admin/domains', { name: 'family.test' })).status, 400);
  t.is((await admin.delete('/api/admin/domains/example.test')).status, 409);
  t.is((await admin.get('/api/admin/domains/none.test/dns')).status, 404);
  await admin.post('/api/admin/aliases', { source: 'all@family.test', destinations: ['alice@example.test'] });
  const removed = await admin.delete('/api/admin/domains/family.test');
  t.deepEqual(removed.body, { removed: 'family.test', aliasesRemoved: 1 });
});

test('aliases over the API: made, found by destination, a destination removed, the built-in ones shown', async (t) => {
  const box = await setUpWebBox(t);
  const admin = await box.signedIn('admin');
  const made = await admin.post('/api/admin/aliases', { source: 'family@example.test', destinations: ['alice@example.test', 'bob@example.test', 'grandma@remote.test'] });
  t.deepEqual(made.body, { alias: { source: 'family@example.test', destinations: ['alice@example.test', 'bob@example.test', 'grandma@remote.test'] }, added: ['alice@example.test', 'bob@example.test', 'grandma@remote.test'] });
  await admin.post('/api/admin/aliases', { source: 'info@example.test', destinations: ['bob@example.test'] });
  const typo = await admin.post('/api/admin/aliases', { source: 'x@example.test', destinations: ['nobody@example.test'] });
  t.is(typo.status, 400);
  t.regex(typo.body.error.message, /nobody@example\.test .*add it first/);
  const grandma = await admin.get('/api/admin/aliases?query=grandma');
  t.deepEqual(grandma.body.items.map((a: { source: string }) => a.source), ['family@example.test']);
  t.is(grandma.body.total, 1);
  const all = await admin.get('/api/admin/aliases');
  t.is(all.body.total, 2);
  t.deepEqual(all.body.builtIn.map((a: { source: string }) => a.source).sort(), ['abuse@example.test', 'postmaster@example.test']);
  const one = await admin.delete('/api/admin/aliases/family@example.test?destination=grandma@remote.test');
  t.deepEqual(one.body, { removed: 1 });
  t.deepEqual(box.services.store.aliases.get('family@example.test')?.destinations, ['alice@example.test', 'bob@example.test']);
  t.deepEqual((await admin.delete('/api/admin/aliases/family@example.test')).body, { removed: 2 });
  t.is((await admin.delete('/api/admin/aliases/family@example.test')).status, 404);
});

test('forwarding set by the admin is what SMTP delivers; bad forwarding names the field', async (t) => {
  const box = await setUpWebBox(t);
  const admin = await box.signedIn('admin');
  const set = await admin.put('/api/admin/mailboxes/alice@example.test/forwarding', { to: ['bob@example.test'], keepCopy: false });
  t.deepEqual(set.body, { to: ['bob@example.test'], keepCopy: false });
  t.deepEqual((await admin.get('/api/admin/mailboxes/alice@example.test/forwarding')).body, { to: ['bob@example.test'], keepCopy: false });
  t.true((await sendRaw(box.ports.smtp!, 'sender@remote.test', ['alice@example.test'], message('for alice', 'Forwarded to bob.'))).ok);
  const bob = await imapClient(t, box.ports.imap!, 'bob@example.test');
  t.is((await bob.mailboxOpen('INBOX')).exists, 1);
  const alice = await imapClient(t, box.ports.imap!, 'alice@example.test');
  t.is((await alice.mailboxOpen('INBOX')).exists, 0);
  const bad = await admin.put('/api/admin/mailboxes/alice@example.test/forwarding', { to: ['nobody@example.test'] });
  t.is(bad.status, 400);
  t.is(bad.body.error.field, 'to');
  t.is((await admin.put('/api/admin/mailboxes/alice@example.test/forwarding', { to: 'bob@example.test' })).body.error.field, 'to');
});

test('the queue: a real queued message is listed and searched, retried (delivered to the peer), and deleted', async (t) => {
  const box = await setUpWebBox(t, { queue: { timings: { retryBaseMs: 10 * 60_000, pollMs: 200, connectTimeoutMs: 2000 } } });
  const admin = await box.signedIn('admin');
  // A transport to a port nobody listens on: the first attempt fails and the row waits ten minutes.
  const closed = await startPeer(t);
  await closed.close();
  t.is((await admin.put('/api/admin/transports/remote.test', { destination: `127.0.0.1:${closed.port}` })).status, 200);
  await submit(box, ['friend@remote.test'], fromAlice('waiting in the queue'));
  await submit(box, ['other@remote.test'], fromAlice('another one'));
  await until(() => box.services.store.outbound.page().items.every((row) => row.attempts >= 1), 'both first attempts to fail');
  const listed = await admin.get('/api/admin/queue?query=waiting');
  t.is(listed.body.total, 1);
  const item = listed.body.items[0];
  t.like(item, { sender: 'alice@example.test', recipient: 'friend@remote.test', subject: 'waiting in the queue', origin: 'submission', attempts: 1 });
  t.truthy(item.lastError);
  t.true(Date.parse(item.nextAttemptAt) > Date.now() + 60_000, 'it waits for its backoff');

  const peer = await startPeer(t);
  t.deepEqual((await admin.put('/api/admin/transports/remote.test', { destination: `127.0.0.1:${peer.port}` })).body, { transport: { domain: 'remote.test', host: '127.0.0.1', port: peer.port } });
  t.deepEqual((await admin.get('/api/admin/transports')).body.items, [{ domain: 'remote.test', host: '127.0.0.1', port: peer.port }]);
  const retried = await admin.post(`/api/admin/queue/${item.id}/retry`);
  t.deepEqual(retried.body, { retried: 1 });
  await until(() => peer.received.length === 1, 'the retried message at the peer');
  t.deepEqual(peer.received[0]!.to, ['friend@remote.test']);
  await until(() => box.services.store.outbound.count() === 1, 'the sent row to be settled');

  const other = (await admin.get('/api/admin/queue')).body.items[0];
  t.is(other.recipient, 'other@remote.test');
  t.deepEqual((await admin.delete(`/api/admin/queue/${other.id}`)).body, { removed: 1 });
  t.is((await admin.get('/api/admin/queue')).body.total, 0);
  t.is((await admin.delete(`/api/admin/queue/${other.id}`)).status, 404);
  t.is((await admin.post('/api/admin/queue/abc/retry')).status, 400);
  t.deepEqual((await admin.post('/api/admin/queue/retry')).body, { retried: 0 });
  t.deepEqual((await admin.delete('/api/admin/transports/remote.test')).body, { removed: 'remote.test' });
  t.is((await admin.delete('/api/admin/transports/remote.test')).status, 404);
  t.is((await admin.put('/api/admin/transports/remote.test', { destination: 'not a host:99999' })).body.error.field, 'destination');
});

test('the relay: set, read back without its password (kept when the user name is unchanged), validated, removed; presets listed', async (t) => {
  const box = await setUpWebBox(t);
  const admin = await box.signedIn('admin');
  const secret = 'relay-secret-Zq8-wk3';
  const set = await admin.put('/api/admin/relay', { host: 'SMTP.Provider.Test', port: 587, security: 'starttls', username: 'me@provider.test', password: secret });
  t.is(set.status, 200, set.text);
  t.deepEqual(set.body, { relay: { host: 'smtp.provider.test', port: 587, security: 'starttls', username: 'me@provider.test', verify: true, passwordSet: true } });
  t.false(set.text.includes(secret));
  const got = await admin.get('/api/admin/relay');
  t.false(got.text.includes(secret), 'the password never comes back');
  t.deepEqual(got.body, set.body);
  t.is(box.services.store.relay.get()?.password, secret);
  const moved = await admin.put('/api/admin/relay', { host: 'smtp2.provider.test', port: 465, security: 'tls', username: 'me@provider.test' });
  t.is(moved.status, 200, moved.text);
  t.is(box.services.store.relay.get()?.password, secret, 'the same user keeps the stored password');
  const otherUser = await admin.put('/api/admin/relay', { host: 'smtp2.provider.test', security: 'tls', username: 'someone@provider.test' });
  t.is(otherUser.status, 400);
  t.is(otherUser.body.error.field, 'password');
  t.is((await admin.put('/api/admin/relay', { host: 'smtp.provider.test', security: 'ssl' })).body.error.field, 'security');
  t.is((await admin.put('/api/admin/relay', { host: 'bad host!', security: 'tls' })).body.error.field, 'host');
  t.is((await admin.put('/api/admin/relay', { host: 'smtp.provider.test', port: 70000, security: 'tls' })).body.error.field, 'port');
  t.is((await admin.put('/api/admin/relay', { host: 'smtp.provider.test', security: 'tls', password: 'x' })).body.error.field, 'username');
  const noLogin = await admin.put('/api/admin/relay', { host: 'relay.isp.test', security: 'starttls' });
  t.deepEqual(noLogin.body.relay, { host: 'relay.isp.test', port: 587, security: 'starttls', username: null, verify: true, passwordSet: false });
  t.deepEqual((await admin.delete('/api/admin/relay')).body, { removed: true });
  t.deepEqual((await admin.get('/api/admin/relay')).body, { relay: null });
  const presets = await admin.get('/api/admin/relay/presets');
  const byId = new Map((presets.body.presets as { id: string; host: string; port: number; security: string; note: string }[]).map((p) => [p.id, p]));
  for (const id of ['gmail', 'outlook', 'fastmail', 'icloud', 'mailbox-org', 'gmx', 'posteo', 'brevo', 'smtp2go', 'generic']) t.true(byId.has(id), id);
  t.like(byId.get('gmail'), { host: 'smtp.gmail.com', port: 587, security: 'starttls' });
  t.regex(byId.get('gmail')!.note, /app password/);
});

test('the system page: service states and uptime from the health report, LED, sensors and state from run/supervisor.json', async (t) => {
  const box = await setUpWebBox(t);
  const admin = await box.signedIn('admin');
  const bare = await admin.get('/api/admin/system');
  t.is(bare.status, 200, bare.text);
  t.is(bare.body.supervisor, null, 'no supervisor runs in this test');
  t.is(bare.body.led, null);
  t.true(bare.body.memory.totalBytes > 0);
  t.true(bare.body.uptime.boxSeconds > 0);
  t.true((bare.body.services as { name: string; state: string }[]).some((s) => s.name === 'imap' && s.state === 'running'));
  t.is(bare.body.disk.database.state, 'ok');
  // What the firmware writes (firmware/report.ts), trimmed to the fields the page shows.
  writeFileSync(
    join(box.data, 'run', 'supervisor.json'),
    JSON.stringify({
      state: 'degraded',
      led: 'degraded',
      reasons: ['the data disk is 93% full'],
      hardware: 'simulated',
      services: { pid: 1, startedAt: null, restarts: 2, lastRestart: { at: '2026-12-01T10:00:00.000Z', reason: 'probe failed' }, lastProbe: null },
      watchdog: { description: '/dev/watchdog (timeout 30 s)', timeoutSeconds: 30, petting: true },
      sensors: {
        data: { mount: '/data', usedPercent: 93, availableBytes: 1000, sizeBytes: 100000, readOnly: false },
        disks: [{ mount: '/data', device: '/dev/sda1', usedPercent: 93, availableBytes: 1000, readOnly: false }],
        memory: { totalBytes: 4_000_000_000, availableBytes: 3_000_000_000 },
        load: { avg1: 0.5, avg5: 0.4, avg15: 0.3 },
        temperatureC: 51.5,
        throttling: null,
        smart: [{ device: '/dev/sda', passed: true, detail: 'PASSED' }],
        readAt: new Date().toISOString(),
      },
      updated: new Date().toISOString(),
    }),
  );
  const report = await admin.get('/api/admin/system');
  t.is(report.body.led, 'degraded');
  t.is(report.body.temperatureC, 51.5);
  t.deepEqual(report.body.memory.totalBytes, 4_000_000_000);
  t.like(report.body.disk.data, { usedPercent: 93 });
  t.deepEqual(report.body.disk.smart, [{ device: '/dev/sda', passed: true, detail: 'PASSED' }]);
  t.like(report.body.supervisor, { state: 'degraded', reasons: ['the data disk is 93% full'], restarts: 2, stale: false });
});

test('a mail user gets 403 from every admin route; the admin gets 403 from /api/me; nobody signed in gets 401', async (t) => {
  const box = await setUpWebBox(t);
  const alice = await box.signedIn('alice@example.test');
  const admin = await box.signedIn('admin');
  const anonymous = box.browser();
  const adminRoutes: [string, string][] = [
    ['GET', '/api/admin/domains'],
    ['POST', '/api/admin/domains'],
    ['DELETE', '/api/admin/domains/example.test'],
    ['GET', '/api/admin/domains/example.test/dns'],
    ['GET', '/api/admin/mailboxes'],
    ['POST', '/api/admin/mailboxes'],
    ['PATCH', '/api/admin/mailboxes/bob@example.test'],
    ['DELETE', '/api/admin/mailboxes/bob@example.test'],
    ['POST', '/api/admin/mailboxes/bob@example.test/password'],
    ['GET', '/api/admin/mailboxes/bob@example.test/forwarding'],
    ['PUT', '/api/admin/mailboxes/bob@example.test/forwarding'],
    ['GET', '/api/admin/aliases'],
    ['POST', '/api/admin/aliases'],
    ['DELETE', '/api/admin/aliases/x@example.test'],
    ['GET', '/api/admin/queue'],
    ['POST', '/api/admin/queue/1/retry'],
    ['POST', '/api/admin/queue/retry'],
    ['DELETE', '/api/admin/queue/1'],
    ['GET', '/api/admin/relay'],
    ['PUT', '/api/admin/relay'],
    ['DELETE', '/api/admin/relay'],
    ['GET', '/api/admin/relay/presets'],
    ['GET', '/api/admin/transports'],
    ['PUT', '/api/admin/transports/remote.test'],
    ['DELETE', '/api/admin/transports/remote.test'],
    ['GET', '/api/admin/system'],
  ];
  for (const [method, path] of adminRoutes) {
    const asUser = await alice.request(method, path, { json: method === 'GET' ? undefined : { password: 'x', to: ['alice@example.test'] } });
    t.is(asUser.status, 403, `${method} ${path} as a user`);
    t.is(asUser.body.error.code, 'forbidden');
    const unsigned = await anonymous.request(method, path, method === 'GET' ? {} : { json: {} });
    t.is(unsigned.status, 401, `${method} ${path} signed out`);
  }
  t.is(box.services.store.accounts.find('bob@example.test')?.enabled, true, 'nothing was changed');
  for (const [method, path] of [['GET', '/api/me'], ['POST', '/api/me/password'], ['PUT', '/api/me/forwarding']] as const) {
    t.is((await admin.request(method, path, { json: method === 'GET' ? undefined : {} })).status, 403, `${method} ${path} as the admin`);
  }
});
