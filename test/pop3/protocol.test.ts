// POP3 end to end over raw sockets: RFC 1939 with CAPA, UIDL, TOP, AUTH PLAIN,
// STLS, the maildrop lock, DELE applied only at QUIT.

import test from 'ava';
import { connect } from 'node:net';
import type { Pop3Service } from '../../services/pop3/index.ts';
import { Pop3Connection } from '../helpers/pop3-client.ts';
import { imapClient } from '../helpers/imap-client.ts';
import { addFamily, startServices, type TestServices } from '../helpers/services.ts';
import { message, sendRaw } from '../helpers/smtp-client.ts';

async function withMail(t: Parameters<typeof startServices>[0], count = 3): Promise<TestServices> {
  const env = await startServices(t);
  await addFamily(env.services);
  for (let i = 1; i <= count; i++) {
    const body = i === 2 ? 'line one\r\n.starts with a dot\r\n..two dots\r\nline four\r\nline five' : `Body ${i}.`;
    t.true((await sendRaw(env.ports.smtp!, 'friend@remote.test', ['alice@example.test'], message(`pop ${i}`, body))).ok);
  }
  return env;
}

async function login(env: TestServices, user = 'alice@example.test'): Promise<Pop3Connection> {
  const pop = await Pop3Connection.open(env.ports.pop3!);
  await pop.reply();
  await pop.command(`USER ${user}`);
  const pass = await pop.command('PASS sesame-tulip-42');
  if (!pass.startsWith('+OK')) throw new Error(pass);
  return pop;
}

test('greeting, CAPA, USER/PASS, STAT, LIST, UIDL, RETR with dot-stuffing, TOP, QUIT', async (t) => {
  const env = await withMail(t);
  const pop = await Pop3Connection.open(env.ports.pop3!);
  t.teardown(() => pop.destroy());
  t.regex(await pop.reply(), /^\+OK mx\.example\.test Mailnest POP3 ready$/);
  const capa = await pop.command('CAPA', true);
  for (const cap of ['TOP', 'UIDL', 'RESP-CODES', 'PIPELINING', 'USER', 'SASL PLAIN', 'STLS', 'AUTH-RESP-CODE']) t.regex(capa, new RegExp(`\\r\\n${cap}\\r\\n`), cap);
  t.regex(await pop.command('STAT'), /^-ERR STAT is not allowed now/);
  t.regex(await pop.command('USER alice@example.test'), /^\+OK/);
  t.regex(await pop.command('PASS sesame-tulip-42'), /^\+OK alice@example\.test has 3 messages \(\d+ octets\)$/);

  const stat = /^\+OK (\d+) (\d+)$/.exec(await pop.command('STAT'))!;
  t.is(Number(stat[1]), 3);
  const list = await pop.command('LIST', true);
  const sizes = [...list.matchAll(/^(\d+) (\d+)$/gm)].map((m) => Number(m[2]));
  t.is(sizes.length, 3);
  t.is(sizes.reduce((a, b) => a + b), Number(stat[2]));
  t.regex(await pop.command('LIST 2'), new RegExp(`^\\+OK 2 ${sizes[1]}$`));
  t.regex(await pop.command('LIST 9'), /^-ERR no such message/);

  const store = env.services.store;
  const inbox = store.mail.findMailbox(store.accounts.get('alice@example.test').id, 'INBOX')!;
  t.is(await pop.command('UIDL 1'), `+OK 1 ${inbox.uidValidity}.1`);
  t.regex(await pop.command('UIDL', true), new RegExp(`\\r\\n3 ${inbox.uidValidity}\\.3\\r\\n$`));

  const retr = await pop.command('RETR 2', true);
  t.regex(retr, new RegExp(`^\\+OK ${sizes[1]} octets\\r\\n`));
  const text = retr.slice(retr.indexOf('\r\n') + 2);
  t.is(Buffer.byteLength(text), sizes[1]!, 'the unstuffed message is exactly the size LIST gave');
  t.regex(text, /\r\nline one\r\n\.starts with a dot\r\n\.\.two dots\r\n/);

  const top = await pop.command('TOP 2 2', true);
  t.regex(top, /Subject: pop 2\r\n/);
  t.regex(top, /\r\n\r\nline one\r\n\.starts with a dot\r\n$/);
  t.notRegex(top, /two dots/);
  const headersOnly = await pop.command('TOP 1 0', true);
  t.regex(headersOnly, /Subject: pop 1\r\n.*\r\n\r\n$/s);

  t.regex(await pop.command('QUIT'), /^\+OK .*signing off \(0 messages deleted\)$/);
  const seen = store.mail.listMessages(inbox.id).map((m) => m.flags & 1);
  t.deepEqual(seen, [0, 1, 0], 'RETR marks the message seen at QUIT; TOP does not');
});

test('DELE takes effect only at QUIT, as an expunge an IMAP session sees; RSET undoes; a dropped connection deletes nothing', async (t) => {
  const env = await withMail(t);
  const imap = await imapClient(t, env.ports.imap!);
  const lock = await imap.getMailboxLock('INBOX');
  const expunged: number[] = [];
  imap.on('expunge', (event: { seq: number }) => expunged.push(event.seq));

  const dropped = await login(env);
  t.regex(await dropped.command('DELE 1'), /^\+OK message 1 marked deleted/);
  t.regex(await dropped.command('RETR 1'), /^-ERR no such message \(it is marked deleted\)/);
  t.regex(await dropped.command('STAT'), /^\+OK 2 /);
  dropped.destroy();
  await new Promise((r) => setTimeout(r, 200));
  t.is(env.services.store.mail.findMailbox(env.services.store.accounts.get('alice@example.test').id, 'INBOX')!.messages, 3, 'nothing deleted by a dropped connection');

  const pop = await login(env);
  await pop.command('DELE 1');
  await pop.command('DELE 2');
  t.regex(await pop.command('RSET'), /^\+OK/);
  t.regex(await pop.command('STAT'), /^\+OK 3 /);
  await pop.command('DELE 1');
  await pop.command('DELE 3');
  t.regex(await pop.command('QUIT'), /\(2 messages deleted\)$/);

  await imap.noop();
  // Either order is right as long as each number is valid when sent: 3 then 1, or 1 then 2 (RFC 3501 §7.4.1).
  t.true(JSON.stringify(expunged) === '[3,1]' || JSON.stringify(expunged) === '[1,2]', `the IMAP session was told of two expunges: ${JSON.stringify(expunged)}`);
  const left = [];
  for await (const m of imap.fetch('1:*', { envelope: true })) left.push(m.envelope?.subject);
  t.deepEqual(left, ['pop 2']);
  lock.release();
});

test('a second POP3 session on the same account gets [IN-USE]; after QUIT the lock is free', async (t) => {
  const env = await withMail(t, 1);
  const first = await login(env);
  const second = await Pop3Connection.open(env.ports.pop3!);
  t.teardown(() => second.destroy());
  await second.reply();
  await second.command('USER alice@example.test');
  t.regex(await second.command('PASS sesame-tulip-42'), /^-ERR \[IN-USE\] /);
  await first.command('QUIT');
  await new Promise((r) => setTimeout(r, 100));
  t.regex(await second.command('USER alice@example.test'), /^\+OK/);
  t.regex(await second.command('PASS sesame-tulip-42'), /^\+OK/);
  const bob = await login(env, 'bob@example.test');
  t.regex(await bob.command('STAT'), /^\+OK 0 0$/, 'other accounts are not locked');
});

test('AUTH PLAIN with and without an initial response; failures are delayed and reported', async (t) => {
  const env = await withMail(t, 1);
  const plain = (authz: string, user: string, pass: string) => Buffer.from(`${authz}\0${user}\0${pass}`).toString('base64');
  const pop = await Pop3Connection.open(env.ports.pop3!);
  t.teardown(() => pop.destroy());
  await pop.reply();
  t.regex(await pop.command('AUTH', true), /PLAIN/);
  const started = Date.now();
  t.regex(await pop.command(`AUTH PLAIN ${plain('', 'alice@example.test', 'wrong')}`), /^-ERR \[AUTH\] authentication failed$/);
  t.true(Date.now() - started >= 1500, 'the failure was delayed');
  t.is(env.services.authEvents.failures, 1);
  t.regex(await pop.command('AUTH PLAIN'), /^\+ $/);
  t.regex(await pop.command(plain('', 'alice@example.test', 'sesame-tulip-42')), /^\+OK alice@example\.test has 1 message/);

  const other = await Pop3Connection.open(env.ports.pop3!);
  t.teardown(() => other.destroy());
  await other.reply();
  t.regex(await other.command(`AUTH PLAIN ${plain('bob@example.test', 'alice@example.test', 'sesame-tulip-42')}`), /^-ERR \[AUTH\]/, 'no logging in as someone else');
});

test('STLS upgrades the plain port; implicit TLS on 995 works; bad commands and huge lines get -ERR and the session goes on', async (t) => {
  const env = await withMail(t, 1);
  const pop = await Pop3Connection.open(env.ports.pop3!);
  t.teardown(() => pop.destroy());
  await pop.reply();
  t.regex(await pop.command('STLS'), /^\+OK begin TLS/);
  await pop.startTls();
  t.notRegex(await pop.command('CAPA', true), /STLS/);
  t.regex(await pop.command('STLS'), /^-ERR already using TLS/);
  t.regex(await pop.command('FROB'), /^-ERR unknown command/);
  t.regex(await pop.command('X'.repeat(5000)), /^-ERR line too long/);
  t.regex(await pop.command('USER alice@example.test'), /^\+OK/);
  t.regex(await pop.command('PASS sesame-tulip-42'), /^\+OK/);
  t.regex(await pop.command('RETR abc'), /^-ERR give a message number/);
  t.regex(await pop.command('TOP 1'), /^-ERR usage: TOP/);
  t.regex(await pop.command('LIST 1'), /^\+OK 1 \d+$/);

  const secure = await Pop3Connection.open(env.ports.pop3s!, { tls: true });
  t.teardown(() => secure.destroy());
  t.regex(await secure.reply(), /^\+OK/);
  t.notRegex(await secure.command('CAPA', true), /STLS/);
});

test('pipelined commands are answered in order', async (t) => {
  const env = await withMail(t, 2);
  const pop = await Pop3Connection.open(env.ports.pop3!);
  t.teardown(() => pop.destroy());
  await pop.reply();
  pop.write('USER alice@example.test\r\nPASS sesame-tulip-42\r\nSTAT\r\nUIDL 2\r\nNOOP\r\n');
  t.regex(await pop.reply(), /^\+OK now PASS/);
  t.regex(await pop.reply(), /^\+OK alice/);
  t.regex(await pop.reply(), /^\+OK 2 \d+$/);
  t.regex(await pop.reply(), /^\+OK 2 \d+\.2$/);
  t.is(await pop.reply(), '+OK');
});

test('a client that pipelines megabytes while its login is delayed, reading nothing, leaves the server holding a few dozen KiB', async (t) => {
  const env = await startServices(t);
  await addFamily(env.services);
  const service = env.services.services.find((s) => s.name === 'pop3') as Pop3Service;
  const socket = connect(env.ports.pop3!, '127.0.0.1');
  socket.on('error', () => {});
  t.teardown(() => socket.destroy());
  await new Promise((resolve) => socket.once('connect', resolve));
  socket.pause();
  // The failed PASS keeps the session busy for the login delay while the rest arrives.
  const commands = 20_000;
  const noops = 300_000;
  socket.write(`USER alice@example.test\r\nPASS wrong\r\n${'NOOP\r\n'.repeat(noops)}${'CAPA\r\n'.repeat(commands)}QUIT\r\n`);
  await new Promise<void>((resolve) => (socket.writableLength === 0 ? resolve() : socket.once('drain', () => resolve())));
  let received = '';
  socket.on('data', (chunk: Buffer) => (received += chunk.toString('latin1')));
  socket.resume();
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no end of session; got ${received.length} octets`)), 60_000);
    socket.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
  });
  t.regex(received, /\r\n-ERR \[AUTH\] [^\r]*\r\n/);
  t.is(received.split('\r\nSASL PLAIN\r\n').length - 1, commands, 'every CAPA was answered');
  t.is(received.split('+OK\r\n').length - 1, noops, 'every NOOP was answered');
  t.regex(received, /\+OK [^\r]*\r\n$/);
  const { peakPerSession } = service.buffered;
  t.log(`the most the session held at once: ${peakPerSession} octets`);
  // 16 KiB of pipelined input and 64 KiB of replies, plus one socket read.
  t.true(peakPerSession <= 192 * 1024, `the session held ${peakPerSession} octets`);
});
