// Putting messages into a store the way the services do: a durable body file
// written through receiveBody (with the real MIME scanner), then appended.

import { Readable } from 'node:stream';
import { createBodyAnalyzer } from '../../services/delivery/analyzer.ts';
import type { Store } from '../../services/store/index.ts';
import { receiveBody } from '../../services/store/receive.ts';

export async function appendRaw(store: Store, address: string, mailbox: string, raw: string | Buffer, flags: string[] = [], internalDate = Date.now()) {
  const result = await receiveBody(store.mail.files, createBodyAnalyzer(), Readable.from([Buffer.from(raw)]));
  if (!result.ok) throw new Error('not received');
  return store.mail.append(store.accounts.get(address), mailbox, result.body, flags, internalDate);
}

export function sample(n: number, extra = ''): string {
  return `From: Friend <friend@remote.test>\r\nTo: alice@example.test\r\nSubject: message ${n}\r\nMessage-ID: <m${n}@remote.test>\r\n${extra}\r\nBody of message ${n}.\r\n`;
}
