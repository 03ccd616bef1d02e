// The web UI end to end in real headless Chromium (Debian's, through
// playwright-core) against a real services process on ephemeral ports with a
// fresh data folder, over HTTPS with the box's self-signed certificate:
// claim the box (by the setup code; and by the button, pressed with
// `mailnest setup claim` from the built CLI while the page waits), every
// wizard step, a mailbox made on the admin page, that user signing in and
// changing the password, then IMAP: the new password works, the old does not.
// Every wizard step and admin page is checked at 1280 and 360 px wide (no
// sideways scrolling, every field labelled, every button named) and
// photographed into .build/screenshots/.

import test, { type ExecutionContext } from 'ava';
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { domainRecords, ensureDomainKeys } from '../../services/dkim/index.ts';
import { accessibilityProblems, horizontalOverflow, launchChromium, screenshot, screenshotDir } from '../helpers/browser.ts';
import { runCli } from '../helpers/cli.ts';
import { startDnsServer, type Zone } from '../helpers/dns-server.ts';
import { startServices, testPassword, type TestServices } from '../helpers/services.ts';
import { imapLoginWorks } from '../helpers/imap-client.ts';
import { until } from '../hw/until.ts';

const adminPassword = 'correct horse battery staple';
const hostname = 'mail.family.test';
const domain = 'family.test';

let browser: Browser;
test.before(async () => {
  browser = await launchChromium();
});
test.after.always(async () => {
  await browser?.close();
});

async function newPage(t: ExecutionContext, box: TestServices): Promise<{ context: BrowserContext; page: Page; origin: string; errors: string[] }> {
  const context = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1280, height: 860 }, locale: 'en-GB', timezoneId: 'Europe/Berlin' });
  t.teardown(() => context.close());
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: `https://127.0.0.1:${box.ports.https}` });
  const page = await context.newPage();
  page.setDefaultTimeout(15_000);
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(String(error)));
  page.on('console', (message) => {
    // An API call that answers 4xx is an expected part of these tests; a CSP refusal or a script error is not.
    if (message.type() === 'error' && !message.text().startsWith('Failed to load resource: the server responded with a status of 4')) errors.push(message.text());
  });
  return { context, page, origin: `https://127.0.0.1:${box.ports.https}`, errors };
}

/** Checks the page at 1280 and at 360 px wide, and photographs it at both. */
async function look(t: ExecutionContext, page: Page, name: string): Promise<void> {
  await page.waitForLoadState('networkidle');
  t.deepEqual(await accessibilityProblems(page), [], `${name}: every field labelled, every button named`);
  await screenshot(page, name);
  await page.setViewportSize({ width: 360, height: 760 });
  const { overflow, widest } = await horizontalOverflow(page);
  t.is(overflow, 0, `${name} at 360 px scrolls sideways; widest: ${widest}`);
  await screenshot(page, name);
  await page.setViewportSize({ width: 1280, height: 860 });
}

/** The input, select or textarea whose label is exactly `label` (not a region or form named the same). */
function field(page: Page, label: string) {
  return page.locator('input, select, textarea').and(page.getByLabel(label, { exact: true }));
}

async function heading(page: Page, text: string | RegExp): Promise<void> {
  await page.getByRole('heading', { level: 1, name: text }).waitFor();
}

test.serial('the wizard claimed by the setup code, a mailbox made on the admin page, its user changes the password, proven over IMAP', async (t) => {
  t.timeout(180_000);
  // The doctor asks a DNS server on 127.0.0.1, which publishes the records once the wizard has shown them.
  const zone: Zone = {};
  const dns = await startDnsServer(t, zone);
  // hostname: undefined: the name stored by the wizard is the one in effect (a flag would override it), so the identity step makes a new certificate.
  const box = await startServices(t, { overrides: { 'dns-servers': dns.server, hostname: undefined }, doctor: { timings: { lookupMs: 1500, probeMs: 1500 } } });
  const { page, origin, errors } = await newPage(t, box);
  t.log(`screenshots: ${screenshotDir}`);

  await page.goto(`${origin}/`);
  await heading(page, 'Claim the box');
  await page.waitForURL((url) => url.pathname === '/setup', { timeout: 15_000 });
  t.is(new URL(page.url()).pathname, '/setup', 'an unclaimed box sends every page to the wizard');
  await look(t, page, 'wizard-1-claim');

  // A wrong code is refused, with what to do; the right one (from <data>/setup-code) claims.
  await field(page, 'Setup code').fill('AAAA-AAAA');
  await page.getByRole('button', { name: 'Claim with the code' }).click();
  await page.getByText(/not the setup code/).waitFor();
  const code = readFileSync(join(box.data, 'setup-code'), 'utf8').trim();
  await field(page, 'Setup code').fill(code.toLowerCase());
  await page.getByRole('button', { name: 'Claim with the code' }).click();

  await heading(page, 'Certificate');
  const certificate = new X509Certificate(readFileSync(join(box.data, 'tls', 'cert.pem')));
  const shown = (await page.locator('.fingerprint').textContent())!.replace(/\s+/g, '');
  t.is(shown, certificate.fingerprint256, 'the fingerprint shown is the certificate’s own');
  await look(t, page, 'wizard-2-certificate');
  await page.getByRole('button', { name: 'They match' }).click();

  await heading(page, 'Admin password');
  await field(page, 'Admin password').fill('password12');
  await field(page, 'Repeat the password').fill('password12');
  await page.getByRole('button', { name: 'Set the password' }).click();
  // The server's rule speaks beside the field.
  await page.locator('.field-error').filter({ hasText: /common|guess|long/i }).waitFor();
  t.is(await field(page, 'Admin password').getAttribute('aria-invalid'), 'true');
  await look(t, page, 'wizard-3-password');
  await field(page, 'Admin password').fill(adminPassword);
  await field(page, 'Repeat the password').fill(adminPassword);
  await page.getByRole('button', { name: 'Set the password' }).click();

  await heading(page, 'Name and domain');
  await field(page, 'Box name (host name)').fill(hostname);
  await field(page, 'Mail domain').fill(domain);
  await look(t, page, 'wizard-4-identity');
  await page.getByRole('button', { name: 'Save name and domain' }).click();
  // The services start again under the new name; the page waits for them and shows the new certificate to compare.
  const renewed = page.locator('.fingerprint');
  await renewed.waitFor({ timeout: 60_000 });
  const newCertificate = new X509Certificate(readFileSync(join(box.data, 'tls', 'cert.pem')));
  t.not(newCertificate.fingerprint256, certificate.fingerprint256, 'a new name makes a new certificate');
  t.true(newCertificate.subjectAltName?.includes(`DNS:${hostname}`), 'for the new name');
  t.is((await renewed.textContent())!.replace(/\s+/g, ''), newCertificate.fingerprint256, 'the page shows the new certificate’s fingerprint');
  await look(t, page, 'wizard-4-identity-new-certificate');
  await page.getByRole('button', { name: 'They match' }).click();

  await heading(page, 'Mailboxes');
  t.false(await page.getByRole('button', { name: 'Continue' }).isEnabled(), 'no going on without a mailbox');
  await field(page, 'Name before the @').fill('anna');
  await field(page, 'Full name (optional)').fill('Anna Example');
  await page.getByRole('button', { name: 'Make the mailbox' }).click();
  const card = page.locator('.mailbox-card');
  await card.waitFor();
  const annaPassword = (await card.locator('.secret').textContent())!;
  t.true(annaPassword.length >= 10, 'a generated password is shown once');
  t.true(await imapLoginWorks(box.ports.imaps!, 'anna@family.test', annaPassword), 'the card’s password works over IMAP');
  const qr = card.getByRole('img', { name: /QR code with the server settings for anna@family.test/ });
  t.regex((await qr.getAttribute('src'))!, /^data:image\/png;base64,/);
  t.regex(await card.textContent() ?? '', new RegExp(`${hostname}.*${box.ports.imaps}`));
  await look(t, page, 'wizard-5-mailboxes');
  await page.getByRole('button', { name: 'Continue' }).click();

  await heading(page, 'Sending mail');
  await field(page, 'Through a relay (smarthost)').check();
  await field(page, 'Provider').selectOption({ label: 'Gmail / Google Workspace' });
  t.is(await field(page, 'Relay server').inputValue(), 'smtp.gmail.com', 'a preset fills the form');
  await look(t, page, 'wizard-6-outbound');
  await field(page, 'Directly (port 25 is open on my line)').check();
  await page.getByRole('button', { name: 'Send directly' }).click();

  await heading(page, 'DNS records');
  const mxValue = page.locator('.record').filter({ has: page.locator('.badge', { hasText: /^MX$/ }) }).locator('code').nth(1);
  t.is(await mxValue.textContent(), `10 ${hostname}.`);
  await page.getByRole('button', { name: `Copy the value of the MX record ${domain}.` }).click();
  await page.getByRole('button', { name: `Copy the value of the MX record ${domain}.` }).getByText('Copied.').waitFor();
  t.is(await page.evaluate(() => navigator.clipboard.readText()), `10 ${hostname}.`, 'the copy button puts the value on the clipboard');
  await look(t, page, 'wizard-7-dns');
  // Now "publish" them, so the doctor finds them.
  const records = domainRecords(domain, hostname, ensureDomainKeys(box.services.store.paths.dkim, domain));
  zone[hostname] = { a: ['192.0.2.10'] };
  zone[domain] = { mx: [{ priority: 10, exchange: hostname }], txt: ['v=spf1 mx -all'] };
  for (const record of records) {
    const name = record.name.replace(/\.$/, '');
    if (record.type === 'TXT' && name !== domain) zone[name] = { txt: [record.value] };
    if (record.type === 'SRV') {
      const [priority, weight, port, target] = record.value.split(' ');
      zone[name] = { srv: [{ priority: Number(priority), weight: Number(weight), port: Number(port), target: target!.replace(/\.$/, '') }] };
    }
  }
  await page.getByRole('button', { name: 'Continue' }).click();

  await heading(page, 'Checks');
  await page.getByRole('button', { name: 'Check again now' }).click();
  await page.locator('.finding').first().waitFor({ timeout: 30_000 });
  await until(async () => !(await page.getByText('Checking…').isVisible()), 'the doctor’s run to end', 30_000);
  t.true((await page.locator('.finding').count()) > 0, 'the doctor’s findings are shown');
  await look(t, page, 'wizard-8-doctor');
  await page.getByRole('button', { name: 'Continue' }).click();

  await heading(page, 'Finish');
  await look(t, page, 'wizard-9-finish');
  await page.getByRole('button', { name: 'Finish the setup' }).click();

  // The admin panel, in the session the claim made.
  await heading(page, 'Mailboxes');
  await page.waitForURL((url) => url.pathname === '/admin/mailboxes', { timeout: 15_000 });
  t.is(new URL(page.url()).pathname, '/admin/mailboxes');
  t.is((await box.services.store.setup.get()), 'complete');
  await field(page, 'Name before the @').fill('ben');
  await field(page, 'Full name (optional)').fill('Ben Example');
  await field(page, 'Password (leave empty to make one)').fill(testPassword);
  await page.getByRole('button', { name: 'Make the mailbox' }).click();
  await page.getByText('ben@family.test is made.').waitFor();
  await page.getByRole('button', { name: 'Manage ben@family.test' }).click();
  await page.getByRole('button', { name: 'Set a new password' }).waitFor();
  await look(t, page, 'admin-mailboxes');

  for (const [link, title] of [['Domains', 'Domains'], ['Aliases', 'Aliases'], ['Queue', 'Outbound queue'], ['Relay', 'Relay (smarthost)'], ['DNS check', 'DNS check'], ['System', 'System']] as const) {
    await page.getByRole('navigation', { name: 'Admin pages' }).getByRole('link', { name: link }).click();
    await heading(page, title);
    if (link === 'Aliases') {
      await field(page, 'Alias address').fill('family@family.test');
      await field(page, 'Delivered to (one address a line)').fill('anna@family.test\nben@family.test');
      await page.getByRole('button', { name: 'Add the alias' }).click();
      await page.getByText('family@family.test is added.').waitFor();
    }
    if (link === 'System') await page.locator('.tile').first().waitFor();
    if (link === 'DNS check') await page.locator('.record').first().waitFor();
    await look(t, page, `admin-${link.toLowerCase().replace(/ /g, '-')}`);
  }

  // Sign out; Ben signs in and changes his password.
  await page.getByRole('button', { name: 'Sign out' }).click();
  await heading(page, 'Sign in');
  await look(t, page, 'login');
  await field(page, 'User name or mail address').fill('ben@family.test');
  await field(page, 'Password').fill(testPassword);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await heading(page, 'Your mailbox');
  await page.waitForURL((url) => url.pathname === '/me', { timeout: 15_000 });
  t.is(new URL(page.url()).pathname, '/me');
  const newPassword = 'violet-harbour-kite-93';
  await field(page, 'Current password').fill(testPassword);
  await field(page, 'New password').fill(newPassword);
  await field(page, 'Repeat the new password').fill(newPassword);
  await page.getByRole('button', { name: 'Change the password' }).click();
  await page.getByText(/Your password is changed/).waitFor();
  await look(t, page, 'me');

  t.true(await imapLoginWorks(box.ports.imaps!, 'ben@family.test', newPassword), 'the new password works over IMAP');
  t.false(await imapLoginWorks(box.ports.imaps!, 'ben@family.test', testPassword), 'the old password no longer does');
  t.deepEqual(errors, [], 'no script errors and no CSP violations in the page');
});

test.serial('the wizard claimed by the button: the page waits until `mailnest setup claim` presses it', async (t) => {
  t.timeout(60_000);
  const box = await startServices(t);
  const { page, origin, errors } = await newPage(t, box);
  await page.goto(`${origin}/setup`);
  await heading(page, 'Claim the box');
  await page.getByRole('button', { name: 'Wait for the button' }).click();
  await page.getByText('Now press the button on the box.').waitFor();
  await look(t, page, 'wizard-1-claim-waiting');
  const pressed = await runCli(['setup', 'claim'], { data: box.data });
  // The press was taken (the CLI's exit status can race the claim it reports on: services/web/setup.ts removes
  // the press file before it grants the claim); what counts is that the waiting page is let in.
  t.regex(pressed.stdout, /^pressed/, pressed.stderr);
  await heading(page, 'Certificate');
  t.is(box.services.store.setup.get(), 'claimed');
  t.deepEqual(errors, [], 'no script errors and no CSP violations in the page');
});

test.serial('at 360 px wide with a 60-character domain and long names, no admin or self-service page scrolls sideways', async (t) => {
  t.timeout(90_000);
  const box = await startServices(t);
  const store = box.services.store;
  const longDomain = `${'sehr-langer-familienname-'.repeat(2)}beispiel.test`.slice(-60);
  t.is(longDomain.length, 60);
  store.domains.add(longDomain);
  const user = `hans-juergen.mueller-luedenscheidt@${longDomain}`;
  await store.accounts.add({ address: user, password: testPassword, displayName: 'Hans-Jürgen Müller-Lüdenscheidt von Bodenseeufer' });
  store.accounts.setQuota(user, 2_000_000_000);
  await store.admin.setPassword(adminPassword);
  store.setup.move(['unclaimed', 'claimed'], 'complete');
  const { page, origin, errors } = await newPage(t, box);
  await page.setViewportSize({ width: 360, height: 760 });

  const narrow = async (name: string) => {
    await page.waitForLoadState('networkidle');
    const { overflow, widest } = await horizontalOverflow(page);
    t.is(overflow, 0, `${name} scrolls sideways at 360 px; widest: ${widest}`);
    t.deepEqual(await accessibilityProblems(page), [], `${name}: every field labelled, every button named`);
  };

  await page.goto(`${origin}/admin/system`);
  await heading(page, 'Sign in');
  await page.waitForURL((url) => url.pathname === '/login', { timeout: 15_000 });
  t.is(new URL(page.url()).pathname, '/login', 'a page that needs a session sends the browser to sign in');
  await narrow('login');
  await field(page, 'User name or mail address').fill('admin');
  await field(page, 'Password').fill(adminPassword);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await heading(page, 'Mailboxes');
  await page.getByRole('button', { name: `Manage ${user}` }).click();
  await page.getByRole('button', { name: 'Set a new password' }).waitFor();
  await narrow('mailboxes');
  await screenshot(page, 'long-names-mailboxes');
  for (const [link, title] of [['Domains', 'Domains'], ['Aliases', 'Aliases'], ['Queue', 'Outbound queue'], ['Relay', 'Relay (smarthost)'], ['DNS check', 'DNS check'], ['System', 'System']] as const) {
    await page.getByRole('navigation', { name: 'Admin pages' }).getByRole('link', { name: link }).click();
    await heading(page, title);
    if (link === 'DNS check') await page.locator('.record').first().waitFor();
    await narrow(link);
  }
  await screenshot(page, 'long-names-system');
  await page.getByRole('button', { name: 'Sign out' }).click();
  await field(page, 'User name or mail address').fill(user);
  await field(page, 'Password').fill(testPassword);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await heading(page, 'Your mailbox');
  await narrow('me');
  await screenshot(page, 'long-names-me');
  t.deepEqual(errors, [], 'no script errors and no CSP violations in the page');
});
