// The API's common rules over real HTTPS: JSON errors for every bad request
// (404, 405, 415, 413, 400), sessions in cookies with the exact attributes,
// CSRF tokens on every state change, sign-in for the admin and mail users,
// failed sign-ins slowed and recorded as auth events, sessions that outlive
// a restart and end when idle.

import test from 'ava';
import { request } from 'node:https';
import type { AuthFailure } from '../../services/core/auth-events.ts';
import { addFamily, startServices, testPassword } from '../helpers/services.ts';
import { boxCertificate, WebClient } from '../helpers/web-client.ts';
import type { ApiRequest, Route } from '../../services/web/router.ts';

const adminPassword = 'correct horse battery staple';

/** A box that is set up: the family's domain and users, the admin password, state complete. */
async function setUpBox(t: Parameters<typeof startServices>[0], options: Parameters<typeof startServices>[1] = {}) {
  const b = await startServices(t, options);
  await addFamily(b.services);
  await b.services.store.admin.setPassword(adminPassword);
  b.services.store.setup.move(['unclaimed', 'claimed'], 'complete');
  const ca = boxCertificate(b.data);
  return { ...b, browser: () => new WebClient(b.ports.https!, ca) };
}

test('unknown routes are 404, wrong methods 405 with Allow, all as JSON errors', async (t) => {
  const b = await setUpBox(t);
  const browser = b.browser();
  const missing = await browser.get('/api/no-such-thing');
  t.is(missing.status, 404);
  t.is(missing.body.error.code, 'not-found');
  t.regex(String(missing.headers['content-type']), /^application\/json/);
  const wrong = await browser.request('PATCH', '/api/session', { json: {} });
  t.is(wrong.status, 405);
  t.regex(String(wrong.headers.allow), /POST/);
  t.is(wrong.body.error.code, 'method-not-allowed');
});

test('bodies: not JSON is 415, bad JSON 400, over 64 KiB 413, a non-object 400 naming what to send', async (t) => {
  const b = await setUpBox(t);
  const browser = b.browser();
  const form = await browser.post('/api/session', undefined, { body: 'username=admin', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
  t.is(form.status, 415);
  t.is(form.body.error.code, 'unsupported-media-type');
  const broken = await browser.post('/api/session', undefined, { body: '{"username": ', headers: { 'content-type': 'application/json' } });
  t.is(broken.status, 400);
  t.is(broken.body.error.code, 'bad-json');
  const big = await browser.post('/api/session', undefined, { body: JSON.stringify({ username: 'x'.repeat(70 * 1024) }), headers: { 'content-type': 'application/json' } });
  t.is(big.status, 413);
  t.is(big.body.error.code, 'body-too-large');
  const list = await browser.post('/api/session', [1, 2]);
  t.is(list.status, 400);
  const missing = await browser.post('/api/session', { username: 'admin' });
  t.is(missing.status, 400);
  t.is(missing.body.error.field, 'password');
});

test('a chunked body over 64 KiB is cut off with 413', async (t) => {
  const b = await setUpBox(t);
  const status = await new Promise<number>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: b.ports.https, method: 'POST', path: '/api/session', ca: boxCertificate(b.data), agent: false, headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' } }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', (error) => ((error as NodeJS.ErrnoException).code === 'EPIPE' || (error as NodeJS.ErrnoException).code === 'ECONNRESET' ? undefined : reject(error)));
    req.write('{"username": "');
    for (let i = 0; i < 80; i++) req.write('x'.repeat(1024));
    req.end('"}');
  });
  t.is(status, 413);
});

test('admin and mail users sign in; the cookie is HttpOnly; Secure; SameSite=Strict; Path=/; sign-out ends the session on the server', async (t) => {
  const b = await setUpBox(t);
  const admin = b.browser();
  const signedIn = await admin.post('/api/session', { username: 'admin', password: adminPassword });
  t.is(signedIn.status, 200, signedIn.text);
  t.like(signedIn.body, { user: { name: 'admin', role: 'admin' } });
  const cookie = signedIn.headers['set-cookie']![0]!;
  t.regex(cookie, /^mailnest_session=[A-Za-z0-9_-]{43}; HttpOnly; Secure; SameSite=Strict; Path=\/$/);
  const session = await admin.get('/api/session');
  t.is(session.status, 200);
  t.is(session.body.csrfToken, signedIn.body.csrfToken);
  // Only a hash of the id is stored.
  const id = admin.cookies.get('mailnest_session')!;
  t.false(JSON.stringify(b.services.store.db.prepare('SELECT * FROM web_sessions').all()).includes(id));

  const alice = b.browser();
  const user = await alice.post('/api/session', { username: 'Alice@Example.test', password: testPassword });
  t.is(user.status, 200, user.text);
  t.like(user.body, { user: { name: 'alice@example.test', role: 'user' } });

  const stolen = admin.cookies.get('mailnest_session')!;
  const out = await admin.delete('/api/session');
  t.is(out.status, 200);
  t.regex(out.headers['set-cookie']![0]!, /^mailnest_session=; HttpOnly; Secure; SameSite=Strict; Path=\/; Max-Age=0$/);
  // The old cookie, replayed, is worth nothing.
  const replay = b.browser();
  replay.cookies.set('mailnest_session', stolen);
  t.is((await replay.get('/api/session')).status, 401);
});

test('a state change with a session but without its X-CSRF-Token is 403; with a wrong Origin too', async (t) => {
  const b = await setUpBox(t);
  const admin = b.browser();
  t.is((await admin.post('/api/session', { username: 'admin', password: adminPassword })).status, 200);
  const noToken = await admin.delete('/api/session', { csrf: false });
  t.is(noToken.status, 403);
  t.is(noToken.body.error.code, 'csrf');
  const wrongToken = await admin.delete('/api/session', { csrf: false, headers: { 'x-csrf-token': 'x'.repeat(43) } });
  t.is(wrongToken.status, 403);
  const foreign = await admin.delete('/api/session', { headers: { origin: 'https://attacker.example' } });
  t.is(foreign.status, 403);
  t.is(foreign.body.error.code, 'bad-origin');
  const crossSite = await admin.delete('/api/session', { headers: { 'sec-fetch-site': 'cross-site' } });
  t.is(crossSite.status, 403);
  t.is((await admin.get('/api/session')).status, 200, 'still signed in');
  t.is((await admin.delete('/api/session', { headers: { origin: admin.origin } })).status, 200);
});

/** Routes of each access, for checking the router's rights alone. */
const probeRoutes: Route[] = (['public', 'signed-in', 'user', 'admin'] as const).flatMap((access) => [
  { method: 'GET' as const, path: `/api/test/${access}`, access, handle: (request: ApiRequest) => ({ access, subject: request.session?.subject ?? null }) },
  { method: 'POST' as const, path: `/api/test/${access}/:name`, access, handle: (request: ApiRequest) => ({ access, name: request.params.name, body: request.body }) },
]);

test('access is checked by the router: a stranger 401, a mail user 403 on admin routes, the admin 403 on user routes; :params are decoded', async (t) => {
  const b = await setUpBox(t, { web: { routes: probeRoutes } });
  const stranger = b.browser();
  t.is((await stranger.get('/api/test/public')).status, 200);
  for (const access of ['signed-in', 'user', 'admin']) {
    const refused = await stranger.get(`/api/test/${access}`);
    t.is(refused.status, 401, access);
    t.is(refused.body.error.code, 'not-signed-in');
  }
  const alice = b.browser();
  t.is((await alice.post('/api/session', { username: 'alice@example.test', password: testPassword })).status, 200);
  t.like((await alice.get('/api/test/user')).body, { subject: 'alice@example.test' });
  t.is((await alice.get('/api/test/signed-in')).status, 200);
  const notAdmin = await alice.get('/api/test/admin');
  t.is(notAdmin.status, 403);
  t.is(notAdmin.body.error.code, 'forbidden');
  const posted = await alice.post('/api/test/user/a%40b%2Fc', { x: 1 });
  t.like(posted.body, { name: 'a@b/c', body: { x: 1 } });

  const admin = b.browser();
  t.is((await admin.post('/api/session', { username: 'admin', password: adminPassword })).status, 200);
  t.is((await admin.get('/api/test/admin')).status, 200);
  t.is((await admin.get('/api/test/user')).status, 403);
});

test('while claimed, only the setup session may use admin routes; while unclaimed, no admin session does', async (t) => {
  const b = await startServices(t, { web: { routes: probeRoutes } });
  const ca = boxCertificate(b.data);
  // An admin session that is not the setup session (as one left from another state would be).
  const forged = new WebClient(b.ports.https!, ca);
  forged.cookies.set('mailnest_session', b.services.web!.sessions.create('admin', 'admin').cookie.split(';')[0]!.split('=')[1]!);
  t.is((await forged.get('/api/test/admin')).status, 403, 'unclaimed');
  const owner = new WebClient(b.ports.https!, ca);
  t.is((await owner.post('/api/setup/claim', { code: b.services.web!.setup.setupCode })).status, 200);
  t.is((await owner.get('/api/test/admin')).status, 200);
  t.is((await forged.get('/api/test/admin')).status, 403, 'claimed, not the setup session');
});

test('failed sign-ins: 401 bad-login, an auth event each (service web), then 429 with Retry-After per name and per client', async (t) => {
  const b = await setUpBox(t);
  const events: AuthFailure[] = [];
  b.services.authEvents.onFailure((event) => events.push(event));
  const browser = b.browser();
  const first = await browser.post('/api/session', { username: 'alice@example.test', password: 'wrong password here' });
  t.is(first.status, 401);
  t.is(first.body.error.code, 'bad-login');
  t.deepEqual(events, [{ service: 'web', username: 'alice@example.test', remoteAddress: '127.0.0.1', reason: 'bad-login' }]);
  let answer = first;
  for (let i = 0; i < 5 && answer.status !== 429; i++) answer = await browser.post('/api/session', { username: 'alice@example.test', password: 'wrong password again' });
  t.is(answer.status, 429);
  t.is(answer.body.error.code, 'slow-down');
  t.regex(String(answer.headers['retry-after']), /^[1-9]\d*$/);
  // While slowed, even the right password waits (and is not checked).
  const right = await browser.post('/api/session', { username: 'alice@example.test', password: testPassword });
  t.is(right.status, 429);
  // The client is slowed for other names too.
  const other = await browser.post('/api/session', { username: 'bob@example.test', password: testPassword });
  t.is(other.status, 429);
  t.true(events.length >= 2);
  t.true(events.every((event) => event.service === 'web'));
  t.true(b.logs.some((line) => line.includes('"sign-in failed"') && line.includes('cid=')));
});

test('sessions survive a restart of the services and end after the idle timeout', async (t) => {
  const b = await setUpBox(t);
  const alice = b.browser();
  t.is((await alice.post('/api/session', { username: 'alice@example.test', password: testPassword })).status, 200);
  const cookie = alice.cookies.get('mailnest_session')!;
  await b.services.stop();
  const again = await startServices(t, { data: b.data, web: { sessions: { idleMs: 1500 } } });
  const browser = new WebClient(again.ports.https!, boxCertificate(b.data));
  browser.cookies.set('mailnest_session', cookie);
  // In use, it outlives the idle timeout; idle past it, it is gone (bounded waits, no fixed sleep asserted).
  const usedUntil = Date.now() + 3000;
  while (Date.now() < usedUntil) {
    t.is((await browser.get('/api/session')).status, 200);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  const deadline = Date.now() + 15_000;
  let status = 200;
  while (status === 200 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 2000));
    status = (await browser.get('/api/session')).status;
  }
  t.is(status, 401);
});

test('sessions are bounded: past maxSessions the least recently seen are dropped', async (t) => {
  const b = await setUpBox(t, { web: { sessions: { maxSessions: 3 } } });
  const browsers: WebClient[] = [];
  for (let i = 0; i < 5; i++) {
    const browser = b.browser();
    t.is((await browser.post('/api/session', { username: 'bob@example.test', password: testPassword })).status, 200);
    browsers.push(browser);
  }
  t.is(b.services.store.webSessions.count(), 3);
  t.is((await browsers[4]!.get('/api/session')).status, 200);
  t.is((await browsers[0]!.get('/api/session')).status, 401);
});
