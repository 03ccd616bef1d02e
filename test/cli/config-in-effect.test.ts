// `mailnest config list` beside a running `mailnest serve` (both the real,
// bundled CLI): the values the server uses (its flags override stored ones)
// are shown in an IN EFFECT column and as `inEffect` in --json, while it runs
// and only then (run/config.json, removed at stop, ignored once its writer is gone).

import test from 'ava';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { cliOk, startServe } from '../helpers/cli.ts';
import { tempDataDir } from '../helpers/data-dir.ts';
import { until } from '../hw/until.ts';

interface Row {
  key: string;
  value: unknown;
  source: string;
  inEffect: unknown;
}

async function listJson(data: string): Promise<Record<string, Row>> {
  const rows = JSON.parse(await cliOk(['config', 'list', '--json'], { data })) as Row[];
  return Object.fromEntries(rows.map((row) => [row.key, row]));
}

test('config list shows the values a running server uses beside the stored ones', async (t) => {
  const data = tempDataDir(t);
  await cliOk(['config', 'set', 'max-recipients', '5'], { data });
  await cliOk(['config', 'set', 'hostname', 'mail.example.test'], { data });
  const serve = startServe(data, ['--port-offset', '10000', '--max-recipients', '7']);
  t.teardown(() => serve.stop('SIGKILL'));
  await serve.waitFor(/ ready /);
  await until(() => existsSync(join(data, 'run', 'config.json')), 'run/config.json');

  const text = await cliOk(['config', 'list'], { data });
  t.regex(text, /^KEY\s+VALUE\s+SOURCE\s+IN EFFECT\s+MEANING$/m);
  t.regex(text, /^max-recipients\s+5\s+stored\s+7 \(flag\)\s+The most recipients/m);
  t.regex(text, /^port-offset\s+0\s+default\s+10000 \(flag\)\s+/m);
  t.regex(text, /^listen\s+0\.0\.0\.0,::\s+default\s+127\.0\.0\.1 \(flag\)\s+/m);
  t.regex(text, /^hostname\s+mail\.example\.test\s+stored\s+mail\.example\.test\s+/m);
  t.regex(text, new RegExp(`IN EFFECT: what the Mailnest serving this folder \\(pid ${serve.child.pid}, `));

  const rows = await listJson(data);
  t.like(rows['max-recipients'], { value: 5, source: 'stored', inEffect: 7 });
  t.like(rows['port-offset'], { value: 0, source: 'default', inEffect: 10000 });
  t.deepEqual(rows.listen!.inEffect, ['127.0.0.1']);
  t.like(rows.hostname, { value: 'mail.example.test', inEffect: 'mail.example.test' });

  // Stopped: the file goes, and so does the column.
  t.is(await serve.stop('SIGTERM'), 0);
  t.false(existsSync(join(data, 'run', 'config.json')));
  const after = await cliOk(['config', 'list'], { data });
  t.notRegex(after, /IN EFFECT/);
  t.regex(after, /^max-recipients\s+5\s+stored\s+The most recipients/m);
  t.is((await listJson(data))['max-recipients']!.inEffect, null);
});

test('a server that died leaves run/config.json behind, and config list does not believe it', async (t) => {
  const data = tempDataDir(t);
  const serve = startServe(data, ['--max-recipients', '7']);
  t.teardown(() => serve.stop('SIGKILL'));
  await serve.waitFor(/ ready /);
  await until(() => existsSync(join(data, 'run', 'config.json')), 'run/config.json');
  t.is((await listJson(data))['max-recipients']!.inEffect, 7);
  await serve.stop('SIGKILL');
  t.true(existsSync(join(data, 'run', 'config.json')));
  t.notRegex(await cliOk(['config', 'list'], { data }), /IN EFFECT/);
  t.is((await listJson(data))['max-recipients']!.inEffect, null);
});
