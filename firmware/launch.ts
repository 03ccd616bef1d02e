// How the supervisor starts the services process and where it finds it
// afterwards. The ports are learnt from the very flags passed to `serve`, so
// the probes knock where the services listen.
//
// The command line (the contract with `mailnest serve`):
//   <node> [--enable-source-maps] <dist>/mailnest.js serve --data DIR --port-offset N
//          [--port NAME=PORT]... [--listen ADDRS] [other serve flags]...
// and for the factory reset:
//   <node> [--enable-source-maps] <dist>/mailnest.js config reset --all --data DIR
//
// Invariants:
// - --port-offset is always passed, so a value stored with `config set` can
//   never move the services away from where the probes look.
// - The standard ports below are the public ones of DESIGN.md ("Interfaces that
//   tests and users rely on"), restated here because firmware/ imports nothing
//   from services/.

export const standardPorts = {
  smtp: 25,
  submission: 587,
  submissions: 465,
  imap: 143,
  imaps: 993,
  pop3: 110,
  pop3s: 995,
  managesieve: 4190,
  http: 80,
  https: 443,
} as const;

export type PortName = keyof typeof standardPorts;

/**
 * `serve`'s exit status when it refuses to start for a reason a restart cannot
 * mend (a setting, a port in use or not allowed, a newer database, the data
 * folder held by another Mailnest); the message is in <data>/run/start-error.json.
 * 78 is EX_CONFIG of sysexits(3); services/core/errors.ts has the same number.
 */
export const startRefusedExitStatus = 78;

export function isPortName(name: string): name is PortName {
  return Object.hasOwn(standardPorts, name);
}

export interface CommandLine {
  command: string;
  args: string[];
}

export interface ServicesLaunch extends CommandLine {
  /** The address probes connect to. */
  host: string;
  /** The port of each service as the flags set it; 0 means the services pick one (then /healthz tells). */
  ports: Record<PortName, number>;
}

export interface ServeFlags {
  /** The node binary and its flags, e.g. process.execPath, ['--enable-source-maps']. */
  node: string;
  nodeFlags?: string[];
  /** dist/mailnest.js */
  bundle: string;
  dataDir: string;
  portOffset: number;
  ports?: Partial<Record<PortName, number>>;
  /** The --listen value, when one is passed. */
  listen?: string;
  /** Any other serve flags, passed through as they are (--hostname NAME, ...). */
  extra?: string[];
}

/**
 * Where a probe reaches services listening on `listen` (comma-separated IPs):
 * loopback when they listen on every address or on loopback, else the first address.
 */
export function probeHostFor(listen: string | undefined): string {
  const addresses = (listen ?? '').split(',').map((a) => a.trim()).filter(Boolean);
  if (addresses.length === 0 || addresses.includes('0.0.0.0') || addresses.includes('127.0.0.1')) return '127.0.0.1';
  if (addresses.includes('::') || addresses.includes('::1')) return '::1';
  return addresses[0]!;
}

export function portsFor(offset: number, overrides: Partial<Record<PortName, number>> = {}): Record<PortName, number> {
  const ports = {} as Record<PortName, number>;
  for (const [name, port] of Object.entries(standardPorts) as [PortName, number][]) ports[name] = overrides[name] ?? port + offset;
  return ports;
}

export function serveLaunch(flags: ServeFlags): ServicesLaunch {
  const args = [...(flags.nodeFlags ?? []), flags.bundle, 'serve', '--data', flags.dataDir, '--port-offset', String(flags.portOffset)];
  for (const [name, port] of Object.entries(flags.ports ?? {})) args.push('--port', `${name}=${port}`);
  if (flags.listen !== undefined) args.push('--listen', flags.listen);
  args.push(...(flags.extra ?? []));
  return { command: flags.node, args, host: probeHostFor(flags.listen), ports: portsFor(flags.portOffset, flags.ports) };
}

export function resetCommandLine(flags: Pick<ServeFlags, 'node' | 'nodeFlags' | 'bundle' | 'dataDir'>): CommandLine {
  return { command: flags.node, args: [...(flags.nodeFlags ?? []), flags.bundle, 'config', 'reset', '--all', '--data', flags.dataDir] };
}
