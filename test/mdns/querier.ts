// An mDNS querier for the tests, run inside a network namespace with
// multicast-dns on 5353 (`ip netns exec NS node --import tsx test/mdns/querier.ts ADDRESS`).
// stdin, one JSON command a line:
//   {"query": [{"name": "mailnest.local", "type": "A"}]}          multicast query
//   {"legacy": [...], "id": 7, "from": "10.77.0.5"}              one-shot query from an ephemeral port (§6.7), optionally from a given source address
//   {"respond": [{"name": "mailnest.local", "type": "A", ...}]}     an unsolicited multicast response (another host's claim)
//   {"fetch": "http://10.77.0.11:10080/healthz"}                 an HTTP GET from this namespace
// stdout, one JSON line each: {"event":"ready"}, {"event":"response","from","port","id","answers","additionals"} for every
// response heard (TXT data as strings), {"event":"legacy-reply",...}, {"event":"fetched","status","body"}.

import { createSocket } from 'node:dgram';
import { get } from 'node:http';
import { createInterface } from 'node:readline';
import makeMdns from 'multicast-dns';

const address = process.argv[2];
if (!address) throw new Error('usage: querier.ts OWN_ADDRESS');
const print = (value: unknown) => process.stdout.write(`${JSON.stringify(value, (_key, v: unknown) => (isBufferJson(v) ? Buffer.from(v.data).toString('utf8') : v))}\n`);
const isBufferJson = (v: unknown): v is { type: 'Buffer'; data: number[] } => typeof v === 'object' && v !== null && (v as { type?: unknown }).type === 'Buffer';

// Bound to the wildcard: a socket bound to a unicast address hears no multicast on Linux.
const mdns = makeMdns({ interface: address, bind: '0.0.0.0' });
type Decoded = { id?: number; answers?: unknown[]; additionals?: unknown[] };
mdns.on('response', (response: Decoded, rinfo: { address: string; port: number }) =>
  print({ event: 'response', from: rinfo.address, port: rinfo.port, id: response.id, answers: response.answers, additionals: response.additionals }),
);
mdns.on('ready', () => print({ event: 'ready' }));

for await (const line of createInterface({ input: process.stdin })) {
  const command = JSON.parse(line) as { query?: never[]; respond?: never[]; legacy?: never[]; id?: number; from?: string; fetch?: string };
  if (command.query) mdns.query({ questions: command.query });
  // Plays another host: an unsolicited multicast response.
  if (command.respond) mdns.respond({ answers: command.respond });
  if (command.legacy) {
    // A plain DNS client: a socket of its own on an ephemeral port; multicast-dns only encodes and decodes.
    const socket = createSocket('udp4');
    const codec = makeMdns({ socket, bind: false, multicast: false, port: 0 }) as unknown as {
      send(packet: unknown, to: { address: string; port: number }, done: (error?: Error | null) => void): void;
      on(event: 'packet', listener: (packet: Decoded, rinfo: { address: string; port: number }) => void): void;
    };
    codec.on('packet', (reply, rinfo) => print({ event: 'legacy-reply', from: rinfo.address, id: reply.id, answers: reply.answers, additionals: reply.additionals }));
    // Awaited, so that commands reach the wire in the order they were given.
    await new Promise<void>((resolve) => {
      socket.bind(0, command.from ?? address, () => {
        socket.setMulticastInterface(command.from ?? address);
        codec.send({ id: command.id ?? 1, type: 'query', questions: command.legacy }, { address: '224.0.0.251', port: 5353 }, (error) => {
          if (error) print({ event: 'error', message: error.message });
          resolve();
        });
      });
    });
    setTimeout(() => socket.close(), 3000).unref();
  }
  if (command.fetch) {
    // node:http, not fetch(): fetch refuses port 10080 (the development web port) as a "bad port".
    const url = command.fetch;
    await new Promise<void>((resolve) => {
      get(url, (response) => {
        let body = '';
        response.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
        response.on('end', () => {
          print({ event: 'fetched', status: response.statusCode, body });
          resolve();
        });
      }).on('error', (error) => {
        print({ event: 'fetched', status: 0, body: error.message });
        resolve();
      });
    });
  }
}
mdns.destroy();
