// The data folder as the CLI meets it: a command that only reads, given a
// folder without a database, says so and creates nothing; a command that
// starts a box creates it.

import test from 'ava';
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { cliOk, runCli } from '../helpers/cli.ts';
import { tempDataDir } from '../helpers/data-dir.ts';

const readOnly: string[][] = [
  ['domain', 'list'],
  ['domain', 'list', '--json'],
  ['domain', 'dns', 'example.test'],
  ['user', 'list'],
  ['alias', 'list', '--json'],
  ['mailbox', 'list', 'alice@example.test'],
  ['message', 'list', 'alice@example.test'],
  ['queue', 'list'],
  ['queue', 'show', '1'],
  ['relay', 'show'],
  ['transport', 'list'],
  ['config', 'list'],
  ['config', 'get', 'hostname'],
  // Commands that change only what exists have nothing to change either.
  ['user', 'remove', 'alice@example.test'],
  ['alias', 'remove', 'family@example.test'],
  ['queue', 'retry', '--all'],
];

test('read-only commands on a folder that does not exist say so in one line and create nothing', async (t) => {
  const missing = join(tempDataDir(t), 'typo');
  for (const args of readOnly) {
    const result = await runCli(args, { data: missing });
    t.is(result.code, 1, args.join(' '));
    t.is(result.stderr, `mailnest: there is no Mailnest database in ${missing} (no mailnest.db; the folder does not exist); give the data folder with --data DIR or MAILNEST_DATA\n`, args.join(' '));
    t.is(result.stdout, '', args.join(' '));
    t.false(existsSync(missing), `${args.join(' ')} made no folder`);
  }
  // The same through MAILNEST_DATA, the way a wrong environment would do it.
  const viaEnv = await runCli(['user', 'list'], { env: { MAILNEST_DATA: missing } });
  t.is(viaEnv.code, 1);
  t.regex(viaEnv.stderr, /no Mailnest database in .*typo/);
  t.false(existsSync(missing));
});

test('read-only commands on an existing folder without a database leave it empty; commands that start a box create it', async (t) => {
  const folder = join(tempDataDir(t), 'empty');
  mkdirSync(folder);
  for (const args of readOnly) {
    const result = await runCli(args, { data: folder });
    t.is(result.code, 1, args.join(' '));
    t.is(result.stderr, `mailnest: there is no Mailnest database in ${folder} (no mailnest.db); give the data folder with --data DIR or MAILNEST_DATA\n`, args.join(' '));
    t.deepEqual(readdirSync(folder), [], `${args.join(' ')} created nothing`);
  }
  const user = await runCli(['user', 'add', 'alice@example.test', '--password-stdin'], { data: folder, stdin: 'a long enough passphrase' });
  t.regex(user.stderr, /no Mailnest database/);
  t.deepEqual(readdirSync(folder), []);

  const fresh = join(folder, 'new-box');
  await cliOk(['domain', 'add', 'example.test'], { data: fresh });
  t.true(existsSync(join(fresh, 'mailnest.db')));
  t.regex(await cliOk(['domain', 'list'], { data: fresh }), /example\.test/);
  for (const args of [['config', 'set', 'hostname', 'mail.example.test'], ['transport', 'set', 'remote.test', '127.0.0.1:2525'], ['relay', 'set', 'smtp.isp.test']]) {
    const other = join(folder, args[0]!);
    await cliOk(args, { data: other });
    t.true(existsSync(join(other, 'mailnest.db')), args.join(' '));
  }
});
