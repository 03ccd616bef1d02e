// The setup state machine over real HTTPS against a real ServicesProcess:
// an unclaimed box refuses every setup and admin call, claims by setup code
// (slowed when wrong), by `mailnest setup claim` (the built CLI, standing in
// for the button) for the one waiting browser, none when two wait, the
// wizard's steps, and a complete box that refuses the wizard.

import test from 'ava';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { runCli } from '../helpers/cli.ts';
import { startServices, testPassword, type TestServices } from '../helpers/services.ts';
import { tempDataDir } from '../helpers/data-dir.ts';
import { boxCertificate, WebClient } from '../helpers/web-client.ts';
import { until } from '../hw/until.ts';
import { Store } from '../../services/store/index.ts';
import { migrate, migrations } from '../../services/store/migrations.ts';

async function box(t: Parameters<typeof startServices>[0], options: Parameters<typeof startServices>[1] = {}): Promise<TestServices & { browser: () => WebClient; code: string }> {
  const services = await startServices(t, options);
  const ca = boxCertificate(services.data);
  const code = services.services.web!.setup.setupCode ?? '';
  return { ...services, code, browser: () => new WebClient(services.ports.https!, ca) };
}

const adminRoute = '/api/setup/admin-password';

test('an unclaimed box: the code is in setup-code (0600) and the log with the fingerprint; every setup and admin call is refused', async (t) => {
  const b = await box(t);
  t.regex(b.code, /^[2-9A-HJ-NP-Z]{4}-[2-9A-HJ-NP-Z]{4}$/);
  const file = join(b.data, 'setup-code');
  t.is(readFileSync(file, 'utf8').trim(), b.code);
  t.is(statSync(file).mode & 0o777, 0o600);
  const sha256 = b.services.web!.tls.sha256;
  t.true(b.logs.some((line) => line.includes('"setup needed"') && line.includes(`code=${b.code}`) && line.includes(`sha256=${sha256}`)), b.logs.join(''));
  t.true(b.logs.some((line) => line.includes('"tls certificate"') && line.includes(`sha256=${sha256}`)));

  const browser = b.browser();
  const setup = await browser.get('/api/setup');
  t.is(setup.status, 200);
  t.like(setup.body, { state: 'unclaimed', hostname: 'mx.example.test', certificate: { sha256 }, claim: { button: true, code: true, waiting: false } });
  t.is(setup.body.steps, undefined);
  t.true(setup.body.certificate.names.includes('mx.example.test'));

  for (const [method, path, json] of [
    ['POST', adminRoute, { password: 'a long enough passphrase' }],
    ['PUT', '/api/setup/identity', { hostname: 'mail.example.org', domain: 'example.org' }],
    ['POST', '/api/setup/complete', {}],
  ] as const) {
    const refused = await browser.request(method, path, { json });
    t.is(refused.status, 409, `${method} ${path}`);
    t.is(refused.body.error.code, 'setup-not-claimed');
  }
  // The admin cannot sign in before the setup is complete, and no admin session exists.
  const login = await browser.post('/api/session', { username: 'admin', password: testPassword });
  t.is(login.status, 409);
  t.is(login.body.error.code, 'setup-not-complete');
  t.is((await browser.get('/api/session')).status, 401);
  t.false(b.services.store.admin.isSet());
  t.is(b.services.store.setup.get(), 'unclaimed');
  const health = await b.services.health();
  t.false(health.setupDone);
});

test('claim by code: a session with admin rights; then the wizard to complete; then every setup call is 409 and setup-code is gone', async (t) => {
  const b = await box(t);
  const browser = b.browser();
  const typed = b.code.toLowerCase().replace('-', ' ');
  const claimed = await browser.post('/api/setup/claim', { code: typed });
  t.is(claimed.status, 200, claimed.text);
  t.true(claimed.body.claimed);
  t.is(typeof claimed.body.csrfToken, 'string');
  const cookie = (claimed.headers['set-cookie'] ?? []).find((c) => c.startsWith('mailnest_session='))!;
  t.regex(cookie, /^mailnest_session=[A-Za-z0-9_-]{43}; HttpOnly; Secure; SameSite=Strict; Path=\/$/);
  t.is(b.services.store.setup.get(), 'claimed');

  const status = await browser.get('/api/setup');
  t.like(status.body, { state: 'claimed', steps: { adminPassword: false, domain: false, mailbox: false } });
  // Another browser learns the state but not the steps, and cannot run them.
  const stranger = b.browser();
  t.is((await stranger.get('/api/setup')).body.steps, undefined);
  t.is((await stranger.post(adminRoute, { password: 'correct horse battery staple' })).status, 401);

  // Not complete yet: it says what is missing.
  const early = await browser.post('/api/setup/complete');
  t.is(early.status, 409);
  t.is(early.body.error.code, 'setup-incomplete');
  t.regex(early.body.error.message, /admin password.*domain.*mailbox/);

  const weak = await browser.post(adminRoute, { password: 'short' });
  t.is(weak.status, 400);
  t.like(weak.body.error, { code: 'weak-password', field: 'password' });
  t.regex(weak.body.error.message, /at least 10/);
  t.is((await browser.post(adminRoute, { password: 'correct horse battery staple' })).status, 200);

  const badHost = await browser.put('/api/setup/identity', { hostname: 'not a host', domain: 'example.org' });
  t.is(badHost.status, 400);
  t.is(badHost.body.error.field, 'hostname');
  const identity = await browser.put('/api/setup/identity', { hostname: 'mail.example.org', domain: 'Example.ORG' });
  t.is(identity.status, 200, identity.text);
  // The name differs from the one in effect: the services reload once the answer is out (test/web/reload.test.ts).
  t.like(identity.body, { hostname: 'mail.example.org', domain: 'example.org', reloading: true });
  t.is(b.services.store.settings.get('hostname'), 'mail.example.org');
  t.true(existsSync(join(b.data, 'run', 'settings-changed')));
  await until(() => b.logs.some((line) => line.includes(' reloaded ')), 'the reload', 20_000);
  t.is((await browser.get('/api/setup')).body.hostname, 'mail.example.org');

  await b.services.store.accounts.add({ address: 'owner@example.org', password: testPassword });
  const done = await browser.post('/api/setup/complete');
  t.is(done.status, 200, done.text);
  t.is(b.services.store.setup.get(), 'complete');
  t.false(existsSync(join(b.data, 'setup-code')));
  t.true((await b.services.health()).setupDone);
  // The session stays an admin session.
  t.like((await browser.get('/api/session')).body, { user: { name: 'admin', role: 'admin' } });

  for (const [method, path, json] of [
    ['POST', '/api/setup/claim', { code: b.code }],
    ['GET', '/api/setup/claim', undefined],
    ['POST', adminRoute, { password: 'another long passphrase' }],
    ['PUT', '/api/setup/identity', { hostname: 'x.example.org', domain: 'example.net' }],
    ['POST', '/api/setup/complete', {}],
  ] as const) {
    for (const who of [browser, stranger]) {
      const refused = await who.request(method, path, { json });
      t.is(refused.status, 409, `${method} ${path}`);
      t.is(refused.body.error.code, 'setup-complete');
    }
  }
  t.is((await stranger.get('/api/setup')).body.state, 'complete');
  // Now the admin signs in with the password from the wizard.
  const admin = b.browser();
  const login = await admin.post('/api/session', { username: 'admin', password: 'correct horse battery staple' });
  t.is(login.status, 200, login.text);
  t.like(login.body, { user: { name: 'admin', role: 'admin' } });
});

test('wrong codes: 403 bad-code, then slowed with 429 and Retry-After; the right code is refused while slowed', async (t) => {
  const b = await box(t);
  const browser = b.browser();
  let status = 0;
  const statuses: number[] = [];
  for (let i = 0; i < 10 && status !== 429; i++) {
    const wrong = await browser.post('/api/setup/claim', { code: 'AAAA-AAAA' });
    status = wrong.status;
    statuses.push(status);
    if (status === 403) t.like(wrong.body.error, { code: 'bad-code', field: 'code' });
    if (status === 429) {
      t.is(wrong.body.error.code, 'slow-down');
      t.regex(String(wrong.headers['retry-after']), /^\d+$/);
    }
  }
  t.is(statuses[0], 403);
  t.is(status, 429, statuses.join(','));
  const right = await browser.post('/api/setup/claim', { code: b.code });
  t.is(right.status, 429);
  t.is(b.services.store.setup.get(), 'unclaimed');
});

test('claim by button: `mailnest setup claim` lets in the one browser that waits; the claim is refused without JSON or from another origin', async (t) => {
  const b = await box(t);
  const browser = b.browser();
  // Cross-site requests cannot start a claim.
  const foreign = await browser.post('/api/setup/claim', { method: 'button' }, { headers: { origin: 'https://evil.example' } });
  t.is(foreign.status, 403);
  t.is(foreign.body.error.code, 'bad-origin');
  const form = await browser.post('/api/setup/claim', undefined, { body: 'method=button', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
  t.is(form.status, 415);

  const waiting = await browser.post('/api/setup/claim', { method: 'button' }, { headers: { origin: browser.origin } });
  t.is(waiting.status, 202, waiting.text);
  t.true(waiting.body.waiting);
  t.true(Date.parse(waiting.body.expiresAt) > Date.now());
  t.true((await browser.get('/api/setup')).body.claim.waiting);
  t.is((await browser.get('/api/setup/claim')).status, 202);
  // A browser that never asked is not waiting.
  t.is((await b.browser().get('/api/setup/claim')).status, 404);

  const cli = await runCli(['setup', 'claim'], { data: b.data });
  t.is(cli.code, 0, cli.stderr);
  t.regex(cli.stdout, /claimed the box/);
  const granted = await browser.get('/api/setup/claim');
  t.is(granted.status, 200, granted.text);
  t.true(granted.body.claimed);
  t.true(browser.cookies.has('mailnest_session'));
  t.false(browser.cookies.has('mailnest_claim'));
  t.like((await browser.get('/api/session')).body, { user: { role: 'admin', setup: true } });
  t.is((await browser.post(adminRoute, { password: 'correct horse battery staple' })).status, 200);
  t.true(b.logs.some((line) => line.includes('"box claimed"') && line.includes('button')));
});

test('two browsers wait for the button: nobody wins and both are told', async (t) => {
  const b = await box(t);
  const first = b.browser();
  const second = b.browser();
  t.is((await first.post('/api/setup/claim', { method: 'button' })).status, 202);
  t.is((await second.post('/api/setup/claim', { method: 'button' })).status, 202);
  const cli = await runCli(['setup', 'claim'], { data: b.data });
  t.is(cli.code, 1);
  t.regex(cli.stdout, /no single browser/);
  for (const browser of [first, second]) {
    const told = await browser.get('/api/setup/claim');
    t.is(told.status, 409);
    t.is(told.body.error.code, 'contested');
    t.regex(told.body.error.message, /more than one browser/);
    t.false(browser.cookies.has('mailnest_session'));
  }
  t.is(b.services.store.setup.get(), 'unclaimed');
});

test('a browser that waits too long is told the claim expired', async (t) => {
  const b = await box(t, { web: { setup: { claimWaitMs: 300 } } });
  const browser = b.browser();
  t.is((await browser.post('/api/setup/claim', { method: 'button' })).status, 202);
  let answer = await browser.get('/api/setup/claim');
  const deadline = Date.now() + 10_000;
  while (answer.status === 202 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    answer = await browser.get('/api/setup/claim');
  }
  t.is(answer.status, 410);
  t.is(answer.body.error.code, 'expired');
});

test('a press reaches the server through run/button-press as the firmware writes it (fs.watch), and a new claim replaces the lost session', async (t) => {
  const b = await box(t);
  const lost = b.browser();
  t.is((await lost.post('/api/setup/claim', { code: b.code })).status, 200);
  // The owner lost that browser; a new one claims with the button.
  const again = b.browser();
  t.is((await again.post('/api/setup/claim', { method: 'button' })).status, 202);
  writeFileSync(join(b.data, 'run', 'button-press'), JSON.stringify({ at: new Date().toISOString(), source: 'button', pid: 1 }));
  await until(() => !existsSync(join(b.data, 'run', 'button-press')), 'the services process to take the press');
  t.is((await again.get('/api/setup/claim')).status, 200);
  t.is((await lost.get('/api/session')).status, 401);
  t.is((await lost.post(adminRoute, { password: 'correct horse battery staple' })).status, 401);
  t.is((await again.post(adminRoute, { password: 'correct horse battery staple' })).status, 200);
});

test('mailnest setup status prints the state and the code while unclaimed; admin-password completes a box set up by CLI', async (t) => {
  const b = await box(t);
  const text = await runCli(['setup', 'status'], { data: b.data });
  t.is(text.code, 0, text.stderr);
  t.regex(text.stdout, /state: unclaimed/);
  t.true(text.stdout.includes(`setup code: ${b.code}`));
  t.true(text.stdout.includes(b.services.web!.tls.sha256));
  const json = JSON.parse((await runCli(['setup', 'status', '--json'], { data: b.data })).stdout);
  t.like(json, { state: 'unclaimed', code: b.code, certificate: { sha256: b.services.web!.tls.sha256 }, steps: { adminPassword: false } });

  const weak = await runCli(['setup', 'admin-password', '--password-stdin'], { data: b.data, stdin: 'short\n' });
  t.is(weak.code, 1);
  t.regex(weak.stderr, /too short/);
  b.services.store.domains.add('example.org');
  await b.services.store.accounts.add({ address: 'owner@example.org', password: testPassword });
  const set = await runCli(['setup', 'admin-password', '--password-stdin'], { data: b.data, stdin: 'correct horse battery staple\n' });
  t.is(set.code, 0, set.stderr);
  t.regex(set.stdout, /setup is complete/);
  t.is(b.services.store.setup.get(), 'complete');
  t.false(existsSync(join(b.data, 'setup-code')));
  // The running server sees it at once: the wizard is closed, the admin may sign in.
  const browser = b.browser();
  t.is((await browser.post('/api/setup/claim', { code: b.code })).status, 409);
  t.is((await browser.post('/api/session', { username: 'admin', password: 'correct horse battery staple' })).status, 200);
  const after = JSON.parse((await runCli(['setup', 'status', '--json'], { data: b.data })).stdout);
  t.is(after.state, 'complete');
  t.is(after.code, undefined);
  // The password is not a setting.
  const list = await runCli(['config', 'list', '--json'], { data: b.data });
  t.false(list.stdout.includes('scrypt'));
  t.is((await runCli(['setup', 'claim'], { data: b.data })).code, 1);
});

test('migration 5: a database that already has a domain and a user counts as complete; an empty one as unclaimed', (t) => {
  for (const [withUser, expected] of [
    [true, 'complete'],
    [false, 'unclaimed'],
  ] as const) {
    const data = tempDataDir(t);
    const db = new Database(join(data, 'old.db'));
    migrate(db, migrations.filter((m) => m.version < 5));
    db.prepare('INSERT INTO domains (name, created_at) VALUES (?, ?)').run('example.org', 1);
    if (withUser) db.prepare("INSERT INTO accounts (domain_id, address, password_hash, created_at) VALUES (1, 'a@example.org', 'x', 1)").run();
    migrate(db);
    t.is(db.prepare('SELECT state FROM setup_state').pluck().get(), expected);
    db.close();
  }
});

test('a complete box (set up before migration 5) has no setup code and refuses the wizard', async (t) => {
  const data = tempDataDir(t);
  const store = Store.open(data);
  store.setup.move(['unclaimed'], 'complete');
  store.close();
  writeFileSync(join(data, 'setup-code'), 'AAAA-BBBB\n', { mode: 0o600 });
  const b = await box(t, { data });
  t.is(b.code, '');
  t.false(existsSync(join(data, 'setup-code')));
  t.false(b.logs.some((line) => line.includes('"setup needed"')));
  const browser = b.browser();
  t.is((await browser.get('/api/setup')).body.state, 'complete');
  const claim = await browser.post('/api/setup/claim', { code: 'AAAA-BBBB' });
  t.is(claim.status, 409);
  t.is(claim.body.error.code, 'setup-complete');
});
