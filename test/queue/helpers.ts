// What the queue tests share: the services with short retry timings, a
// logged-in user sending through submission, and reading a user's INBOX.

import type { ExecutionContext } from 'ava';
import nodemailer from 'nodemailer';
import { readFileSync } from 'node:fs';
import { ensureDomainKeys } from '../../services/dkim/index.ts';
import { dkimResolverFor } from '../helpers/dkim.ts';
import type { QueueTimings } from '../../services/queue/index.ts';
import { addFamily, startServices, type TestServices } from '../helpers/services.ts';
import { until } from '../hw/until.ts';

export { until };

export const fastRetry: Partial<QueueTimings> = { retryBaseMs: 200, retryMaxMs: 400, pollMs: 200, connectTimeoutMs: 5000, socketTimeoutMs: 10_000 };

export async function startQueueServices(
  t: ExecutionContext,
  options: { data?: string; dnsServer?: string; mxPort?: number; timings?: Partial<QueueTimings>; family?: boolean; overrides?: Record<string, string>; queue?: Omit<NonNullable<Parameters<typeof startServices>[1]>['queue'] & {}, 'timings' | 'mxPort'> } = {},
): Promise<TestServices> {
  const env = await startServices(t, {
    data: options.data,
    overrides: { ...(options.dnsServer ? { 'dns-servers': options.dnsServer } : {}), ...options.overrides },
    queue: { ...options.queue, timings: { ...fastRetry, ...options.timings }, mxPort: options.mxPort },
  });
  if (options.family ?? true) await addFamily(env.services);
  return env;
}

/** Submits as alice on 587 (STARTTLS, AUTH PLAIN). */
export async function submit(env: TestServices, to: string[], raw: string, options: { user?: string; from?: string } = {}) {
  const client = nodemailer.createTransport({
    host: '127.0.0.1',
    port: env.ports.submission!,
    secure: false,
    requireTLS: true,
    tls: { rejectUnauthorized: false },
    auth: { user: options.user ?? 'alice@example.test', pass: 'sesame-tulip-42' },
  });
  try {
    return await client.sendMail({ envelope: { from: options.from ?? 'alice@example.test', to }, raw });
  } finally {
    client.close();
  }
}

export function fromAlice(subject: string, to = 'friend@remote.test', body = 'Hello from Alice.'): string {
  return [
    'From: Alice <alice@example.test>',
    `To: ${to}`,
    `Subject: ${subject}`,
    'Date: Wed, 02 Dec 2026 10:00:00 +0000',
    `Message-ID: <${subject.replace(/\W/g, '')}.${Math.random().toString(36).slice(2)}@example.test>`,
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
    '',
    body,
    '',
  ].join('\r\n');
}

export function inboxOf(env: TestServices, address: string) {
  const store = env.services.store;
  const mailbox = store.mail.findMailbox(store.accounts.get(address).id, 'INBOX')!;
  return store.mail.listMessages(mailbox.id).map((m) => ({ ...m, raw: readFileSync(store.mail.files.absolute(m.file), 'utf8') }));
}

/** A mailauth resolver that knows the DKIM records of the domain's keys. */
export function dkimResolver(env: TestServices, domain = 'example.test') {
  return dkimResolverFor(ensureDomainKeys(env.services.store.paths.dkim, domain));
}
