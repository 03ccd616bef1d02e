// LOGIN (RFC 3501 §6.2.3), AUTHENTICATE PLAIN (RFC 4616) with SASL-IR
// (RFC 4959), LOGINDISABLED, failure delays, events and limits.

import test from 'ava';
import { RawClient } from './helpers/raw-client.ts';
import { connectFlow, password, startServer, user } from './helpers/server.ts';

const plain = (authzid: string, authcid: string, pass: string) => Buffer.from(`${authzid}\0${authcid}\0${pass}`).toString('base64');

test('LOGIN with the right password answers OK with the new capabilities', async (t) => {
  const { port, events } = await startServer(t);
  const client = await RawClient.connect(t, port);
  const result = await client.command('a1', `LOGIN ${user} ${password}`);
  t.regex(result.tagged, /^a1 OK \[CAPABILITY IMAP4rev1 [^\]]*\] Logged in$/);
  t.notRegex(result.tagged, /AUTH=PLAIN|LOGINDISABLED|STARTTLS/);
  t.is(events.filter((e) => e.name === 'authSuccess').length, 1);
  t.regex((await client.command('a2', 'SELECT INBOX')).tagged, /^a2 OK \[READ-WRITE\]/);
});

test('LOGIN takes literals and quoted strings', async (t) => {
  const { port } = await startServer(t);
  const client = await RawClient.connect(t, port);
  client.write(`a1 LOGIN {${user.length}}\r\n`);
  t.is(await client.readResponse(), '+ Ready for literal data');
  client.write(`${user} "${password}"\r\n`);
  t.regex((await client.until('a1')).tagged, /^a1 OK/);
});

test('a failed login is delayed, reported as an event and to onAuthFailure, and answered NO [AUTHENTICATIONFAILED]', async (t) => {
  const failures: unknown[] = [];
  const { port, events } = await startServer(t, { authFailureDelayMs: 150, onAuthFailure: (event) => failures.push(event) });
  const client = await RawClient.connect(t, port);
  const started = Date.now();
  const result = await client.command('a1', `LOGIN ${user} wrong`);
  t.is(result.tagged, 'a1 NO [AUTHENTICATIONFAILED] Authentication failed');
  t.true(Date.now() - started >= 140);
  t.is(failures.length, 1);
  t.like(failures[0] as object, { username: user, mechanism: 'LOGIN', failures: 1, remoteAddress: '127.0.0.1' });
  t.is(events.filter((e) => e.name === 'authFailure').length, 1);
  // the session goes on
  t.regex((await client.command('a2', `LOGIN ${user} ${password}`)).tagged, /^a2 OK/);
});

test('too many failed logins end the connection with BYE', async (t) => {
  const { port } = await startServer(t, { maxAuthFailures: 2 });
  const client = await RawClient.connect(t, port);
  t.regex((await client.command('a1', `LOGIN ${user} x`)).tagged, /^a1 NO/);
  const second = await client.command('a2', `LOGIN ${user} y`);
  t.regex(second.tagged, /^a2 NO \[AUTHENTICATIONFAILED\]/);
  t.is(await client.readResponse(), '* BYE Too many failed logins');
  await client.waitClosed();
  t.pass();
});

test('AUTHENTICATE PLAIN with an initial response (SASL-IR)', async (t) => {
  const { port } = await startServer(t);
  const client = await RawClient.connect(t, port);
  const result = await client.command('a1', `AUTHENTICATE PLAIN ${plain('', user, password)}`);
  t.regex(result.tagged, /^a1 OK \[CAPABILITY /);
});

test('AUTHENTICATE PLAIN with a continuation; a pipelined command after the response still runs', async (t) => {
  const { port } = await startServer(t);
  const client = await RawClient.connect(t, port);
  client.write('a1 AUTHENTICATE PLAIN\r\n');
  t.is(await client.readResponse(), '+ ');
  client.write(`${plain(user, user, password)}\r\na2 NOOP\r\n`);
  t.regex((await client.until('a1')).tagged, /^a1 OK/);
  t.is((await client.until('a2')).tagged, 'a2 OK NOOP completed');
});

test('AUTHENTICATE cancelled with "*" is BAD; bad base64 is BAD; wrong password is NO', async (t) => {
  const { port } = await startServer(t);
  const client = await RawClient.connect(t, port);
  client.write('a1 AUTHENTICATE PLAIN\r\n');
  await client.readResponse();
  client.write('*\r\n');
  t.regex((await client.until('a1')).tagged, /^a1 BAD Authentication cancelled/);
  t.regex((await client.command('a2', 'AUTHENTICATE PLAIN !!!')).tagged, /^a2 BAD/);
  t.regex((await client.command('a3', `AUTHENTICATE PLAIN ${plain('', user, 'nope')}`)).tagged, /^a3 NO \[AUTHENTICATIONFAILED\]/);
  t.regex((await client.command('a4', 'AUTHENTICATE CRAM-MD5')).tagged, /^a4 NO/);
  t.regex((await client.command('a5', `AUTHENTICATE PLAIN ${plain('bob@example.test', user, password)}`)).tagged, /^a5 NO/);
});

test('on a connection that is not secure: LOGINDISABLED, no AUTH=PLAIN, and LOGIN is refused', async (t) => {
  const { port, backend } = await startServer(t, { isSecure: () => false });
  const client = await RawClient.connect(t, port);
  t.regex(client.greeting, /LOGINDISABLED/);
  t.notRegex(client.greeting, /AUTH=PLAIN/);
  t.regex((await client.command('a1', `LOGIN ${user} ${password}`)).tagged, /^a1 NO \[PRIVACYREQUIRED\]/);
  t.regex((await client.command('a2', `AUTHENTICATE PLAIN ${plain('', user, password)}`)).tagged, /^a2 NO \[PRIVACYREQUIRED\]/);
  t.false(backend.calls.some((call) => call.startsWith('authenticate')));
});

test('LOGIN after login is BAD', async (t) => {
  const { port } = await startServer(t);
  const client = await RawClient.connect(t, port);
  await client.login();
  t.regex((await client.command('a1', `LOGIN ${user} ${password}`)).tagged, /^a1 BAD/);
});

test('imapflow logs in', async (t) => {
  const { port } = await startServer(t);
  const client = await connectFlow(t, port);
  t.true(client.authenticated !== false);
  await client.logout();
});
