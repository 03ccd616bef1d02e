// The supervisor under test: simulated hardware, short timings, a fake services
// process (fixtures/fake-services.mjs) or the real `serve`, a temporary data
// folder, and waits on the supervisor's events that are bounded in time.
// Everything started here is stopped by the test's teardown.

import type { ExecutionContext } from 'ava';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { simulatedHardware, type SimulatedHardware, type SimulatedHardwareOptions } from '../../hw/hardware.ts';
import { serveLaunch, standardPorts, type CommandLine, type PortName, type ServicesLaunch } from '../../firmware/launch.ts';
import type { EventLog } from '../../firmware/log.ts';
import { Supervisor, type SupervisorEvent, type SupervisorTimings } from '../../firmware/supervisor.ts';
import { tempDataDir } from '../helpers/data-dir.ts';

export { until } from '../hw/until.ts';

export const fakeServices = fileURLToPath(new URL('./fixtures/fake-services.mjs', import.meta.url));

/** Timings short enough for tests; every wait below is bounded by its own deadline. */
export const testTimings: Partial<SupervisorTimings> = {
  probeIntervalMs: 50,
  // Long enough that a loaded machine never fails a probe by accident; tests of hangs set their own.
  probeTimeoutMs: 5000,
  greetingIntervalMs: 200,
  startTimeoutMs: 15_000,
  unhealthyProbes: 2,
  stopTimeoutMs: 3000,
  backoffBaseMs: 50,
  backoffMaxMs: 400,
  maxRestarts: 3,
  restartWindowMs: 60_000,
  stableMs: 60_000,
  failedRetryMs: 600_000,
  sensorIntervalMs: 100,
  petIntervalMs: 50,
  resetConfirmMs: 150,
  resetTimeoutMs: 20_000,
  debounceMs: 5,
  holdFeedbackMs: 50,
  longPressMs: 300,
};

/** Ports nothing listens on right now (the kernel's pick, then released). */
export async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from({ length: count }, () => new Promise<import('node:net').Server>((resolve, reject) => {
      const server = createServer();
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve(server));
    })),
  );
  const ports = servers.map((s) => (s.address() as { port: number }).port);
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  return ports;
}

/** Every standard port moved to a free one, so tests never meet each other or the machine's own services. */
export async function allPortsFree(): Promise<Record<PortName, number>> {
  const names = Object.keys(standardPorts) as PortName[];
  const ports = await freePorts(names.length);
  return Object.fromEntries(names.map((name, i) => [name, ports[i]!])) as Record<PortName, number>;
}

export function arrayLog(): { log: EventLog; lines: string[] } {
  const lines: string[] = [];
  const line = (level: string) => (message: string, fields: Record<string, unknown> = {}) => {
    const rest = Object.entries(fields)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
      .join(' ');
    lines.push(`${level} ${message}${rest ? ` ${rest}` : ''}`);
  };
  return { log: { info: line('info'), warn: line('warn'), error: line('error') }, lines };
}

export interface Harness {
  supervisor: Supervisor;
  hardware: SimulatedHardware;
  data: string;
  launch: ServicesLaunch;
  lines: string[];
  events: SupervisorEvent[];
  /** When each event came (Date.now()), by index. */
  times: number[];
  output: () => string;
  /** Resolves with the first event (from index `from` on) that matches, or rejects after timeoutMs with the log. */
  waitFor<T extends SupervisorEvent['type']>(type: T, match?: (event: Extract<SupervisorEvent, { type: T }>) => boolean, options?: { timeoutMs?: number; from?: number }): Promise<Extract<SupervisorEvent, { type: T }>>;
}

export interface HarnessOptions {
  /** Written to <data>/fake-services.json before the start. */
  behaviour?: Record<string, unknown>;
  timings?: Partial<SupervisorTimings>;
  hardware?: SimulatedHardwareOptions;
  /** Instead of the fake services: a launch built from the data folder and ports. */
  launch?: (data: string, ports: Record<PortName, number>) => ServicesLaunch;
  resetCommand?: (data: string) => CommandLine;
  thresholds?: ConstructorParameters<typeof Supervisor>[0]['thresholds'];
  /** Runs before the supervisor starts (e.g. to occupy a port or plant a setting); what it opens, the test closes. */
  prepare?: (data: string, launch: ServicesLaunch) => Promise<void> | void;
}

export async function startSupervisor(t: ExecutionContext, options: HarnessOptions = {}): Promise<Harness> {
  const data = tempDataDir(t, 'mailnest-firmware-');
  if (options.behaviour) writeFileSync(`${data}/fake-services.json`, JSON.stringify(options.behaviour));
  const ports = await allPortsFree();
  const launch =
    options.launch?.(data, ports) ??
    serveLaunch({ node: process.execPath, bundle: fakeServices, dataDir: data, portOffset: 0, ports: { http: ports.http, smtp: ports.smtp } });
  // Generous: on a loaded CI machine a test process can stall for a second or two,
  // and a simulated watchdog that expires then would be a false alarm.
  const hardware = simulatedHardware({ watchdogTimeoutMs: 10_000, ...options.hardware });
  const { log, lines } = arrayLog();
  let output = '';
  const supervisor = new Supervisor({
    dataDir: data,
    launch,
    resetCommand: options.resetCommand?.(data) ?? { command: process.execPath, args: ['-e', "require('fs').writeFileSync(process.argv[1], 'reset')", `${data}/reset-ran`] },
    hardware,
    log,
    timings: { ...testTimings, ...options.timings },
    thresholds: options.thresholds,
    servicesOutput: (text) => (output += text),
  });
  await options.prepare?.(data, launch);
  const events: SupervisorEvent[] = [];
  const times: number[] = [];
  const waiters = new Set<() => void>();
  supervisor.onEvent((event) => {
    events.push(event);
    times.push(Date.now());
    for (const waiter of [...waiters]) waiter();
  });
  t.teardown(async () => {
    await supervisor.stop();
  });
  await supervisor.start();
  return {
    supervisor,
    hardware,
    data,
    launch,
    lines,
    events,
    times,
    output: () => output,
    waitFor(type, match = () => true, { timeoutMs = 20_000, from = 0 } = {}) {
      return new Promise((resolve, reject) => {
        let index = from;
        const check = () => {
          for (; index < events.length; index++) {
            const event = events[index]!;
            if (event.type === type && match(event as never)) {
              done();
              return resolve(event as never);
            }
          }
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`no ${type} event within ${timeoutMs} ms; log:\n${lines.join('\n')}\nservices output:\n${output}`));
        }, timeoutMs);
        const done = () => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      });
    },
  };
}
