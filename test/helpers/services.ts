// The services process started in the test's own process, on 127.0.0.1 with
// ephemeral ports and a temporary data folder.

import type { ExecutionContext } from 'ava';
import { memoryLogger } from '../../services/core/log.ts';
import { standardPorts, type PortName } from '../../services/core/ports.ts';
import { ServicesProcess, type ServicesOptions } from '../../services/services-process.ts';
import { testPassword } from './accounts.ts';
import { tempDataDir } from './data-dir.ts';

export { testPassword };

export interface TestServices {
  services: ServicesProcess;
  data: string;
  ports: Record<string, number>;
  logs: string[];
}

const allEphemeral = Object.fromEntries(Object.keys(standardPorts).map((name) => [name, 0])) as Record<PortName, number>;

export async function startServices(t: ExecutionContext, options: { data?: string; /** undefined drops a default (hostname: undefined uses the stored host name) */ overrides?: Record<string, string | undefined>; queue?: ServicesOptions['queue']; connectionLimits?: ServicesOptions['connectionLimits']; webAssets?: string; web?: ServicesOptions['web']; /** over the ephemeral ones; undefined: from the port offset */ ports?: Partial<Record<PortName, number | undefined>>; onReloadFailure?: ServicesOptions['onReloadFailure']; doctor?: ServicesOptions['doctor'] } = {}): Promise<TestServices> {
  const data = options.data ?? tempDataDir(t);
  const { logger, lines } = memoryLogger('debug');
  const services = await ServicesProcess.start({
    dataDir: data,
    // No lookup leaves the machine: port 9 on loopback answers nothing, so outside mail stays queued unless a test brings its own DNS server.
    // The doctor's probe and its what-is-my-address server would leave the machine: off, and no scheduled runs, unless a test sets them.
    overrides: definedOnly({
      listen: '127.0.0.1',
      hostname: 'mx.example.test',
      'dns-servers': '127.0.0.1:9',
      'doctor-interval': 'off',
      'doctor-port25-probe': '',
      'doctor-public-address-name': '',
      ...options.overrides,
    }),
    ports: Object.fromEntries(Object.entries({ ...allEphemeral, ...options.ports }).filter((entry) => entry[1] !== undefined)),
    onReloadFailure: options.onReloadFailure,
    queue: options.queue,
    connectionLimits: options.connectionLimits,
    webAssets: options.webAssets,
    web: options.web,
    doctor: options.doctor,
    createLogger: () => logger,
  });
  t.teardown(() => services.stop());
  const ports: Record<string, number> = {};
  for (const service of services.services) {
    const health = await service.health();
    const first = health.listening?.[0];
    if (first) ports[service.name] = Number(first.slice(first.lastIndexOf(':') + 1));
    Object.assign(ports, health.ports ?? {});
  }
  return { services, data, ports, logs: lines };
}

function definedOnly(values: Record<string, string | undefined>): Record<string, string> {
  return Object.fromEntries(Object.entries(values).filter((entry): entry is [string, string] => entry[1] !== undefined));
}

/** A domain with users alice, bob (password `testPassword`) made through the store. */
export async function addFamily(services: ServicesProcess, domain = 'example.test'): Promise<void> {
  const store = services.store;
  store.domains.add(domain);
  for (const user of ['alice', 'bob']) await store.accounts.add({ address: `${user}@${domain}`, password: testPassword });
}
