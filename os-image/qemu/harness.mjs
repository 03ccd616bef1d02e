// The QEMU end-to-end test of the Mailnest image (run by os-image/qemu-test.sh).
//
// Boots the image on QEMU's virt board (arm64, TCG) with an i6300esb watchdog
// and user networking whose forwards listen on 127.0.0.1 only (restrict=on: the
// guest reaches nothing outside), then:
//   1. waits for /healthz (guest port 80) and reports the boot-to-healthy time;
//   2. checks the first boot over the serial console (read-only root, /data
//      grown to the disk, setup code, firewall, TLS certificate);
//   3. fetches the web UI and GET /api/setup over HTTPS (unclaimed), then runs
//      the setup through the CLI on the serial console (domain, user, admin
//      password), after which the setup state is complete;
//   4. sends a message over SMTP (swaks) and reads it back over IMAPS (curl);
//   5. reboots and finds the message again;
//   6. freezes the supervisor (SIGSTOP) and waits for the watchdog to reset
//      the board, which must come back healthy with the message still there.
// Every step has a deadline; the whole run has one too. QEMU is always killed.
//
// Invariants: the serial console is a root shell only because the test image
// has /etc/mailnest/console-shell; commands are framed by markers the shell
// computes ($?), so the echo of a typed line never matches a marker.
//
// Usage: node harness.mjs --image DIR --work DIR [--deadline-minutes N]

import { spawn, execFile } from 'node:child_process';
import { createWriteStream, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { join } from 'node:path';
import { parseArgs, promisify } from 'node:util';

const execFileP = promisify(execFile);
const { values: opts } = parseArgs({
  options: {
    image: { type: 'string' },
    work: { type: 'string' },
    'deadline-minutes': { type: 'string', default: '40' },
    'disk-size': { type: 'string', default: '2G' },
    qemu: { type: 'string', default: 'qemu-system-aarch64' },
  },
});
if (!opts.image || !opts.work) throw new Error('usage: harness.mjs --image DIR --work DIR');

const started = Date.now();
const seconds = (ms) => (ms / 1000).toFixed(1);
const say = (text) => console.log(`[qemu-test ${seconds(Date.now() - started).padStart(6)}s] ${text}`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const figures = {};

class Failure extends Error {}
const fail = (text) => { throw new Failure(text); };

// --- ports ---------------------------------------------------------------------

async function freePort() {
  return await new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

// probe: a port the firewall must drop (the test listens on it inside the guest).
const guestPorts = { http: 80, https: 443, smtp: 25, imaps: 993, imap: 143, probe: 8080 };
const hostPorts = {};
for (const name of Object.keys(guestPorts)) hostPorts[name] = await freePort();

// --- QEMU ------------------------------------------------------------------------

const serialLog = createWriteStream(join(opts.work, 'serial.log'));
let serial = ''; // everything the console printed
let qemu;
let qemuExit;

async function startQemu() {
  const disk = join(opts.work, 'disk.qcow2');
  // A copy-on-write disk over the built image, larger than it: the first boot
  // must grow /data to fill it, as on a new SD card.
  await execFileP('qemu-img', ['create', '-q', '-f', 'qcow2', '-F', 'raw', '-b', join(opts.image, 'mailnest-arm64.img'), disk, opts['disk-size']]);
  const cmdline = (await readFile(join(opts.image, 'cmdline.txt'), 'utf8')).trim();
  const forwards = Object.entries(guestPorts).map(([name, port]) => `hostfwd=tcp:127.0.0.1:${hostPorts[name]}-:${port}`).join(',');
  const args = [
    '-M', 'virt', '-cpu', 'cortex-a72', '-smp', '2', '-m', '1024',
    '-nodefaults', '-no-user-config', '-display', 'none',
    '-kernel', join(opts.image, 'vmlinuz'), '-initrd', join(opts.image, 'initrd.img'), '-append', cmdline,
    '-drive', `if=none,id=disk0,file=${disk},format=qcow2`, '-device', 'virtio-blk-pci,drive=disk0',
    '-netdev', `user,id=net0,restrict=on,${forwards}`, '-device', 'virtio-net-pci,netdev=net0,romfile=',
    '-device', 'virtio-rng-pci',
    '-device', 'i6300esb', '-action', 'watchdog=reset',
    '-chardev', 'stdio,id=console,signal=off', '-serial', 'chardev:console',
  ];
  say(`starting QEMU (forwards on 127.0.0.1: http ${hostPorts.http}, smtp ${hostPorts.smtp}, imaps ${hostPorts.imaps})`);
  qemu = spawn(opts.qemu, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  writeFileSync(join(opts.work, 'qemu.pid'), String(qemu.pid));
  qemu.stdout.on('data', (chunk) => {
    const text = chunk.toString('latin1');
    serial += text;
    serialLog.write(chunk);
  });
  qemu.stderr.on('data', (chunk) => serialLog.write(`[qemu stderr] ${chunk}`));
  qemuExit = new Promise((resolve) => qemu.on('exit', (code, signal) => resolve({ code, signal })));
  qemuExit.then(({ code, signal }) => { qemu.exited = true; say(`QEMU exited (${signal ?? code})`); });
}

async function stopQemu() {
  if (!qemu || qemu.exited) return;
  qemu.kill('SIGTERM');
  const exited = await Promise.race([qemuExit, sleep(5000).then(() => false)]);
  if (exited === false) qemu.kill('SIGKILL');
  await Promise.race([qemuExit, sleep(5000)]);
}

// --- the serial console -----------------------------------------------------------

let commandNumber = 0;

/** Waits until `pattern` appears in the console output after `from`; returns the match. */
async function waitSerial(pattern, from, timeoutMs, what) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const match = pattern.exec(serial.slice(from));
    if (match) return match;
    if (qemu.exited) fail(`QEMU exited while waiting for ${what}`);
    await sleep(200);
  }
  fail(`no ${what} on the serial console within ${seconds(timeoutMs)} s`);
}

/** Waits for the console shell to answer (the banner has printed and sh reads). */
async function waitShell(from, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  await waitSerial(/root shell on the console/, from, timeoutMs, 'console shell banner');
  while (Date.now() < deadline) {
    const n = ++commandNumber;
    const mark = serial.length;
    qemu.stdin.write(`echo @@PING$((${n}+1000))@@\n`);
    const until = Date.now() + 3000;
    while (Date.now() < until) {
      if (serial.slice(mark).includes(`@@PING${n + 1000}@@`)) return;
      await sleep(100);
    }
  }
  fail('the console shell does not answer');
}

/** Runs a shell command on the console; resolves {status, output}. */
async function run(command, timeoutMs = 60_000) {
  const n = ++commandNumber;
  const mark = serial.length;
  qemu.stdin.write(`${command}; echo "@@END${n} $?@@"\n`);
  const match = await waitSerial(new RegExp(`@@END${n} (\\d+)@@`), mark, timeoutMs, `end of \`${command}\``);
  const text = serial.slice(mark, mark + match.index);
  // Drop the echoed command line (the first line) and carriage returns.
  const output = text.replace(/\r/g, '').split('\n').slice(1).join('\n').trim();
  return { status: Number(match[1]), output };
}

async function mustRun(command, timeoutMs) {
  const result = await run(command, timeoutMs);
  if (result.status !== 0) fail(`\`${command}\` exited ${result.status}: ${result.output.slice(-800)}`);
  return result.output;
}

// --- the host side: HTTP, SMTP, IMAP -------------------------------------------------

function healthz() {
  return new Promise((resolve) => {
    const request = http.get({ host: '127.0.0.1', port: hostPorts.http, path: '/healthz', timeout: 3000 }, (response) => {
      let body = '';
      response.on('data', (chunk) => (body += chunk));
      response.on('end', () => {
        try {
          resolve({ httpStatus: response.statusCode, json: JSON.parse(body) });
        } catch {
          resolve({ httpStatus: response.statusCode, json: undefined });
        }
      });
    });
    request.on('timeout', () => request.destroy());
    request.on('error', () => resolve(undefined));
  });
}

/** GET over HTTPS from the host (the box's certificate is self-signed: its fingerprint is what the owner compares). */
function httpsGet(path) {
  return new Promise((resolve, reject) => {
    const request = https.get({ host: '127.0.0.1', port: hostPorts.https, path, timeout: 10_000, rejectUnauthorized: false, servername: 'mailnest.local', agent: false }, (response) => {
      // Read while the socket is attached: by 'end' the response has let go of it.
      const fingerprint = response.socket.getPeerCertificate().fingerprint256;
      let body = '';
      response.on('data', (chunk) => (body += chunk));
      response.on('end', () => resolve({ status: response.statusCode, headers: response.headers, body, fingerprint }));
    });
    request.on('timeout', () => request.destroy(new Error(`GET ${path}: no answer within 10 s`)));
    request.on('error', reject);
  });
}

/** Waits for /healthz to say ok; `newerThanMs`: the services must have started after that moment. */
async function waitHealthy(timeoutMs, what, newerThanMs) {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer';
  while (Date.now() < deadline) {
    if (qemu.exited) fail(`QEMU exited while waiting for ${what}`);
    const answer = await healthz();
    if (answer?.json) {
      const { status, uptimeSeconds } = answer.json;
      last = `status ${status}`;
      // After a reboot or reset the answer must come from services started since.
      const fresh = newerThanMs === undefined || (typeof uptimeSeconds === 'number' && Date.now() - uptimeSeconds * 1000 > newerThanMs);
      if (status === 'ok' && answer.httpStatus === 200 && fresh) return answer.json;
    }
    await sleep(1000);
  }
  fail(`${what}: /healthz not ok within ${seconds(timeoutMs)} s (last: ${last})`);
}

async function command(file, args, timeoutMs = 60_000) {
  try {
    const { stdout, stderr } = await execFileP(file, args, { timeout: timeoutMs, maxBuffer: 10 * 1024 * 1024 });
    return { status: 0, stdout, stderr };
  } catch (error) {
    return { status: error.code ?? 1, stdout: error.stdout ?? '', stderr: error.stderr ?? String(error) };
  }
}

const domain = 'example.test';
const user = `alice@${domain}`;
const password = 'correct horse battery staple';
const token = `qemu-test-${Date.now().toString(36)}`;

async function sendMail() {
  const result = await command('swaks', [
    '--server', '127.0.0.1', '--port', String(hostPorts.smtp), '--helo', 'host.elsewhere.test',
    '--from', 'friend@elsewhere.test', '--to', user,
    '--header', `Subject: ${token}`, '--body', `Sent by os-image/qemu-test.sh: ${token}\n`,
  ], 120_000);
  if (result.status !== 0) fail(`swaks failed (exit ${result.status}): ${(result.stdout + result.stderr).slice(-1200)}`);
  // swaks marks server lines <- (plain) or <~ (TLS); the last 250 answers DATA.
  const replies = [...result.stdout.matchAll(/^<[-~] +(250 [^\n]*)$/gm)];
  say(`SMTP: delivered over port 25 (${replies.length ? replies.at(-1)[1].trim() : '250'})`);
}

/** Reads the INBOX over IMAPS with curl and finds the message by its token. */
async function findMail(what) {
  const url = `imaps://127.0.0.1:${hostPorts.imaps}/INBOX`;
  const auth = ['--user', `${user}:${password}`, '--insecure', '--silent', '--show-error', '--max-time', '60'];
  const search = await command('curl', [...auth, url, '--request', `UID SEARCH SUBJECT "${token}"`], 90_000);
  if (search.status !== 0) fail(`${what}: curl imaps UID SEARCH failed (exit ${search.status}): ${search.stderr.trim()}`);
  const uids = (/\* SEARCH([\d ]*)/.exec(search.stdout)?.[1] ?? '').trim().split(/\s+/).filter(Boolean);
  if (uids.length === 0) fail(`${what}: the message ${token} is not in the INBOX (${search.stdout.trim()})`);
  const fetch = await command('curl', [...auth, `${url};UID=${uids[0]}`], 90_000);
  if (fetch.status !== 0 || !fetch.stdout.includes(token)) fail(`${what}: fetching UID ${uids[0]} failed or lacks the token (exit ${fetch.status}) ${fetch.stderr.trim()}`);
  say(`IMAP (${what}): found the message, UID ${uids[0]}, ${fetch.stdout.length} bytes`);
}

/**
 * Something listening on a port outside the mail and web set (8080) answers
 * inside the guest but not from the host: the firewall drops it.
 */
async function firewallProbe() {
  await mustRun(`node -e "require('net').createServer((s) => s.end('open-port-probe\\n')).listen(8080)" > /dev/null 2>&1 & sleep 2`);
  const inside = await mustRun('node -e "require(\'net\').connect(8080, \'127.0.0.1\').on(\'data\', (d) => { process.stdout.write(d); process.exit(0); })"', 30_000);
  if (!inside.includes('open-port-probe')) fail(`the probe listener does not answer inside the guest: ${inside}`);
  const outside = await new Promise((resolve) => {
    let data = '';
    const socket = net.connect(hostPorts.probe, '127.0.0.1');
    socket.on('data', (chunk) => (data += chunk));
    socket.on('error', () => {});
    setTimeout(() => { socket.destroy(); resolve(data); }, 8000);
  });
  await run('kill $! 2>/dev/null; true');
  if (outside.includes('open-port-probe')) fail('port 8080 answered from outside: the firewall lets it through');
  say('firewall: a listener on port 8080 answers inside the guest, not from the host');
}

/** The guest's uptime in seconds (to tell a fresh boot from a running one). */
async function guestUptime() {
  return Number((await mustRun('cut -d" " -f1 /proc/uptime')).trim());
}

// --- the test -------------------------------------------------------------------------

async function test() {
  await startQemu();
  const bootStart = Date.now();

  // 1. First boot.
  const first = await waitHealthy(15 * 60_000, 'first boot');
  figures.firstBootToHealthy = Date.now() - bootStart;
  say(`HEALTHY after first boot: ${seconds(figures.firstBootToHealthy)} s from QEMU start (services pid ${first.pid})`);

  await waitShell(0, 120_000);
  // 2. What the first boot did.
  const banner = /Setup code: +([2-9A-Z]{4}-[2-9A-Z]{4})/.exec(serial);
  if (!banner) fail('the console did not show a setup code');
  say(`console: setup URL and code shown (${/Web: +(\S+)/.exec(serial)?.[1] ?? '?'}, code ${banner[1]})`);
  const code = await mustRun('cat /data/setup-code');
  if (!code.includes(banner[1])) fail(`/data/setup-code (${code}) differs from the console's ${banner[1]}`);
  const mounts = await mustRun('grep -E " / | /data " /proc/mounts');
  if (!/ \/ ext4 ro[,\s]/.test(mounts)) fail(`the root file system is not mounted read-only: ${mounts}`);
  if (!/ \/data ext4 rw[,\s]/.test(mounts)) fail(`/data is not mounted read-write: ${mounts}`);
  const touch = await run('touch /etc/should-fail 2>&1');
  if (touch.status === 0) fail('could write to /etc on the read-only root');
  const dataSize = Number(await mustRun("df -Pm /data | awk 'NR==2 {print $2}'"));
  if (!(dataSize > 1024)) fail(`/data was not grown to the disk: ${dataSize} MiB`);
  say(`first boot: root read-only, /data grown to ${dataSize} MiB, setup code in /data/setup-code`);
  const rules = await mustRun('nft list ruleset | grep -c -e "policy drop" -e "@mail_and_web"');
  if (Number(rules) < 3) fail(`the firewall is not loaded (${rules})`);
  await mustRun('ls /data/tls | grep -q .');
  say('first boot: firewall loaded (input policy drop), TLS certificate made in /data/tls');
  await firewallProbe();
  const sysctl = await mustRun('cat /proc/sys/kernel/panic /proc/sys/kernel/kptr_restrict /proc/sys/net/ipv4/tcp_syncookies');
  if (sysctl.split(/\s+/).join(' ') !== '10 2 1') fail(`the sysctl settings are not applied (kernel.panic, kptr_restrict, tcp_syncookies: ${sysctl})`);
  say('sysctl: kernel.panic 10, kptr_restrict 2, tcp_syncookies 1');
  const watchdog = await mustRun('cat /sys/class/watchdog/watchdog0/identity /sys/class/watchdog/watchdog0/timeout; grep -o \'"watchdog":{[^}]*}\' /data/run/supervisor.json || grep -A3 \'"watchdog"\' /data/run/supervisor.json');
  say(`watchdog: ${watchdog.replace(/\s+/g, ' ')}`);

  // The web front door: the wizard's page and API over HTTPS, the box unclaimed.
  const page = await httpsGet('/').catch((error) => fail(`HTTPS on 443: ${error.message}`));
  if (page.status !== 200 || !/\/assets\/app-[A-Z0-9]+\.js/.test(page.body)) fail(`GET / over HTTPS answered ${page.status} without the web UI: ${page.body.slice(0, 200)}`);
  const setupBefore = await httpsGet('/api/setup');
  const stateBefore = JSON.parse(setupBefore.body);
  if (stateBefore.state !== 'unclaimed') fail(`GET /api/setup on a new box: ${setupBefore.body.slice(0, 300)}`);
  if (stateBefore.certificate?.sha256 !== page.fingerprint) fail(`the fingerprint the wizard shows (${stateBefore.certificate?.sha256}) is not the certificate's (${page.fingerprint})`);
  say(`web: the UI and GET /api/setup (unclaimed) over HTTPS; the fingerprint shown is the certificate's`);

  // 3. Setup through the CLI.
  await mustRun(`mailnest domain add ${domain}`, 180_000);
  await mustRun(`echo '${password}' | mailnest user add ${user} --password-stdin`, 180_000);
  const users = await mustRun('mailnest user list --json', 120_000);
  if (!users.includes(user)) fail(`user list lacks ${user}: ${users}`);
  await mustRun(`echo '${password}' | mailnest setup admin-password --password-stdin`, 180_000);
  const stateAfter = JSON.parse((await httpsGet('/api/setup')).body).state;
  if (stateAfter !== 'complete') fail(`after setup admin-password the setup state is ${stateAfter}, not complete`);
  say(`setup: domain ${domain}, user ${user} and the admin password set with the CLI on the serial console; the wizard is closed`);

  // 4. Mail in over SMTP, out over IMAP.
  await sendMail();
  await findMail('before reboot');

  // 5. Reboot.
  let mark = serial.length;
  const rebootAt = Date.now();
  qemu.stdin.write('reboot\n');
  await waitSerial(/root shell on the console/, mark, 10 * 60_000, 'console after the reboot');
  const rebooted = await waitHealthy(10 * 60_000, 'after reboot', rebootAt);
  figures.rebootToHealthy = Date.now() - rebootAt;
  say(`HEALTHY after reboot: ${seconds(figures.rebootToHealthy)} s from the reboot command (services pid ${rebooted.pid})`);
  await waitShell(mark, 120_000);
  const uptimeAfterReboot = await guestUptime();
  if (uptimeAfterReboot * 1000 > Date.now() - rebootAt) fail(`the guest did not reboot (uptime ${uptimeAfterReboot} s)`);
  await findMail('after reboot');

  // 6. Freeze the supervisor: the watchdog must reset the board.
  const pid = (await mustRun('cat /run/mailnest/firmware.pid')).trim();
  const timeout = (await mustRun('cat /sys/class/watchdog/watchdog0/timeout')).trim();
  mark = serial.length;
  await mustRun(`kill -STOP ${pid} && grep State /proc/${pid}/status`);
  const frozenAt = Date.now();
  say(`supervisor (pid ${pid}) frozen with SIGSTOP; watchdog timeout ${timeout} s`);
  await waitSerial(/Booting Linux|Linux version|root shell on the console/, mark, 5 * 60_000, 'a reset by the watchdog');
  figures.freezeToReset = Date.now() - frozenAt;
  say(`the watchdog reset the board ${seconds(figures.freezeToReset)} s after the freeze`);
  const back = await waitHealthy(10 * 60_000, 'after the watchdog reset', frozenAt);
  figures.resetToHealthy = Date.now() - frozenAt;
  say(`HEALTHY after the watchdog reset: ${seconds(figures.resetToHealthy)} s after the freeze (services pid ${back.pid})`);
  await waitShell(mark, 120_000);
  const uptimeAfterReset = await guestUptime();
  if (uptimeAfterReset * 1000 > Date.now() - frozenAt) fail(`the guest was not reset (uptime ${uptimeAfterReset} s)`);
  say(`guest uptime ${uptimeAfterReset} s: it rebooted after the freeze`);
  await findMail('after the watchdog reset');
}

const deadline = Number(opts['deadline-minutes']) * 60_000;
let verdict;
try {
  await Promise.race([
    test(),
    sleep(deadline).then(() => fail(`the whole test ran over its ${opts['deadline-minutes']} minutes`)),
  ]);
  verdict = 'PASS';
} catch (error) {
  verdict = `FAIL: ${error instanceof Failure ? error.message : error.stack}`;
  // Some context for the log: the supervisor's last lines, if the shell answers.
  try {
    if (qemu && !qemu.exited) {
      const tail = await Promise.race([run('logread 2>/dev/null | tail -n 40', 20_000), sleep(25_000).then(() => undefined)]);
      if (tail) console.log(`--- guest log (logread | tail) ---\n${tail.output}\n---`);
    }
  } catch {}
} finally {
  await stopQemu();
  serialLog.end();
}

const figureText = Object.entries(figures).map(([name, ms]) => `${name} ${seconds(ms)} s`).join(', ');
say(`figures: ${figureText || 'none'}; total ${seconds(Date.now() - started)} s`);
console.log(`qemu-test: ${verdict}`);
process.exit(verdict === 'PASS' ? 0 : 1);
