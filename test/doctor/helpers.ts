// A box with one domain, and the DNS a well-set-up home line publishes for it,
// served from 127.0.0.1; tests break one record at a time.

import type { ExecutionContext } from 'ava';
import { createServer, type Server, type Socket } from 'node:net';
import { domainRecords, ensureDomainKeys } from '../../services/dkim/index.ts';
import { Store } from '../../services/store/index.ts';
import { tempDataDir } from '../helpers/data-dir.ts';
import type { Zone } from '../helpers/dns-server.ts';

export const hostname = 'mx.example.test';
export const domain = 'example.test';
export const publicAddress = '192.0.2.10';
export const lists = ['bl.example.net', 'other-bl.example.net'];

/** Adds the domain with its keys, and returns the zone that publishes everything right. */
export function goodZone(store: Store): Zone {
  store.domains.add(domain);
  const records = domainRecords(domain, hostname, ensureDomainKeys(store.paths.dkim, domain));
  const zone: Zone = {
    [hostname]: { a: [publicAddress] },
    '10.2.0.192.in-addr.arpa': { ptr: [hostname] },
    [domain]: { mx: [{ priority: 10, exchange: hostname }], txt: ['some-site-verification=abc', 'v=spf1 mx -all'] },
  };
  for (const record of records) {
    const name = record.name.replace(/\.$/, '');
    if (record.type === 'TXT' && name !== domain) zone[name] = { txt: [record.value] };
    if (record.type === 'SRV') {
      const [priority, weight, port, target] = record.value.split(' ');
      zone[name] = { srv: [{ priority: Number(priority), weight: Number(weight), port: Number(port), target: target!.replace(/\.$/, '') }] };
    }
  }
  return zone;
}

/** A TCP listener on 127.0.0.1 that accepts and closes: the port 25 probe's far end. */
/** A fresh data folder whose domain and DKIM keys the zone publishes correctly (the services start on it later). */
export function goodZoneInNewFolder(t: ExecutionContext): { data: string; zone: Zone } {
  const data = tempDataDir(t);
  const store = Store.open(data);
  try {
    return { data, zone: goodZone(store) };
  } finally {
    store.close();
  }
}

export async function openPort(t: ExecutionContext, port = 0): Promise<{ port: number; accepted: () => number }> {
  let accepted = 0;
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    accepted++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    socket.end();
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => {
    for (const socket of sockets) socket.destroy();
    server.close(() => resolve());
  }));
  return { port: (server.address() as { port: number }).port, accepted: () => accepted };
}

/** A port on 127.0.0.1 where nothing listens (it was free a moment ago). */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
