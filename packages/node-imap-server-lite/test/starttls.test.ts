// STARTTLS (RFC 3501 §6.2.1) and implicit TLS. The test certificate in
// fixtures/ is self-signed for localhost and used for nothing else.

import test from 'ava';
import { readFileSync } from 'node:fs';
import { connect as tlsConnect, createSecureContext } from 'node:tls';
import { RawClient } from './helpers/raw-client.ts';
import { password, startServer, user } from './helpers/server.ts';
import { ImapServer } from '../src/index.ts';
import { MemoryBackend } from './helpers/memory-backend.ts';

const key = readFileSync(new URL('./fixtures/test-key.pem', import.meta.url));
const cert = readFileSync(new URL('./fixtures/test-cert.pem', import.meta.url));
const context = createSecureContext({ key, cert });

function readTlsLine(socket: import('node:tls').TLSSocket): Promise<string> {
  return new Promise((resolve, reject) => {
    let data = '';
    const timer = setTimeout(() => reject(new Error(`timeout; got ${JSON.stringify(data)}`)), 5000);
    const onData = (chunk: Buffer) => {
      data += chunk.toString('latin1');
      const lines = data.split('\r\n');
      const tagged = lines.find((line) => /^(t\d|\*) /.test(line) && (line.startsWith('t') || line.startsWith('* OK')));
      if (tagged) {
        clearTimeout(timer);
        socket.off('data', onData);
        resolve(data);
      }
    };
    socket.on('data', onData);
  });
}

test('STARTTLS upgrades the connection; plaintext pipelined after it is discarded; login works inside TLS', async (t) => {
  const { port } = await startServer(t, { tls: context, isSecure: (_socket, encrypted) => encrypted });
  const client = await RawClient.connect(t, port);
  t.regex(client.greeting, /STARTTLS/);
  t.regex(client.greeting, /LOGINDISABLED/);
  // An injected command after STARTTLS, in the same packet, must never run.
  client.write('s1 STARTTLS\r\ns2 LOGIN injected attacker\r\n');
  t.is(await client.readResponse(), 's1 OK Begin TLS negotiation now');
  client.socket.removeAllListeners('data');
  const secure = tlsConnect({ socket: client.socket, rejectUnauthorized: false, servername: 'localhost' });
  t.teardown(() => secure.destroy());
  await new Promise<void>((resolve, reject) => {
    secure.once('secureConnect', resolve);
    secure.once('error', reject);
  });
  secure.write('t1 CAPABILITY\r\n');
  const caps = await readTlsLine(secure);
  t.notRegex(caps, /s2/);
  t.notRegex(caps, /STARTTLS|LOGINDISABLED/);
  t.regex(caps, /AUTH=PLAIN/);
  t.regex(caps, /t1 OK/);
  secure.write(`t2 LOGIN ${user} ${password}\r\n`);
  t.regex(await readTlsLine(secure), /t2 OK/);
});

test('STARTTLS is unknown without a TLS context', async (t) => {
  const { port } = await startServer(t);
  const client = await RawClient.connect(t, port);
  t.regex((await client.command('a1', 'STARTTLS')).tagged, /^a1 BAD/);
});

test('implicit TLS: listen({ tls }) serves IMAPS; the connection counts as secure', async (t) => {
  const backend = new MemoryBackend();
  backend.addUser(user, password);
  const server = new ImapServer({ backend, isSecure: (_socket, encrypted) => encrypted });
  const address = await server.listen({ port: 0, tls: context });
  t.teardown(() => server.close(100));
  const socket = tlsConnect({ port: address.port, host: '127.0.0.1', rejectUnauthorized: false, servername: 'localhost' });
  t.teardown(() => socket.destroy());
  const greeting = await readTlsLine(socket);
  t.regex(greeting, /^\* OK \[CAPABILITY [^\]]*AUTH=PLAIN/);
  t.notRegex(greeting, /STARTTLS|LOGINDISABLED/);
  socket.write(`t1 LOGIN ${user} ${password}\r\n`);
  t.regex(await readTlsLine(socket), /t1 OK/);
});
