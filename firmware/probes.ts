// Health probes of the services process, from the outside: GET /healthz on the
// web port, and the greeting of each plain-text service /healthz lists as
// running (SMTP and submission `220 `, IMAP `* OK`, POP3 `+OK`; the TLS-only
// ports are left to /healthz).
//
// The /healthz contract (services/web): JSON with
//   status: ok | degraded | starting | stopping
//   pid: the services process id
//   store.state: ok | failed (a real database write), store.detail
//   services.<name>.state (starting | running | stopping | stopped | failed) and .listening (host:port)
//   setupDone: boolean (a missing field counts as true)
//   alarms: string[], the home-line doctor's checks that failed twice in a row
//     (services/doctor); each one makes the verdict degraded (a missing field: none)
//
// Invariants:
// - Every probe has a deadline and closes its socket: a hung services process
//   makes a probe fail, never wait.
// - A /healthz answered by another pid than the child's is a failure: something
//   else holds the port, and the child cannot be serving.
// - A database that cannot be written is a failure to restart for, unless the
//   storage condition (disk read-only or full) already explains it: then a
//   restart would change nothing and the services answer temporary failures.

import { request } from 'node:http';
import { connect } from 'node:net';
import type { PortName, ServicesLaunch } from './launch.ts';

export interface HealthzReport {
  status?: string;
  pid?: number;
  store?: { state?: string; detail?: string };
  setupDone?: boolean;
  alarms?: unknown;
  services?: Record<string, { state?: string; listening?: string[]; detail?: string }>;
  [key: string]: unknown;
}

export type HealthzAnswer = { reachable: false; error: string } | { reachable: true; httpStatus: number; report: HealthzReport | undefined };

const maxBody = 1024 * 1024;

export function fetchHealthz(host: string, port: number, timeoutMs: number): Promise<HealthzAnswer> {
  return new Promise((resolve) => {
    let settled = false;
    const finish = (answer: HealthzAnswer) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(answer);
    };
    const req = request({ host, port, path: '/healthz', method: 'GET', agent: false, headers: { accept: 'application/json', connection: 'close' } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
        if (body.length > maxBody) req.destroy(new Error('the /healthz answer is too long'));
      });
      res.on('end', () => {
        let report: HealthzReport | undefined;
        try {
          const parsed = JSON.parse(body) as unknown;
          if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) report = parsed as HealthzReport;
        } catch {
          // not JSON: report stays undefined
        }
        finish({ reachable: true, httpStatus: res.statusCode ?? 0, report });
      });
      res.on('error', (error) => finish({ reachable: false, error: error.message }));
    });
    const timer = setTimeout(() => req.destroy(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
    req.on('error', (error) => finish({ reachable: false, error: error.message }));
    req.end();
  });
}

export interface GreetingSpec {
  port: PortName;
  /** The line that means "ready". */
  ready: RegExp;
  /** Lines that may come before it (SMTP multi-line greetings). */
  continuation?: RegExp;
  goodbye: string;
}

/** Services whose greeting is checked, by the name /healthz lists them under. */
export const greetings: Record<string, GreetingSpec> = {
  smtp: { port: 'smtp', ready: /^220 /, continuation: /^220-/, goodbye: 'QUIT\r\n' },
  submission: { port: 'submission', ready: /^220 /, continuation: /^220-/, goodbye: 'QUIT\r\n' },
  imap: { port: 'imap', ready: /^\* OK/, goodbye: 'a LOGOUT\r\n' },
  pop3: { port: 'pop3', ready: /^\+OK/, goodbye: 'QUIT\r\n' },
};

/** Connects, reads the greeting, says goodbye. Resolves with a problem, or undefined when the greeting is right. */
export function checkGreeting(host: string, port: number, spec: GreetingSpec, timeoutMs: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    let settled = false;
    let buffer = '';
    const socket = connect({ host, port });
    const finish = (problem: string | undefined) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (problem === undefined) socket.end(spec.goodbye);
      else socket.destroy();
      // end() leaves the socket to close politely; make sure it cannot linger.
      setTimeout(() => socket.destroy(), 1000).unref();
      resolve(problem);
    };
    const timer = setTimeout(() => finish(`no greeting within ${timeoutMs} ms`), timeoutMs);
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      buffer += chunk;
      let newline: number;
      while ((newline = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, newline).replace(/\r$/, '');
        buffer = buffer.slice(newline + 1);
        if (spec.ready.test(line)) return finish(undefined);
        if (!spec.continuation?.test(line)) return finish(`unexpected greeting ${JSON.stringify(line.slice(0, 80))}`);
      }
      if (buffer.length > 4096) finish('greeting line too long');
    });
    socket.on('error', (error) => finish(error.message));
    socket.on('close', () => finish('closed before greeting'));
  });
}

export interface ProbeVerdict {
  /**
   * unreachable: /healthz did not answer; starting: it says so; ok / degraded:
   * serving (degraded: with a problem that a restart would not mend);
   * unhealthy: a restart is called for.
   */
  verdict: 'unreachable' | 'starting' | 'ok' | 'degraded' | 'unhealthy';
  detail: string;
  setupDone: boolean | undefined;
  report?: HealthzReport;
}

export interface ProbeOptions {
  timeoutMs: number;
  /** Check greetings this round (they are logged by the services, so not every round). */
  greet: boolean;
  /** The storage condition is not ok: a database write failure is expected. */
  storageExplainsStoreFailure: boolean;
}

/** At most a few, each bounded: the text goes into the LED reasons and the log. */
function doctorAlarms(alarms: unknown): string[] {
  if (!Array.isArray(alarms)) return [];
  const texts = alarms.filter((a): a is string => typeof a === 'string' && a.length > 0);
  const shown = texts.slice(0, 3).map((a) => `doctor alarm: ${a.length > 200 ? `${a.slice(0, 199)}…` : a}`);
  if (texts.length > 3) shown.push(`and ${texts.length - 3} more doctor alarms`);
  return shown;
}

function portFromListening(listening: string[] | undefined): number | undefined {
  const first = listening?.[0];
  if (!first) return undefined;
  const port = Number(first.slice(first.lastIndexOf(':') + 1));
  return Number.isInteger(port) && port > 0 ? port : undefined;
}

export async function probeServices(launch: ServicesLaunch, expectedPid: number | undefined, options: ProbeOptions): Promise<ProbeVerdict> {
  const httpPort = launch.ports.http;
  const answer = await fetchHealthz(launch.host, httpPort, options.timeoutMs);
  if (!answer.reachable) return { verdict: 'unreachable', detail: `/healthz on ${launch.host}:${httpPort}: ${answer.error}`, setupDone: undefined };
  const report = answer.report;
  if (!report) return { verdict: 'unhealthy', detail: `/healthz answered HTTP ${answer.httpStatus} without a JSON report`, setupDone: undefined };
  const setupDone = report.setupDone === false ? false : true;
  const base = { setupDone, report };
  if (expectedPid !== undefined && typeof report.pid === 'number' && report.pid !== expectedPid) {
    return { ...base, verdict: 'unhealthy', detail: `another process (pid ${report.pid}) answers /healthz on port ${httpPort}` };
  }
  if (report.status === 'starting') return { ...base, verdict: 'starting', detail: 'the services are starting' };
  if (report.status === 'stopping') return { ...base, verdict: 'unhealthy', detail: 'the services are stopping' };

  const problems: string[] = [];
  const warnings: string[] = [];
  if (report.store?.state === 'failed') {
    const text = `the database cannot be written${report.store.detail ? `: ${report.store.detail}` : ''}`;
    (options.storageExplainsStoreFailure ? warnings : problems).push(text);
  }
  const services = report.services ?? {};
  for (const [name, health] of Object.entries(services)) {
    if (health.state === 'failed') problems.push(`service ${name} failed${health.detail ? `: ${health.detail}` : ''}`);
    else if (health.state !== 'running') warnings.push(`service ${name} is ${health.state ?? 'in an unknown state'}`);
  }
  if (options.greet && problems.length === 0) {
    for (const [name, health] of Object.entries(services)) {
      const spec = greetings[name];
      if (!spec || health.state !== 'running') continue;
      const port = launch.ports[spec.port] || portFromListening(health.listening);
      if (!port) continue;
      const problem = await checkGreeting(launch.host, port, spec, options.timeoutMs);
      if (problem) problems.push(`${name} greeting on ${launch.host}:${port}: ${problem}`);
    }
  }
  // The doctor's alarms: serving, with a problem of the line or the DNS that a restart would not mend.
  warnings.push(...doctorAlarms(report.alarms));
  if (problems.length) return { ...base, verdict: 'unhealthy', detail: problems.join('; ') };
  if (warnings.length) return { ...base, verdict: 'degraded', detail: warnings.join('; ') };
  if (report.status !== 'ok') return { ...base, verdict: 'degraded', detail: `/healthz status ${String(report.status)}` };
  return { ...base, verdict: 'ok', detail: 'ok' };
}
