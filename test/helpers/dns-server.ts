// A small authoritative DNS server on 127.0.0.1 (UDP, RFC 1035 §4) for the
// queue's MX lookups and the doctor's checks: it answers MX, A, AAAA, TXT,
// PTR and SRV (RFC 2782) from a table, NXDOMAIN for names it does not know,
// an empty answer (NODATA) for a known name without records of the asked
// type, SERVFAIL for a name marked so, and nothing at all for a name marked
// silent (a lookup that runs into its deadline).

import type { ExecutionContext } from 'ava';
import { createSocket } from 'node:dgram';
import { isIPv4, isIPv6 } from 'node:net';

export interface Zone {
  [name: string]: {
    mx?: { priority: number; exchange: string }[];
    a?: string[];
    aaaa?: string[];
    /** Each record is one string, or its character-strings (RFC 1035 §3.3.14) as a list. */
    txt?: (string | string[])[];
    ptr?: string[];
    srv?: { priority: number; weight: number; port: number; target: string }[];
    servfail?: boolean;
    /** No answer at all: the query is dropped. */
    silent?: boolean;
  };
}

const types = { A: 1, PTR: 12, MX: 15, TXT: 16, AAAA: 28, SRV: 33 } as const;

function characterStrings(record: string | string[]): Buffer {
  const parts = typeof record === 'string' ? (record.match(/[^]{1,255}/g) ?? ['']) : record;
  return Buffer.concat(parts.map((part) => Buffer.concat([Buffer.from([Buffer.byteLength(part)]), Buffer.from(part, 'utf8')])));
}

function encodeName(name: string): Buffer {
  const labels = name.replace(/\.$/, '').split('.').filter(Boolean);
  return Buffer.concat([...labels.map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l, 'ascii')])), Buffer.from([0])]);
}

function readQuestion(packet: Buffer): { name: string; type: number; end: number } {
  let offset = 12;
  const labels: string[] = [];
  while (packet[offset]! !== 0) {
    const length = packet[offset]!;
    labels.push(packet.subarray(offset + 1, offset + 1 + length).toString('ascii'));
    offset += length + 1;
  }
  offset += 1;
  return { name: labels.join('.').toLowerCase(), type: packet.readUInt16BE(offset), end: offset + 4 };
}

function ipv6Bytes(address: string): Buffer {
  const [head, tail] = address.split('::') as [string, string | undefined];
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const groups = [...left, ...Array(8 - left.length - right.length).fill('0'), ...right];
  const out = Buffer.alloc(16);
  groups.forEach((g, i) => out.writeUInt16BE(parseInt(g || '0', 16), i * 2));
  return out;
}

function answer(query: Buffer, zone: Zone): Buffer {
  const { name, type, end } = readQuestion(query);
  const entry = zone[name];
  const records: Buffer[] = [];
  let rcode = entry ? 0 : 3;
  if (entry?.servfail) rcode = 2;
  else if (entry) {
    const rdatas: Buffer[] = [];
    if (type === types.MX) for (const mx of entry.mx ?? []) rdatas.push(Buffer.concat([Buffer.from([mx.priority >> 8, mx.priority & 0xff]), encodeName(mx.exchange)]));
    if (type === types.A) for (const a of (entry.a ?? []).filter((x) => isIPv4(x))) rdatas.push(Buffer.from(a.split('.').map(Number)));
    if (type === types.AAAA) for (const a of (entry.aaaa ?? []).filter((x) => isIPv6(x))) rdatas.push(ipv6Bytes(a));
    if (type === types.TXT) for (const txt of entry.txt ?? []) rdatas.push(characterStrings(txt));
    if (type === types.PTR) for (const ptr of entry.ptr ?? []) rdatas.push(encodeName(ptr));
    if (type === types.SRV) {
      for (const srv of entry.srv ?? []) {
        const fixed = Buffer.alloc(6);
        fixed.writeUInt16BE(srv.priority, 0);
        fixed.writeUInt16BE(srv.weight, 2);
        fixed.writeUInt16BE(srv.port, 4);
        rdatas.push(Buffer.concat([fixed, encodeName(srv.target)]));
      }
    }
    for (const rdata of rdatas) {
      const head = Buffer.alloc(12);
      head.writeUInt16BE(0xc00c, 0); // the name: a pointer to the question
      head.writeUInt16BE(type, 2);
      head.writeUInt16BE(1, 4);
      head.writeUInt32BE(60, 6);
      head.writeUInt16BE(rdata.length, 10);
      records.push(head, rdata);
    }
  }
  const header = Buffer.alloc(12);
  query.copy(header, 0, 0, 2);
  header.writeUInt16BE(0x8400 | (query.readUInt16BE(2) & 0x0100) | 0x0080 | rcode, 2); // QR, AA, RD copied, RA
  header.writeUInt16BE(1, 4);
  header.writeUInt16BE(records.length / 2, 6);
  return Buffer.concat([header, query.subarray(12, end), ...records]);
}

/** Starts the server; its address is what the `dns-servers` setting takes. Closed at the end of the test. */
export async function startDnsServer(t: ExecutionContext, zone: Zone): Promise<{ server: string; queries: string[] }> {
  const socket = createSocket('udp4');
  const queries: string[] = [];
  socket.on('message', (query, from) => {
    try {
      const { name, type } = readQuestion(query);
      queries.push(`${Object.entries(types).find(([, v]) => v === type)?.[0] ?? type} ${name}`);
      if (zone[name]?.silent) return;
      socket.send(answer(query, zone), from.port, from.address);
    } catch {
      // A malformed query gets no answer, like from a real server that drops it.
    }
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => socket.close(() => resolve())));
  return { server: `127.0.0.1:${socket.address().port}`, queries };
}
