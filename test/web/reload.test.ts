// A setting changed from the web takes effect without a shell: the services
// process reloads in place (ServicesProcess.reload). Over real HTTPS against a
// real ServicesProcess: the wizard's identity step and the admin's identity
// route change the SMTP banner, the IMAP greeting and the HTTPS certificate,
// the session stays valid; reloads asked for together coalesce; a reload
// whose start fails stops everything; the admin changes their password.

import test from 'ava';
import { connect as tlsConnect } from 'node:tls';
import { storeSetting } from '../../services/config/index.ts';
import { isUserError } from '../../services/core/errors.ts';
import { ListenError } from '../../services/core/listen.ts';
import { Store } from '../../services/store/index.ts';
import { lockDataFolder } from '../../services/store/lock.ts';
import { tempDataDir } from '../helpers/data-dir.ts';
import { RawImap } from '../helpers/imap-raw.ts';
import { greeting, occupyFreeOffsetPort, refused } from '../helpers/net-probe.ts';
import { startServices, testPassword, type TestServices } from '../helpers/services.ts';
import { adminPassword, setUpWebBox } from '../helpers/web-box.ts';
import { boxCertificate, WebClient } from '../helpers/web-client.ts';
import { until } from '../hw/until.ts';

/** The certificate the HTTPS port presents: its names and SHA-256 fingerprint (not verified: it is what is looked at). */
function presentedCertificate(port: number): Promise<{ names: string; sha256: string }> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ host: '127.0.0.1', port, rejectUnauthorized: false, servername: 'localhost' }, () => {
      const cert = socket.getPeerCertificate();
      socket.destroy();
      resolve({ names: cert.subjectaltname ?? '', sha256: cert.fingerprint256 });
    });
    socket.on('error', reject);
  });
}

/** The same browser (cookies, CSRF token) trusting the box's certificate as it is now in tls/. */
function trustingNewCertificate(browser: WebClient, data: string): WebClient {
  const next = new WebClient(browser.port, boxCertificate(data));
  for (const [name, value] of browser.cookies) next.cookies.set(name, value);
  next.csrfToken = browser.csrfToken;
  return next;
}

/** Polls GET /api/setup as the UI does after `reloading: true`, until it answers with a certificate other than `oldSha256`. */
async function waitForNewCertificate(browser: WebClient, data: string, oldSha256: string): Promise<{ client: WebClient; setup: Record<string, any> }> {
  let found: { client: WebClient; setup: Record<string, any> } | undefined;
  await until(
    async () => {
      const client = trustingNewCertificate(browser, data);
      try {
        const answer = await client.get('/api/setup');
        if (answer.status === 200 && answer.body.certificate.sha256 !== oldSha256) found = { client, setup: answer.body };
      } catch {
        // stopped for the reload, or still the old certificate
      }
      return found !== undefined;
    },
    'the box to answer again with the new certificate',
    30_000,
  );
  return found!;
}

function count(logs: string[], pattern: RegExp): number {
  return logs.filter((line) => pattern.test(line)).length;
}

test('the identity step reloads the services: SMTP banner, IMAP greeting, the HTTPS certificate take the new name; the session stays', async (t) => {
  // No --hostname for this run: the stored setting decides.
  const box = await startServices(t, { overrides: { hostname: undefined } });
  const before = box.services.config.hostname;
  t.not(before, 'mail.reload.test');
  const oldCertificate = box.services.web!.tls;
  const browser = new WebClient(box.ports.https!, boxCertificate(box.data));
  t.is((await browser.post('/api/setup/claim', { code: box.services.web!.setup.setupCode })).status, 200);
  t.regex(await greeting(box.ports.smtp!), new RegExp(`^220 ${before.replace(/\./g, '\\.')} `));

  const identity = await browser.put('/api/setup/identity', { hostname: 'Mail.Reload.Test', domain: 'reload.test' });
  t.is(identity.status, 200, identity.text);
  t.deepEqual(identity.body, { hostname: 'mail.reload.test', domain: 'reload.test', reloading: true });

  const { client, setup } = await waitForNewCertificate(browser, box.data, oldCertificate.sha256);
  await until(() => box.logs.some((line) => line.includes(' reloaded ')), 'the reload to finish');
  t.is(box.services.config.hostname, 'mail.reload.test');
  // What the page shows to compare again, and what the port presents, are the new certificate for the new name.
  t.like(setup, { state: 'claimed', hostname: 'mail.reload.test' });
  t.deepEqual(setup.certificate.names, ['mail.reload.test', 'localhost', 'mailnest.local', 'mailnest-2.local', '127.0.0.1', '::1']);
  const presented = await presentedCertificate(box.ports.https!);
  t.is(presented.sha256, setup.certificate.sha256);
  t.regex(presented.names, /^DNS:mail\.reload\.test, DNS:localhost/);
  // The same ports (chosen by the system at the first start) serve the new name.
  t.regex(await greeting(box.ports.smtp!), /^220 mail\.reload\.test ESMTP/);
  t.regex(await greeting(box.ports.imap!), /^\* OK \[CAPABILITY [^\]]*IMAP4rev1[^\]]*\] mail\.reload\.test IMAP4rev1 ready/);
  const imap = await RawImap.open(box.ports.imap!);
  t.teardown(() => imap.close());
  const capability = await imap.command('CAPABILITY');
  t.regex(capability.status, /OK/);
  t.regex(capability.untagged.map(String).join('\n'), /^\* CAPABILITY .*IMAP4rev1/);
  // The session (in SQLite) outlived the web service that made it; the wizard goes on.
  t.like((await client.get('/api/session')).body, { user: { name: 'admin', role: 'admin', setup: true } });
  t.is((await client.post('/api/setup/admin-password', { password: adminPassword })).status, 200);
  // The same name again changes nothing.
  const again = await client.put('/api/setup/identity', { hostname: 'mail.reload.test', domain: 'reload.test' });
  t.deepEqual(again.body, { hostname: 'mail.reload.test', domain: 'reload.test', reloading: false });
  t.is(count(box.logs, / reloading /), 1);
});

test('reloads asked for together are one; one asked for while a reload runs is one more', async (t) => {
  const box = await startServices(t);
  const first = box.services.reload('first');
  const second = box.services.reload('second');
  t.is(first, second);
  await first;
  t.is(count(box.logs, / reloading /), 1);
  t.true(box.logs.some((line) => / reloading reason="first; second"/.test(line)), box.logs.join(''));

  // Once a reload has read the settings, later requests share the one after it.
  const running = box.services.reload('third');
  await until(() => count(box.logs, / reloading /) === 2, 'the third reload to read the settings');
  const fourth = box.services.reload('fourth');
  const fifth = box.services.reload('fifth');
  t.is(fourth, fifth);
  t.not(fourth, running);
  await Promise.all([running, fourth]);
  t.is(count(box.logs, / reloading /), 3);
  t.true(box.logs.some((line) => / reloading reason="fourth; fifth"/.test(line)));
  t.is((await box.services.health()).status, 'ok');
  t.regex(await greeting(box.ports.smtp!), /^220 mx\.example\.test /);
});

test('a reload whose start fails (a port taken) stops every service, closes the store and says so', async (t) => {
  const data = tempDataDir(t);
  // pop3 follows the stored port offset; every other service has a port of its own.
  const first = await occupyFreeOffsetPort(110);
  await new Promise<void>((resolve) => first.server.close(() => resolve()));
  const store = Store.open(data);
  storeSetting(store, 'port-offset', String(first.offset));
  store.close();
  const failures: unknown[] = [];
  const box: TestServices = await startServices(t, { data, ports: { pop3: undefined }, onReloadFailure: (error) => failures.push(error) });
  t.is(box.ports.pop3, first.offset + 110);
  const ports = { ...box.ports };

  // The owner moves the offset onto a port something else holds.
  const blocker = await occupyFreeOffsetPort(110);
  t.teardown(() => new Promise<void>((resolve) => blocker.server.close(() => resolve())));
  box.services.store.settings.set('port-offset', blocker.offset);
  const error = await t.throwsAsync(box.services.reload('port-offset changed'), { instanceOf: ListenError });
  t.true(isUserError(error));
  t.is(error!.message, `pop3: port ${blocker.offset + 110} on 127.0.0.1 is already in use (is another Mailnest running?)`);
  t.deepEqual(failures, [error]);
  t.true(box.logs.some((line) => line.includes('"reload failed: the services could not start again, so every service is stopped"')));
  // Nothing is left listening: not the old ports, not what the new start had bound.
  for (const name of ['smtp', 'submission', 'submissions', 'imap', 'imaps', 'pop3s', 'http', 'https']) t.true(await refused(ports[name]!), name);
  t.false(box.services.store.isOpen);
  t.is((await box.services.health()).status, 'stopping');
  // The data folder is free for the next start (the lock was released).
  lockDataFolder(data).release();
  // A reload after that does nothing.
  await box.services.reload('too late');
});

test('a stored setting that does not validate refuses the reload and leaves the services running', async (t) => {
  const box = await startServices(t);
  box.services.store.settings.set('max-recipients', 0);
  await t.throwsAsync(box.services.reload('bad setting'), { message: /max-recipients/ });
  t.is((await box.services.health()).status, 'ok');
  t.regex(await greeting(box.ports.smtp!), /^220 /);
});

test('PUT /api/admin/identity on a finished box: the new name after a reload, the admin still signed in', async (t) => {
  const box = await setUpWebBox(t, { overrides: { hostname: undefined } });
  const admin = await box.signedIn('admin');
  const old = (await admin.get('/api/admin/identity')).body;
  t.is(old.hostname, box.services.config.hostname);
  t.is(old.certificate.sha256, box.services.web!.tls.sha256);
  const user = await box.signedIn('alice@example.test');
  t.is((await user.put('/api/admin/identity', { hostname: 'box.example.test' })).status, 403);
  const bad = await admin.put('/api/admin/identity', { hostname: 'not a name' });
  t.is(bad.status, 400);
  t.like(bad.body.error, { code: 'bad-hostname', field: 'hostname' });

  const changed = await admin.put('/api/admin/identity', { hostname: 'box.example.test' });
  t.is(changed.status, 200, changed.text);
  t.deepEqual(changed.body, { hostname: 'box.example.test', reloading: true });
  const { client } = await waitForNewCertificate(admin, box.data, old.certificate.sha256);
  t.like((await client.get('/api/admin/identity')).body, { hostname: 'box.example.test', inEffect: 'box.example.test', certificate: { names: ['box.example.test', 'localhost', 'mailnest.local', 'mailnest-2.local', '127.0.0.1', '::1'] } });
  t.like((await client.get('/api/session')).body, { user: { name: 'admin', role: 'admin' } });
  await until(() => box.logs.some((line) => line.includes(' reloaded ')), 'the reload to finish');
  t.regex(await greeting(box.ports.smtp!), /^220 box\.example\.test ESMTP/);
  t.regex(await greeting(box.ports.pop3!), /^\+OK/);
});

test('POST /api/admin/password: a weak one names the field, a wrong current one is refused, recorded and slowed; the new one signs in, the old one not', async (t) => {
  const box = await setUpWebBox(t);
  const failures: string[] = [];
  box.services.authEvents.onFailure((event) => failures.push(`${event.service}:${event.username}:${event.reason}`));
  const admin = await box.signedIn('admin');
  const elsewhere = await box.signedIn('admin');
  const user = await box.signedIn('alice@example.test');
  t.is((await user.post('/api/admin/password', { current: testPassword, password: 'another long passphrase' })).status, 403);

  const weak = await admin.post('/api/admin/password', { current: adminPassword, password: 'short' });
  t.is(weak.status, 400);
  t.like(weak.body.error, { code: 'weak-password', field: 'password' });
  t.regex(weak.body.error.message, /at least 10/);
  const same = await admin.post('/api/admin/password', { current: adminPassword, password: adminPassword });
  t.like(same.body.error, { field: 'password' });

  const changed = await admin.post('/api/admin/password', { current: adminPassword, password: 'another long passphrase' });
  t.is(changed.status, 200, changed.text);
  t.like(changed.body, { changed: true, sessionsEnded: 1 });
  // This browser stays signed in; the other admin session (signed in with the old password) is ended.
  t.is((await admin.get('/api/session')).status, 200);
  t.is((await elsewhere.get('/api/session')).status, 401);
  t.is((await box.browser().post('/api/session', { username: 'admin', password: adminPassword })).status, 401);
  // That failure slows this client's next sign-in (1 s): wait it out, as a person would.
  await until(async () => (await box.browser().post('/api/session', { username: 'admin', password: 'another long passphrase' })).status === 200, 'the new password to sign in', 15_000);
  t.deepEqual(failures, ['web:admin:bad-login']);

  const wrong = await admin.post('/api/admin/password', { current: adminPassword, password: 'a third long passphrase' });
  t.is(wrong.status, 403);
  t.like(wrong.body.error, { code: 'bad-password', field: 'current' });
  t.deepEqual(failures, ['web:admin:bad-login', 'web:admin:bad-password']);
  const slowed = await admin.post('/api/admin/password', { current: 'another long passphrase', password: 'a third long passphrase' });
  t.is(slowed.status, 429);
  t.truthy(slowed.headers['retry-after']);
  t.true(await box.services.store.admin.verify('another long passphrase'));
});
