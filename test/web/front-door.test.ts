// The front door over real HTTP and HTTPS: HTTP redirects to HTTPS (308)
// except /healthz, ACME challenges and mail-client autoconfig; security
// headers on every answer; the built UI's assets, precompressed and cached by
// content hash, and index.html for the UI's routes; a clear 503 without a
// build. curl stands in for a client that is not Node.

import test from 'ava';
import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { brotliCompressSync, gunzipSync, gzipSync, brotliDecompressSync } from 'node:zlib';
import { addFamily, startServices } from '../helpers/services.ts';
import { tempDataDir } from '../helpers/data-dir.ts';
import { boxCertificate, WebClient } from '../helpers/web-client.ts';

const run = promisify(execFile);

const csp = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'";
const indexHtml = '<!doctype html><html><head><script type="module" src="/assets/main-ABC123.js"></script></head><body></body></html>\n';
const script = `console.log(${JSON.stringify('mailnest '.repeat(200))});\n`;

/** A dist/web as the UI build makes it: index.html, assets with .gz and .br beside them. */
function builtUi(t: Parameters<typeof tempDataDir>[0]): string {
  const folder = tempDataDir(t, 'mailnest-web-');
  mkdirSync(join(folder, 'assets'));
  writeFileSync(join(folder, 'index.html'), indexHtml);
  writeFileSync(join(folder, 'assets', 'main-ABC123.js'), script);
  writeFileSync(join(folder, 'assets', 'main-ABC123.js.gz'), gzipSync(script));
  writeFileSync(join(folder, 'assets', 'main-ABC123.js.br'), brotliCompressSync(script));
  writeFileSync(join(folder, 'assets', 'plain-DEF456.css'), 'body { color: black }\n');
  return folder;
}

async function curl(args: string[]): Promise<string> {
  const { stdout } = await run('curl', ['--silent', '--show-error', '--max-time', '20', ...args]);
  return stdout;
}

test('HTTP: every page 308 to HTTPS with path and query, /healthz and autoconfig answered as they are (curl)', async (t) => {
  const b = await startServices(t, { webAssets: builtUi(t) });
  const http = b.ports.http!;
  const https = b.ports.https!;
  const head = await curl(['-i', `http://127.0.0.1:${http}/admin/mailboxes?page=2`]);
  t.regex(head, /^HTTP\/1\.1 308/);
  t.true(head.includes(`location: https://127.0.0.1:${https}/admin/mailboxes?page=2`), head);
  t.true(head.toLowerCase().includes(`content-security-policy: ${csp.toLowerCase()}`));
  t.false(/strict-transport-security/i.test(head), 'no HSTS over HTTP');
  // A name in Host is kept; a Host that is not a name falls back to the configured host name.
  t.true((await curl(['-i', '-H', 'Host: mailnest.local:8080', `http://127.0.0.1:${http}/`])).includes(`location: https://mailnest.local:${https}/`));
  t.true((await curl(['-i', '-H', 'Host: bad/host', `http://127.0.0.1:${http}/x`])).includes(`location: https://mx.example.test:${https}/x`));
  // 308 keeps the method: an API POST sent to HTTP arrives at HTTPS as a POST.
  const post = await curl(['-i', '-X', 'POST', `http://127.0.0.1:${http}/api/session`]);
  t.regex(post, /^HTTP\/1\.1 308/);
  // Followed by curl with the box's certificate trusted, the redirect lands on the UI.
  const followed = await curl(['-L', '--cacert', join(b.data, 'tls', 'cert.pem'), `http://127.0.0.1:${http}/setup`]);
  t.is(followed, indexHtml);

  for (const path of ['/healthz']) {
    const answer = await curl(['-i', `http://127.0.0.1:${http}${path}`]);
    t.regex(answer, /^HTTP\/1\.1 200/, path);
  }
  const acme = await curl(['-i', `http://127.0.0.1:${http}/.well-known/acme-challenge/token`]);
  t.regex(acme, /^HTTP\/1\.1 404/);
  t.false(/location:/i.test(acme));
  for (const path of ['/.well-known/autoconfig/mail/config-v1.1.xml', '/mail/config-v1.1.xml?emailaddress=alice@example.test']) {
    const answer = await curl(['-i', `http://127.0.0.1:${http}${path}`]);
    t.regex(answer, /^HTTP\/1\.1 200/, path);
    t.true(answer.includes('<clientConfig version="1.1">'), path);
  }
  // /healthz answers on HTTPS as well.
  const browser = new WebClient(https, boxCertificate(b.data));
  t.is((await browser.get('/healthz')).status, 200);
});

test('headers on every answer: CSP, nosniff, no-referrer, frame-ancestors none; HSTS on HTTPS only', async (t) => {
  const b = await startServices(t, { webAssets: builtUi(t) });
  const browser = new WebClient(b.ports.https!, boxCertificate(b.data));
  for (const path of ['/', '/assets/main-ABC123.js', '/assets/missing-1.js', '/api/setup', '/api/nothing', '/healthz', '/mail/config-v1.1.xml']) {
    const answer = await browser.get(path);
    t.is(answer.headers['content-security-policy'], csp, path);
    t.is(answer.headers['x-content-type-options'], 'nosniff', path);
    t.is(answer.headers['referrer-policy'], 'no-referrer', path);
    t.regex(String(answer.headers['strict-transport-security']), /^max-age=\d+/, path);
  }
  const plain = new WebClient(b.ports.http!, Buffer.alloc(0), { secure: false });
  for (const path of ['/', '/healthz']) {
    const answer = await plain.get(path);
    t.is(answer.headers['content-security-policy'], csp, path);
    t.is(answer.headers['x-content-type-options'], 'nosniff');
    t.is(answer.headers['strict-transport-security'], undefined);
  }
});

test('assets: immutable cache, br or gzip as accepted, Vary; the UI routes get index.html with no-cache; no path leaves the folder', async (t) => {
  const b = await startServices(t, { webAssets: builtUi(t) });
  const https = b.ports.https!;
  const cacert = join(b.data, 'tls', 'cert.pem');
  const fetchRaw = async (path: string, encoding?: string) => {
    const headerFile = join(tempDataDir(t), 'headers');
    const bodyFile = `${headerFile}.body`;
    await curl(['--cacert', cacert, '-D', headerFile, '-o', bodyFile, ...(encoding !== undefined ? ['-H', `Accept-Encoding: ${encoding}`] : []), `https://127.0.0.1:${https}${path}`]);
    const { readFileSync } = await import('node:fs');
    const headers = readFileSync(headerFile, 'utf8').toLowerCase();
    return { headers, body: readFileSync(bodyFile) };
  };
  const br = await fetchRaw('/assets/main-ABC123.js', 'gzip, deflate, br');
  t.regex(br.headers, /^http\/1\.1 200/);
  t.true(br.headers.includes('content-encoding: br'));
  t.true(br.headers.includes('cache-control: public, max-age=31536000, immutable'));
  t.true(br.headers.includes('vary: accept-encoding'));
  t.true(br.headers.includes('content-type: text/javascript'));
  t.is(brotliDecompressSync(br.body).toString(), script);
  const gz = await fetchRaw('/assets/main-ABC123.js', 'gzip');
  t.true(gz.headers.includes('content-encoding: gzip'));
  t.is(gunzipSync(gz.body).toString(), script);
  const noBr = await fetchRaw('/assets/main-ABC123.js', 'br;q=0, gzip;q=0.5');
  t.true(noBr.headers.includes('content-encoding: gzip'));
  const identity = await fetchRaw('/assets/main-ABC123.js', '');
  t.false(identity.headers.includes('content-encoding'));
  t.is(identity.body.toString(), script);
  // A file without compressed copies is sent as it is.
  const css = await fetchRaw('/assets/plain-DEF456.css', 'br, gzip');
  t.false(css.headers.includes('content-encoding'));
  t.true(css.headers.includes('content-type: text/css'));

  for (const path of ['/', '/setup', '/admin/mailboxes/alice@example.test', '/me']) {
    const page = await fetchRaw(path);
    t.regex(page.headers, /^http\/1\.1 200/, path);
    t.true(page.headers.includes('cache-control: no-cache'), path);
    t.true(page.headers.includes('content-type: text/html'), path);
    t.is(page.body.toString(), indexHtml, path);
  }
  t.regex((await fetchRaw('/assets/missing-1.js')).headers, /^http\/1\.1 404/);
  t.regex((await fetchRaw('/assets/main-ABC123.js.br')).headers, /^http\/1\.1 404/);
  t.regex((await fetchRaw('/assets/..%2f..%2fetc%2fpasswd')).headers, /^http\/1\.1 404/);
  const traversal = await curl(['--cacert', cacert, '--path-as-is', `https://127.0.0.1:${https}/assets/../../../etc/passwd`]);
  t.false(traversal.includes('root:'));
  // An API path is never index.html.
  t.regex((await fetchRaw('/api/unknown')).headers, /content-type: application\/json/);
});

test('without dist/web: a 503 page that says to run make build; the API still answers', async (t) => {
  const b = await startServices(t, { webAssets: join(tempDataDir(t), 'dist', 'web') });
  const browser = new WebClient(b.ports.https!, boxCertificate(b.data));
  const page = await browser.get('/setup');
  t.is(page.status, 503);
  t.regex(String(page.headers['content-type']), /^text\/html/);
  t.regex(page.text, /make build/);
  t.false(page.text.includes('<script'));
  t.is((await browser.get('/assets/main-1.js')).status, 503);
  t.is((await browser.get('/api/setup')).status, 200);
});

test('autoconfig: Thunderbird config-v1.1.xml and Outlook autodiscover (POST, curl) give the box name and the ports clients reach', async (t) => {
  const b = await startServices(t);
  await addFamily(b.services);
  const http = b.ports.http!;
  const ports = await b.services.listeningPorts();
  const thunderbird = await curl([`http://127.0.0.1:${http}/.well-known/autoconfig/mail/config-v1.1.xml?emailaddress=alice%40example.test`]);
  t.true(thunderbird.includes('<domain>example.test</domain>'));
  t.true(thunderbird.includes('<hostname>mx.example.test</hostname>'));
  t.true(thunderbird.includes(`<port>${ports.imaps}</port>\n      <socketType>SSL</socketType>`));
  t.true(thunderbird.includes(`<port>${ports.submission}</port>\n      <socketType>STARTTLS</socketType>`));
  t.true(thunderbird.includes('<username>%EMAILADDRESS%</username>'));

  const request = `<?xml version="1.0" encoding="utf-8"?>
<Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006">
  <Request><EMailAddress>alice@example.test</EMailAddress>
  <AcceptableResponseSchema>http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a</AcceptableResponseSchema></Request>
</Autodiscover>`;
  const outlook = await curl(['-i', '-X', 'POST', '-H', 'Content-Type: text/xml', '--data-binary', request, `http://127.0.0.1:${http}/Autodiscover/Autodiscover.xml`]);
  t.regex(outlook, /^HTTP\/1\.1 200/);
  t.true(outlook.includes('<LoginName>alice@example.test</LoginName>'));
  t.true(outlook.includes(`<Type>IMAP</Type>\n        <Server>mx.example.test</Server>\n        <Port>${ports.imaps}</Port>`));
  t.true(outlook.includes(`<Type>SMTP</Type>\n        <Server>mx.example.test</Server>\n        <Port>${ports.submissions}</Port>`));
  // What comes in is escaped on the way out.
  const hostile = await curl(['-X', 'POST', '--data-binary', '<EMailAddress>a&amp;"x@example.test</EMailAddress>', `http://127.0.0.1:${http}/autodiscover/autodiscover.xml`]);
  t.true(hostile.includes('<LoginName>a&amp;amp;&quot;x@example.test</LoginName>'));
  const empty = await curl(['-i', '-X', 'POST', '--data-binary', '<nothing/>', `http://127.0.0.1:${http}/autodiscover/autodiscover.xml`]);
  t.regex(empty, /^HTTP\/1\.1 400/);
});

test('the request log has one line per request with a cid, the scheme and the status', async (t) => {
  const b = await startServices(t);
  const browser = new WebClient(b.ports.https!, boxCertificate(b.data));
  await browser.get('/api/setup');
  const line = b.logs.find((l) => l.includes(' web request ') && l.includes('path=/api/setup'));
  t.truthy(line, b.logs.join(''));
  t.regex(line!, /cid=[0-9a-f]{8} client=127\.0\.0\.1 scheme=https method=GET path=\/api\/setup status=200 ms=\d+/);
});
