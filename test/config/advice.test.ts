// Settings that are valid but break a real install are said once at start
// (one log line) and in `mailnest domain dns`.

import test from 'ava';
import { hostnameAdvice, isFullDomainName } from '../../services/config/advice.ts';
import { addFamily, startServices } from '../helpers/services.ts';

test('a machine name or a private name is not a full domain name; a public one is', (t) => {
  for (const name of ['vm', 'mailnest', 'raspberrypi', 'vm.localdomain', 'box.local', 'box.lan', 'nas.home.arpa', 'x.internal', 'localhost', '192.168.1.20']) t.false(isFullDomainName(name), name);
  for (const name of ['mail.example.com', 'example.com', 'MX.Example.Org.', 'mail.home.example.net']) t.true(isFullDomainName(name), name);
  t.regex(hostnameAdvice('vm', ['family.example'])!.message, /^the hostname vm is not a full domain name, .*MX, HELO and bounces \(MAILER-DAEMON@vm\); .*mailnest config set hostname mail\.family\.example$/);
  t.regex(hostnameAdvice('vm', [])!.message, /mailnest config set hostname mail\.example\.com$/);
  t.is(hostnameAdvice('mail.family.example', ['family.example']), undefined);
});

test('serve warns once at start about a hostname that is not a full domain name, suggesting mail.<domain>', async (t) => {
  // The data folder already has a domain when serve starts: that is the one suggested.
  const first = await startServices(t, { overrides: { hostname: 'mail.example.test' } });
  await addFamily(first.services);
  t.false(first.logs.some((l) => / warn /.test(l) && /hostname/.test(l)), 'no warning for a full name');
  await first.services.stop();
  const env = await startServices(t, { data: first.data, overrides: { hostname: 'vm' } });
  const warnings = env.logs.filter((l) => / warn .*the hostname vm is not a full domain name/.test(l));
  t.is(warnings.length, 1, env.logs.join('\n'));
  t.regex(warnings[0]!, /mailnest config set hostname mail\.example\.test"? hostname=vm suggestion=mail\.example\.test$/);
});

test('serve warns when the postmaster setting names no enabled user, and says where the mail goes', async (t) => {
  const first = await startServices(t);
  await addFamily(first.services);
  await first.services.stop();
  const env = await startServices(t, { data: first.data, overrides: { postmaster: 'gone@example.test' } });
  t.true(env.logs.some((l) => / warn .*the postmaster setting names gone@example\.test, which is not an enabled user; mail for postmaster and abuse@ goes to alice@example\.test instead/.test(l)), env.logs.join('\n'));
});
