// Self-service over real HTTPS: a mail user sees their own quota use,
// forwarding and client settings, changes their password (proven over IMAP)
// and their forwarding (proven over SMTP), and nothing of anyone else's.

import test from 'ava';
import { testPassword } from '../helpers/accounts.ts';
import { imapClient, imapLoginWorks } from '../helpers/imap-client.ts';
import { message, sendRaw } from '../helpers/smtp-client.ts';
import { setUpWebBox } from '../helpers/web-box.ts';
import { until } from '../hw/until.ts';

test('GET /api/me: the user’s own address, quota use, forwarding and the card a phone needs', async (t) => {
  const box = await setUpWebBox(t);
  box.services.store.accounts.setQuota('alice@example.test', 10 * 1024 * 1024);
  t.true((await sendRaw(box.ports.smtp!, 'sender@remote.test', ['alice@example.test'], message('quota use', 'Counted.'))).ok);
  const alice = await box.signedIn('Alice@Example.Test');
  const me = await alice.get('/api/me');
  t.is(me.status, 200, me.text);
  t.is(me.body.address, 'alice@example.test');
  t.is(me.body.quota.limitBytes, 10 * 1024 * 1024);
  t.true(me.body.quota.usedBytes > 0);
  t.is(me.body.quota.usedBytes, box.services.store.mail.usage(box.services.store.accounts.get('alice@example.test').id).usedBytes);
  t.deepEqual(me.body.forwarding, { to: [], keepCopy: true });
  t.deepEqual(me.body.client, {
    address: 'alice@example.test',
    username: 'alice@example.test',
    imap: { host: 'mx.example.test', port: box.ports.imaps, security: 'tls' },
    pop3: { host: 'mx.example.test', port: box.ports.pop3s, security: 'tls' },
    smtp: { host: 'mx.example.test', port: box.ports.submissions, security: 'tls' },
  });
  // The host follows the hostname setting as stored now (the wizard may change it while the box runs).
  box.services.store.settings.set('hostname', 'mail.family.test');
  t.is((await alice.get('/api/me')).body.client.imap.host, 'mail.family.test');
});

test('changing the password: a wrong current one is refused, recorded as an auth event, and slows the next try', async (t) => {
  const box = await setUpWebBox(t);
  const alice = await box.signedIn('alice@example.test');
  const failures: string[] = [];
  box.services.authEvents.onFailure((event) => failures.push(`${event.service}:${event.username}:${event.reason}`));
  const wrong = await alice.post('/api/me/password', { current: 'not my password', password: 'river-lantern-oak-77' });
  t.is(wrong.status, 403);
  t.is(wrong.body.error.field, 'current');
  t.deepEqual(failures, ['web:alice@example.test:bad-password']);
  // One wrong try is free (a typo); from the second on, each makes the next wait longer.
  t.is((await alice.post('/api/me/password', { current: 'still not it', password: 'river-lantern-oak-77' })).status, 403);
  t.is(failures.length, 2);
  const slowed = await alice.post('/api/me/password', { current: testPassword, password: 'river-lantern-oak-77' });
  t.is(slowed.status, 429, 'the next try at once must wait');
  t.truthy(slowed.headers['retry-after']);
  t.false(await imapLoginWorks(box.ports.imaps!, 'alice@example.test', 'river-lantern-oak-77'), 'nothing changed');
  let changed = slowed;
  await until(async () => {
    changed = await alice.post('/api/me/password', { current: testPassword, password: 'river-lantern-oak-77' });
    return changed.status !== 429;
  }, 'the slow-down to pass');
  t.is(changed.status, 200, changed.text);
});

test('a new password is applied and proven over IMAP; a weak one is refused naming the field', async (t) => {
  const box = await setUpWebBox(t);
  const alice = await box.signedIn('alice@example.test');
  const elsewhere = await box.signedIn('alice@example.test');
  const weak = await alice.post('/api/me/password', { current: testPassword, password: 'password123' });
  t.is(weak.status, 400);
  t.is(weak.body.error.field, 'password');
  const same = await alice.post('/api/me/password', { current: testPassword, password: testPassword });
  t.is(same.status, 400);
  const changed = await alice.post('/api/me/password', { current: testPassword, password: 'river-lantern-oak-77' });
  t.is(changed.status, 200, changed.text);
  t.deepEqual(changed.body, { changed: true });
  t.true(await imapLoginWorks(box.ports.imaps!, 'alice@example.test', 'river-lantern-oak-77'));
  t.false(await imapLoginWorks(box.ports.imaps!, 'alice@example.test', testPassword));
  t.is((await alice.get('/api/me')).status, 200, 'this session stays');
  t.is((await elsewhere.get('/api/me')).status, 401, 'the other browser is signed out');
});

test('PUT /api/me/forwarding changes the user’s own forwarding, which SMTP delivers; a disabled mailbox’s session is ended', async (t) => {
  const box = await setUpWebBox(t);
  const bob = await box.signedIn('bob@example.test');
  const set = await bob.put('/api/me/forwarding', { to: ['alice@example.test'], keepCopy: true });
  t.deepEqual(set.body, { to: ['alice@example.test'], keepCopy: true });
  t.deepEqual((await bob.get('/api/me')).body.forwarding, { to: ['alice@example.test'], keepCopy: true });
  t.deepEqual(box.services.store.forwards.get('alice@example.test'), { to: [], keepCopy: true }, 'only bob’s own forwarding changed');
  t.true((await sendRaw(box.ports.smtp!, 'sender@remote.test', ['bob@example.test'], message('for bob', 'And a copy for alice.'))).ok);
  const aliceInbox = await imapClient(t, box.ports.imap!, 'alice@example.test');
  t.is((await aliceInbox.mailboxOpen('INBOX')).exists, 1);
  const bobInbox = await imapClient(t, box.ports.imap!, 'bob@example.test');
  t.is((await bobInbox.mailboxOpen('INBOX')).exists, 1, 'bob kept a copy');
  const bad = await bob.put('/api/me/forwarding', { to: ['bob@example.test'] });
  t.is(bad.status, 400);
  t.is(bad.body.error.field, 'to');
  t.regex(bad.body.error.message, /cannot forward to itself/);
  t.deepEqual((await bob.put('/api/me/forwarding', { to: [] })).body, { to: [], keepCopy: true });
  // Disabled behind the session's back (the CLI): the next call ends it.
  box.services.store.accounts.setEnabled('bob@example.test', false);
  const gone = await bob.get('/api/me');
  t.is(gone.status, 403);
  t.is(gone.body.error.code, 'mailbox-unavailable');
  t.is((await bob.get('/api/session')).status, 401);
});

test('a user cannot reach another user’s data: the routes take no address, and the admin’s routes are closed', async (t) => {
  const box = await setUpWebBox(t);
  const alice = await box.signedIn('alice@example.test');
  // Whatever a body or query names, the answer is alice's own.
  const me = await alice.get('/api/me?address=bob@example.test');
  t.is(me.body.address, 'alice@example.test');
  const forwarded = await alice.put('/api/me/forwarding', { address: 'bob@example.test', to: ['x@remote.test'], keepCopy: false });
  t.is(forwarded.status, 200);
  t.deepEqual(box.services.store.forwards.get('bob@example.test'), { to: [], keepCopy: true });
  t.deepEqual(box.services.store.forwards.get('alice@example.test'), { to: ['x@remote.test'], keepCopy: false });
  for (const path of ['/api/admin/mailboxes', '/api/admin/mailboxes/bob@example.test/forwarding', '/api/admin/queue']) {
    t.is((await alice.get(path)).status, 403, path);
  }
  t.is((await alice.post('/api/admin/mailboxes/bob@example.test/password', {})).status, 403);
  t.true(await imapLoginWorks(box.ports.imaps!, 'bob@example.test', testPassword), 'bob’s password is unchanged');
});
