// The real CLI, run as a child process on a temporary data folder.

import test from 'ava';
import { cliOk, runCli } from '../helpers/cli.ts';
import { testPassword } from '../helpers/accounts.ts';
import { tempDataDir } from '../helpers/data-dir.ts';

test('domain, user and alias commands work end to end and list as JSON', async (t) => {
  const data = tempDataDir(t);
  t.regex(await cliOk(['domain', 'add', 'Example.TEST'], { data }), /added domain example\.test/);
  t.regex(await cliOk(['domain', 'add', 'bücher.example'], { data }), /xn--bcher-kva\.example \(bücher\.example\)/);
  t.regex(await cliOk(['user', 'add', 'Alice@example.test', '--password-stdin', '--quota', '2G', '--name', 'Alice Liddell'], { data, stdin: 'alice in wonderland\n' }), /added user alice@example\.test \(quota 2G\)/);
  await cliOk(['user', 'add', 'bob@example.test', '--password-stdin'], { data, stdin: 'bobs long passphrase' });
  await cliOk(['alias', 'add', 'family@example.test', 'alice@example.test', 'bob@example.test', 'gran@remote.test'], { data });
  await cliOk(['alias', 'add', '@example.test', 'alice@example.test'], { data });

  const users = JSON.parse(await cliOk(['user', 'list', '--json'], { data }));
  t.deepEqual(users.map((u: { address: string; quotaBytes: number; name: string; enabled: boolean }) => [u.address, u.quotaBytes, u.name, u.enabled]), [
    ['alice@example.test', 2 * 1024 ** 3, 'Alice Liddell', true],
    ['bob@example.test', 0, '', true],
  ]);
  const domains = JSON.parse(await cliOk(['domain', 'list', '--json'], { data }));
  t.deepEqual(domains.map((d: { name: string; users: number; aliases: number }) => [d.name, d.users, d.aliases]), [
    ['example.test', 2, 2],
    ['xn--bcher-kva.example', 0, 0],
  ]);
  const aliases = JSON.parse(await cliOk(['alias', 'list', 'example.test', '--json'], { data }));
  t.deepEqual(aliases, [
    { source: '@example.test', destinations: ['alice@example.test'], builtIn: false },
    // RFC 5321 §4.5.1 and RFC 2142 §4: there without configuration, to the first user.
    { source: 'abuse@example.test', destinations: ['alice@example.test'], builtIn: true },
    { source: 'family@example.test', destinations: ['alice@example.test', 'bob@example.test', 'gran@remote.test'], builtIn: false },
    { source: 'postmaster@example.test', destinations: ['alice@example.test'], builtIn: true },
  ]);
  t.regex(await cliOk(['alias', 'list', 'example.test'], { data }), /^postmaster@example\.test\s+alice@example\.test \(built in\)$/m);
  t.regex(await cliOk(['user', 'list'], { data }), /^ADDRESS\s+QUOTA\s+ENABLED\s+NAME\nalice@example\.test\s+2G\s+yes\s+Alice Liddell\nbob@example\.test\s+unlimited\s+yes\n$/);

  await cliOk(['user', 'quota', 'bob@example.test', '500M'], { data });
  await cliOk(['user', 'disable', 'bob@example.test'], { data });
  const bob = JSON.parse(await cliOk(['user', 'list', 'example.test', '--json'], { data }))[1];
  t.is(bob.quotaBytes, 500 * 1024 ** 2);
  t.false(bob.enabled);

  await cliOk(['alias', 'remove', 'family@example.test', 'gran@remote.test'], { data });
  await cliOk(['user', 'remove', 'bob@example.test'], { data });
  const after = JSON.parse(await cliOk(['alias', 'list', '--json'], { data })) as { source: string; destinations: string[] }[];
  t.deepEqual(after.find((a) => a.source === 'family@example.test')?.destinations, ['alice@example.test']);
});

test('passwd changes the password that the store checks', async (t) => {
  const data = tempDataDir(t);
  await cliOk(['domain', 'add', 'example.test'], { data });
  await cliOk(['user', 'add', 'alice@example.test', '--password-stdin'], { data, stdin: 'the first passphrase' });
  t.regex(await cliOk(['user', 'passwd', 'alice@example.test', '--password-stdin'], { data, stdin: 'the second passphrase\r\n' }), /changed the password/);
  const { Store } = await import('../../services/store/index.ts');
  const store = Store.open(data);
  t.teardown(() => store.close());
  t.falsy(await store.accounts.authenticate('alice@example.test', 'the first passphrase'));
  t.truthy(await store.accounts.authenticate('alice@example.test', 'the second passphrase'));
});

test('user add and user passwd refuse short and common passwords with one line saying what to do, and change nothing', async (t) => {
  const data = tempDataDir(t);
  await cliOk(['domain', 'add', 'example.test'], { data });
  const cases: [string[], string, RegExp][] = [
    [['user', 'add', 'alice@example.test', '--password-stdin'], 'x\n', /^mailnest: the password is too short: 1 character, at least 10 are needed \(several unrelated words/],
    [['user', 'add', 'alice@example.test', '--password-stdin'], 'hunter2\n', /too short: 7 characters/],
    [['user', 'add', 'alice@example.test', '--password-stdin'], 'Password1234\n', /^mailnest: that password is on the list of the most common passwords, the first ones attackers try; choose another/],
    [['user', 'add', 'alice@example.test', '--password-stdin'], 'QWERTYUIOP\n', /most common passwords/],
    [['user', 'add', 'alice@example.test', '--password-stdin'], 'ALICE@example.test\n', /must not be the address/],
  ];
  for (const [args, stdin, message] of cases) {
    const result = await runCli(args, { data, stdin });
    t.is(result.code, 1, stdin);
    t.regex(result.stderr, message, stdin);
    t.regex(result.stderr, /^mailnest: [^\n]+\n$/, `one line: ${stdin}`);
  }
  t.deepEqual(JSON.parse(await cliOk(['user', 'list', '--json'], { data })), [], 'no user was made');

  await cliOk(['user', 'add', 'alice@example.test', '--password-stdin'], { data, stdin: 'ten chars!\n' });
  const passwd = await runCli(['user', 'passwd', 'alice@example.test', '--password-stdin'], { data, stdin: '1q2w3e4r5t\n' });
  t.is(passwd.code, 1);
  t.regex(passwd.stderr, /most common passwords/);
  const { Store } = await import('../../services/store/index.ts');
  const store = Store.open(data);
  t.teardown(() => store.close());
  t.truthy(await store.accounts.authenticate('alice@example.test', 'ten chars!'), 'the old password still works');
});

test('bad input exits non-zero with one line saying what is wrong, and changes nothing', async (t) => {
  const data = tempDataDir(t);
  await cliOk(['domain', 'add', 'example.test'], { data });
  await cliOk(['user', 'add', 'alice@example.test', '--password-stdin'], { data, stdin: testPassword });
  const snapshot = async () => [await cliOk(['domain', 'list', '--json'], { data }), await cliOk(['user', 'list', '--json'], { data }), await cliOk(['alias', 'list', '--json'], { data })];
  const before = await snapshot();

  const cases: [string[], string | undefined, RegExp][] = [
    [['domain', 'add', 'example.test'], undefined, /domain example\.test already exists/],
    [['domain', 'add', 'not a domain'], undefined, /not a valid domain/],
    [['domain', 'remove', 'example.test'], undefined, /still has 1 user/],
    [['domain', 'remove', 'missing.test'], undefined, /does not exist/],
    [['user', 'add', 'alice@example.test', '--password-stdin'], 'pw', /already exists/],
    [['user', 'add', 'bob@unknown.test', '--password-stdin'], 'pw', /domain unknown\.test does not exist/],
    [['user', 'add', 'not-an-address', '--password-stdin'], 'pw', /is not an email address/],
    [['user', 'add', 'bob@example.test', '--password-stdin'], '', /password is empty/],
    [['user', 'add', 'bob@example.test', '--password-stdin'], '\n', /password is empty/],
    [['user', 'add', 'bob@example.test', '--password-stdin'], 'two\nlines', /must be one line/],
    [['user', 'add', 'bob@example.test'], 'pw', /--password-stdin/],
    [['user', 'add', 'bob@example.test', '--password', 'pw'], undefined, /Unknown option '--password'/],
    [['user', 'add', 'bob@example.test', '--password-stdin', '--quota', 'lots'], 'pw', /quota: "lots" is not a size/],
    [['user', 'quota', 'alice@example.test', '-5'], undefined, /not a size|Unknown option/],
    [['user', 'passwd', 'nobody@example.test', '--password-stdin'], 'pw', /user nobody@example\.test does not exist/],
    [['user', 'remove', 'nobody@example.test'], undefined, /does not exist/],
    [['alias', 'add', 'x@example.test', 'typo@example.test'], undefined, /neither a user nor an alias/],
    [['alias', 'add', 'alice@example.test', 'bob@remote.test'], undefined, /is a user/],
    [['alias', 'add', 'x@example.test'], undefined, /missing arguments/],
    [['alias', 'remove', 'x@example.test'], undefined, /no alias/],
    [['config', 'set', 'port-offset', 'ten'], undefined, /setting port-offset: "ten" is not a whole number/],
    [['config', 'set', 'nonsense', '1'], undefined, /no setting "nonsense"/],
    [['frobnicate'], undefined, /unknown command "frobnicate"/],
    [['user', 'explode'], undefined, /unknown command "user explode"/],
  ];
  for (const [args, stdin, message] of cases) {
    const result = await runCli(args, { data, stdin });
    t.not(result.code, 0, args.join(' '));
    t.regex(result.stderr, message, args.join(' '));
    t.regex(result.stderr, /^mailnest: [^\n]+\n$/, `one line: ${args.join(' ')}`);
    t.false(result.stderr.includes('at '), 'no stack trace');
  }
  t.deepEqual(await snapshot(), before);
  t.regex(await cliOk(['config', 'list'], { data }), /port-offset\s+0\s+default/);
});

test('config set, get, list and unset', async (t) => {
  const data = tempDataDir(t);
  t.regex(await cliOk(['config', 'set', 'message-size-limit', '20M'], { data }), /message-size-limit = 20M/);
  t.is(await cliOk(['config', 'get', 'message-size-limit'], { data }), '20M\n');
  await cliOk(['config', 'set', 'listen', '127.0.0.1, ::1'], { data });
  const list = JSON.parse(await cliOk(['config', 'list', '--json'], { data })) as { key: string; value: unknown; source: string }[];
  t.like(list.find((s) => s.key === 'listen'), { key: 'listen', value: ['127.0.0.1', '::1'], source: 'stored' });
  t.is(list.find((s) => s.key === 'message-size-limit')?.value, 20 * 1024 ** 2);
  t.regex(await cliOk(['config', 'unset', 'message-size-limit'], { data }), /back to its default/);
  t.is(await cliOk(['config', 'get', 'message-size-limit'], { data }), '50M\n');
  await cliOk(['config', 'set', 'hostname', 'mail.example.test'], { data });
  const refused = await runCli(['config', 'reset'], { data });
  t.is(refused.code, 2);
  t.regex(refused.stderr, /confirm with --all/);
  t.is(await cliOk(['config', 'get', 'hostname'], { data }), 'mail.example.test\n');
  t.regex(await cliOk(['config', 'reset', '--all'], { data }), /forgot 2 stored settings/);
  t.notRegex(await cliOk(['config', 'list'], { data }), /stored/);
});

test('--data defaults to $MAILNEST_DATA', async (t) => {
  const data = tempDataDir(t);
  await cliOk(['domain', 'add', 'env.test'], { env: { MAILNEST_DATA: data } });
  t.regex(await cliOk(['domain', 'list'], { data }), /env\.test/);
});

test('help lists every command, and --version prints one', async (t) => {
  const help = await cliOk(['--help']);
  for (const command of ['serve', 'domain add', 'user passwd', 'user quota', 'alias remove', 'config set']) t.true(help.includes(command), command);
  t.regex(await cliOk(['--version']), /^mailnest \d+\.\d+\.\d+\n$/);
  t.regex(await cliOk(['user', 'add', '--help']), /usage: mailnest user add ADDRESS --password-stdin/);
});
