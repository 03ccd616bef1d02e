// GET /api/admin/doctor and POST /api/admin/doctor/run over real HTTPS: admin
// only (401 without a session, 403 for a mail user, 403 without the CSRF
// token); POST answers at once with running: true, and the findings follow.

import test from 'ava';
import { startDnsServer } from '../helpers/dns-server.ts';
import { addFamily, startServices, testPassword } from '../helpers/services.ts';
import { until } from '../hw/until.ts';
import { boxCertificate, WebClient } from '../helpers/web-client.ts';
import { closedPort, goodZoneInNewFolder } from './helpers.ts';

const adminPassword = 'correct horse battery staple';

test('the doctor routes: admin only, the contract shape, a run on demand that answers at once', async (t) => {
  const { data, zone } = goodZoneInNewFolder(t);
  const dns = await startDnsServer(t, zone);
  const blocked = await closedPort();
  const b = await startServices(t, { data, overrides: { 'dns-servers': dns.server, 'doctor-port25-probe': `127.0.0.1:${blocked}`, 'doctor-dnsbls': 'bl.example.net' }, doctor: { timings: { lookupMs: 1500, probeMs: 1500 } } });
  await addFamily(b.services, 'family.test');
  await b.services.store.admin.setPassword(adminPassword);
  b.services.store.setup.move(['unclaimed', 'claimed'], 'complete');
  const ca = boxCertificate(b.data);

  const stranger = new WebClient(b.ports.https!, ca);
  t.is((await stranger.get('/api/admin/doctor')).status, 401);
  t.is((await stranger.post('/api/admin/doctor/run', {})).status, 401);
  const alice = new WebClient(b.ports.https!, ca);
  t.is((await alice.post('/api/session', { username: 'alice@family.test', password: testPassword })).status, 200);
  t.is((await alice.get('/api/admin/doctor')).status, 403);
  t.is((await alice.post('/api/admin/doctor/run', {})).status, 403);

  const admin = new WebClient(b.ports.https!, ca);
  t.is((await admin.post('/api/session', { username: 'admin', password: adminPassword })).status, 200);
  const before = await admin.get('/api/admin/doctor');
  t.is(before.status, 200);
  t.deepEqual(before.body, { checkedAt: null, running: false, findings: [] });
  t.is((await admin.post('/api/admin/doctor/run', {}, { csrf: false })).status, 403);
  t.false(b.services.doctor!.isRunning, 'a refused POST starts nothing');

  const started = await admin.post('/api/admin/doctor/run', {});
  t.is(started.status, 200, started.text);
  t.true(started.body.running);
  await until(() => !b.services.doctor!.isRunning, 'the run to end');
  const after = await admin.get('/api/admin/doctor');
  t.false(after.body.running);
  t.regex(after.body.checkedAt, /^\d{4}-\d\d-\d\dT/);
  const port25 = after.body.findings.find((f: { id: string }) => f.id === 'port25');
  t.deepEqual(Object.keys(port25).sort(), ['check', 'detail', 'failures', 'fix', 'id', 'status', 'title']);
  t.like(port25, { check: 'port25', status: 'warning', failures: 1 });
  t.regex(port25.fix, /relay/);
  // Both local domains are checked; example.test publishes everything, family.test nothing.
  const byId = Object.fromEntries(after.body.findings.map((f: { id: string; status: string }) => [f.id, f.status]));
  t.is(byId['mx:example.test'], 'ok');
  t.is(byId['mx:family.test'], 'warning');
  // Its keys were never made (addFamily goes through the store only): not checked, rather than failed.
  t.is(byId['dkim:family.test'], 'unknown');
});
