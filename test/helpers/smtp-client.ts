// Sending with nodemailer's real SMTP client, and a raw-socket dialogue for
// exact wire checks.

import nodemailer from 'nodemailer';
import { connect } from 'node:net';

export interface SendResult {
  ok: boolean;
  code?: number | undefined;
  response: string;
}

/** Sends `raw` (a whole RFC 5322 message) from `from` to `to` over plain SMTP (STARTTLS when offered). */
export async function sendRaw(port: number, from: string, to: string[], raw: Buffer | string, options: { requireTLS?: boolean; ignoreTLS?: boolean; size?: number } = {}): Promise<SendResult> {
  const transport = nodemailer.createTransport({
    host: '127.0.0.1',
    port,
    secure: false,
    ignoreTLS: options.ignoreTLS ?? true,
    requireTLS: options.requireTLS ?? false,
    tls: { rejectUnauthorized: false },
    name: 'client.example.test',
    connectionTimeout: 10_000,
    greetingTimeout: 10_000,
    socketTimeout: 60_000,
  });
  try {
    const info = await transport.sendMail({ envelope: { from, to, ...(options.size ? { size: options.size } : {}) }, raw });
    return { ok: true, response: info.response };
  } catch (error) {
    const e = error as { responseCode?: number; response?: string; message: string };
    return { ok: false, code: e.responseCode, response: e.response ?? e.message };
  } finally {
    transport.close();
  }
}

export function message(subject: string, body: string, extraHeaders = ''): string {
  return `From: Sender <sender@remote.test>\r\nTo: alice@example.test\r\nSubject: ${subject}\r\nDate: Tue, 24 Nov 2026 10:00:00 +0000\r\nMessage-ID: <${subject.replace(/\W/g, '')}.${Math.random().toString(36).slice(2)}@remote.test>\r\n${extraHeaders}\r\n${body}\r\n`;
}

/**
 * A scripted dialogue: sends each line after reading the server's reply to the
 * previous one, and returns every reply (multi-line replies joined).
 */
export async function smtpDialogue(port: number, lines: string[]): Promise<string[]> {
  const socket = connect(port, '127.0.0.1');
  socket.setEncoding('utf8');
  let buffer = '';
  const replies: string[] = [];
  let waiting: (() => void) | undefined;
  socket.on('data', (chunk: string) => {
    buffer += chunk;
    waiting?.();
  });
  const closed = new Promise<void>((resolve) => socket.on('close', () => {
    waiting?.();
    resolve();
  }));
  const nextReply = () =>
    new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no reply; so far: ${JSON.stringify(replies)} buffer: ${buffer}`)), 10_000);
      const check = () => {
        const match = /^((?:\d{3}-[^\r\n]*\r\n)*\d{3} [^\r\n]*\r\n)/.exec(buffer);
        if (match) {
          buffer = buffer.slice(match[1]!.length);
          clearTimeout(timer);
          waiting = undefined;
          resolve(match[1]!.trimEnd());
        } else if (socket.destroyed) {
          clearTimeout(timer);
          waiting = undefined;
          resolve('');
        }
      };
      waiting = check;
      check();
    });
  try {
    replies.push(await nextReply());
    for (const line of lines) {
      socket.write(line + '\r\n');
      replies.push(await nextReply());
    }
  } finally {
    socket.destroy();
    await closed;
  }
  return replies;
}
