// A whole Mailnest services process for the mDNS tests, run inside a network
// namespace (`ip netns exec NS node --import tsx test/mdns/box.ts DATA`): it
// listens on 0.0.0.0 with the development port offset, so `mdns=auto` is on.
// stdout: one JSON line each time the mdns health changes; on SIGTERM it stops
// (sending the goodbyes) and prints {"event":"stopped"}. Logs go to stderr.

import { Logger } from '../../services/core/log.ts';
import { ServicesProcess } from '../../services/services-process.ts';

const [data, ...flags] = process.argv.slice(2);
if (!data) throw new Error('usage: box.ts DATA_DIR [key=value ...]');
const overrides = Object.fromEntries(flags.map((flag) => flag.split('=', 2) as [string, string]));
const logger = new Logger({ write: (line) => process.stderr.write(`${line}\n`) }, 'debug');
const services = await ServicesProcess.start({
  dataDir: data,
  overrides: { listen: '0.0.0.0', 'port-offset': '10000', hostname: 'mx.example.test', 'dns-servers': '127.0.0.1:9', ...overrides },
  createLogger: () => logger,
});

let last = '';
const report = async () => {
  const health = await services.health();
  const line = JSON.stringify({ event: 'health', mdns: (health.services as Record<string, unknown>).mdns });
  if (line !== last) process.stdout.write(`${line}\n`);
  last = line;
};
const timer = setInterval(() => void report(), 50);
await report();

process.once('SIGTERM', () => {
  clearInterval(timer);
  void services.stop().then(() => {
    process.stdout.write(`${JSON.stringify({ event: 'stopped' })}\n`);
    process.exit(0);
  });
});
