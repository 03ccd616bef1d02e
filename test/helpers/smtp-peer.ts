// Another mail server, for the outbound queue to deliver to: smtp-server on
// 127.0.0.1 with an ephemeral port, keeping every message it accepts and
// answering RCPT and DATA as the test decides (at once, or when a promise the
// test holds settles: a server that stalls).

import type { ExecutionContext } from 'ava';
import type { SecureContextOptions } from 'node:tls';
import { SMTPServer, type SMTPServerAddress, type SMTPServerSession } from 'smtp-server';

export interface ReceivedByPeer {
  from: string;
  to: string[];
  raw: Buffer;
  /** The connection was TLS (implicit or STARTTLS). */
  secure: boolean;
  user: string | undefined;
  helo: string;
}

export interface PeerOptions {
  /** Implicit TLS (a smarthost on 465). */
  secure?: boolean;
  /** Require AUTH with these credentials (a smarthost). */
  login?: { user: string; pass: string };
  /** A reply for RCPT: return an Error with responseCode to refuse, or null to accept; a promise of one answers when it settles. */
  onRcpt?: (address: string, attempt: number) => Refusal | Promise<Refusal>;
  /** A reply for the end of DATA (the whole message has arrived), the same way. */
  onData?: (attempt: number) => Refusal | Promise<Refusal>;
  /** No STARTTLS offered. */
  noTls?: boolean;
  host?: string;
  /** Wait this long before answering the end of DATA (a slow server). */
  dataDelayMs?: number;
  /** TLS versions the server speaks: `{ maxVersion: 'TLSv1.1' }` is a server whose STARTTLS handshake our client refuses. */
  tls?: Pick<SecureContextOptions, 'minVersion' | 'maxVersion'>;
}

type Refusal = (Error & { responseCode?: number }) | null;

export function reply(code: number, text: string): Error & { responseCode: number } {
  return Object.assign(new Error(text), { responseCode: code });
}

export async function startPeer(t: ExecutionContext, options: PeerOptions = {}) {
  const received: ReceivedByPeer[] = [];
  const rcptAttempts = new Map<string, number>();
  let dataAttempts = 0;
  const connections = { open: 0, most: 0, total: 0 };
  const server = new SMTPServer({
    secure: options.secure ?? false,
    authOptional: !options.login,
    disabledCommands: [...(options.login ? [] : ['AUTH']), ...(options.noTls ? ['STARTTLS'] : [])],
    allowInsecureAuth: false,
    hideENHANCEDSTATUSCODES: false,
    logger: false,
    // Reverse DNS would query the system resolver for each connection; nothing here may leave the machine.
    disableReverseLookup: true,
    size: 100 * 1024 * 1024,
    ...options.tls,
    onConnect(_session, callback) {
      connections.open += 1;
      connections.total += 1;
      connections.most = Math.max(connections.most, connections.open);
      callback();
    },
    onClose() {
      connections.open -= 1;
    },
    onAuth(auth, _session, callback) {
      if (options.login && auth.username === options.login.user && auth.password === options.login.pass) return callback(null, { user: auth.username });
      callback(reply(535, '5.7.8 Authentication credentials invalid'));
    },
    onRcptTo(address: SMTPServerAddress, _session, callback) {
      const attempt = (rcptAttempts.get(address.address) ?? 0) + 1;
      rcptAttempts.set(address.address, attempt);
      Promise.resolve(options.onRcpt?.(address.address, attempt) ?? null).then((refusal) => callback(refusal ?? undefined), callback);
    },
    onData(stream, session: SMTPServerSession, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', async () => {
        if (options.dataDelayMs) await new Promise((r) => setTimeout(r, options.dataDelayMs));
        dataAttempts += 1;
        let refusal: Refusal;
        try {
          refusal = (await options.onData?.(dataAttempts)) ?? null;
        } catch (error) {
          return callback(error as Error);
        }
        if (refusal) return callback(refusal);
        received.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((r) => r.address),
          raw: Buffer.concat(chunks),
          secure: session.secure,
          user: session.user as string | undefined,
          helo: session.hostNameAppearsAs,
        });
        callback(null, 'Ok: queued as peer');
      });
    },
  });
  server.on('error', () => {});
  await new Promise<void>((resolve) => server.listen(0, options.host ?? '127.0.0.1', resolve));
  const address = server.server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { port, received, rcptAttempts, connections, dataAttempts: () => dataAttempts, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}
