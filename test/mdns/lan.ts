// A LAN of network namespaces for the mDNS tests, made by the test and removed
// in its teardown: one namespace holding a bridge, and one namespace per host,
// each with an eth0 (a veth whose peer sits on the bridge) at 10.77.0.<10+n>/24.
// No device is made in the machine's own namespace, so nothing a test sends
// reaches a real network. Names are unique per run (pid + random), so runs side
// by side do not meet. Processes started with `run` are killed before the
// namespaces are removed (teardowns run last-registered first).

import type { ExecutionContext } from 'ava';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createInterface } from 'node:readline';
import { repoRoot } from '../helpers/cli.ts';
import { until } from '../hw/until.ts';

export interface Host {
  namespace: string;
  address: string;
}

export interface Lan {
  hosts: Record<string, Host>;
  /** Runs `ip ...` inside a host's namespace. */
  ip(host: string, ...args: string[]): void;
}

function ip(args: string[]): void {
  try {
    execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (error) {
    const stderr = String((error as { stderr?: Buffer }).stderr ?? (error as Error).message).trim();
    throw new Error(`cannot make the test's network namespaces (the mDNS tests need root and iproute2): ip ${args.join(' ')}: ${stderr}`);
  }
}

export function makeLan(t: ExecutionContext, hostNames: string[]): Lan {
  const id = `${process.pid.toString(36)}${randomBytes(2).toString('hex')}`;
  const made: string[] = [];
  t.teardown(() => {
    for (const namespace of made.reverse()) {
      try {
        execFileSync('ip', ['netns', 'del', namespace], { stdio: 'ignore' });
      } catch {
        // Already gone: the teardown may run after a failed make.
      }
    }
  });
  const addNamespace = (namespace: string) => {
    ip(['netns', 'add', namespace]);
    made.push(namespace);
    ip(['-n', namespace, 'link', 'set', 'lo', 'up']);
  };
  const lan = `mn-${id}-lan`;
  addNamespace(lan);
  // No multicast snooping: without a querier on the bridge it would have nothing to learn from.
  ip(['-n', lan, 'link', 'add', 'br0', 'type', 'bridge', 'mcast_snooping', '0']);
  ip(['-n', lan, 'link', 'set', 'br0', 'up']);
  const hosts: Record<string, Host> = {};
  hostNames.forEach((name, index) => {
    const namespace = `mn-${id}-${name}`;
    const address = `10.77.0.${11 + index}`;
    const port = `p${index}`;
    addNamespace(namespace);
    ip(['-n', namespace, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', port, 'netns', lan]);
    ip(['-n', lan, 'link', 'set', port, 'master', 'br0']);
    ip(['-n', lan, 'link', 'set', port, 'up']);
    ip(['-n', namespace, 'addr', 'add', `${address}/24`, 'dev', 'eth0']);
    ip(['-n', namespace, 'link', 'set', 'eth0', 'up']);
    hosts[name] = { namespace, address };
  });
  return { hosts, ip: (host, ...args) => ip(['-n', hosts[host]!.namespace, ...args]) };
}

export interface Child {
  /** Every JSON line printed so far. */
  lines: Record<string, unknown>[];
  send(command: unknown): void;
  /** The first line (from `from` on) for which `match` holds; rejects after the deadline. */
  waitFor(what: string, match: (line: Record<string, any>) => boolean, timeoutMs?: number, from?: number): Promise<Record<string, any>>;
  /** SIGTERM, then the exit code. */
  stop(): Promise<number | null>;
  stderr(): string;
}

/** `ip netns exec NS node --import tsx SCRIPT ARGS`, killed in the teardown if still running. */
export function run(t: ExecutionContext, host: Host, script: string, args: string[]): Child {
  const child: ChildProcess = spawn('ip', ['netns', 'exec', host.namespace, process.execPath, '--import', 'tsx', script, ...args], {
    cwd: repoRoot,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const lines: Record<string, unknown>[] = [];
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr = (stderr + chunk).slice(-20_000)));
  createInterface({ input: child.stdout! }).on('line', (line) => {
    try {
      lines.push(JSON.parse(line) as Record<string, unknown>);
    } catch {
      stderr += `(not JSON) ${line}\n`;
    }
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  t.teardown(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
  });
  return {
    lines,
    send: (command) => child.stdin!.write(`${JSON.stringify(command)}\n`),
    async waitFor(what, match, timeoutMs = 15_000, from = 0) {
      let found: Record<string, unknown> | undefined;
      try {
        await until(() => {
          if (child.exitCode !== null) throw new Error(`${script} in ${host.namespace} exited (${child.exitCode}) while waiting for ${what}:\n${stderr}`);
          found = lines.slice(from).find(match);
          return found !== undefined;
        }, what, timeoutMs);
      } catch (error) {
        throw new Error(`${(error as Error).message}\nlines: ${JSON.stringify(lines).slice(0, 4000)}\nstderr: ${stderr.slice(-3000)}`);
      }
      return found!;
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return exited;
    },
    stderr: () => stderr,
  };
}
