// How `mailnest firmware` turns its flags into the services' command line and
// the ports it probes; the atomic files in <data>/run.

import test from 'ava';
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { firmwareCommand, planFirmware, type FirmwareEnvironment } from '../../cli/commands/firmware.ts';
import { parseCommandLine } from '../../cli/command.ts';
import { probeHostFor, serveLaunch } from '../../firmware/launch.ts';
import { writeJsonAtomic } from '../../firmware/run-files.ts';
import { tempDataDir } from '../helpers/data-dir.ts';
import { fakeServices } from './helpers.ts';

const environment: FirmwareEnvironment = { node: '/usr/bin/node', bundle: fakeServices, watchdogExists: () => false, isRoot: false };

function plan(argv: string[], env: Partial<FirmwareEnvironment> = {}) {
  const { options } = parseCommandLine(firmwareCommand, argv);
  return planFirmware({ dataDir: (options.data as string | undefined) ?? 'var', options }, { ...environment, ...env });
}

test('serve gets --data, --port-offset always, the ports and the other flags; the probes use the same ports', (t) => {
  const p = plan(['--data', 'var', '--port-offset', '10000', '--port', 'smtp=2525', '--listen', '127.0.0.1', '--hostname', 'mx.example.test']);
  const data = resolve('var');
  t.is(p.dataDir, data);
  t.is(p.launch.command, '/usr/bin/node');
  t.deepEqual(p.launch.args, [
    '--enable-source-maps',
    fakeServices,
    'serve',
    '--data',
    data,
    '--port-offset',
    '10000',
    '--port',
    'smtp=2525',
    '--listen',
    '127.0.0.1',
    '--hostname',
    'mx.example.test',
  ]);
  t.is(p.launch.host, '127.0.0.1');
  t.like(p.launch.ports, { http: 10080, smtp: 2525, imap: 10143 });
  t.deepEqual(p.resetCommand, { command: '/usr/bin/node', args: ['--enable-source-maps', fakeServices, 'config', 'reset', '--all', '--data', data] });
  t.is(p.logLevel, 'info');
});

test('without flags: offset 0 on the standard ports, passed explicitly', (t) => {
  const p = plan([]);
  t.deepEqual(p.launch.args.slice(2), ['serve', '--data', resolve('var'), '--port-offset', '0']);
  t.like(p.launch.ports, { http: 80, smtp: 25 });
});

test('hardware: real as root with a watchdog, else simulated, unless asked', (t) => {
  t.is(plan([]).hardware, 'simulated');
  t.is(plan([], { isRoot: true }).hardware, 'simulated');
  t.is(plan([], { isRoot: true, watchdogExists: (d) => d === '/dev/watchdog' }).hardware, 'real');
  t.is(plan(['--hardware', 'real']).hardware, 'real');
  t.is(plan(['--hardware', 'simulated'], { isRoot: true, watchdogExists: () => true }).hardware, 'simulated');
  t.like(plan(['--watchdog', 'none', '--status-led', 'ACT', '--button-gpio', 'gpiochip504:3']).real, { watchdogDevice: null, statusLed: 'ACT', buttonGpio: 'gpiochip504:3' });
});

test('bad flags are refused before anything starts', (t) => {
  t.throws(() => plan(['--port-offset', 'lots']), { message: /^setting port-offset: "lots" is not a whole number/ });
  t.throws(() => plan(['--port', 'gopher=70']), { message: /^--port gopher=70: expected NAME=PORT/ });
  t.throws(() => plan(['--port', 'http=0']), { message: /the supervisor must know the web port/ });
  t.throws(() => plan(['--hardware', 'maybe']), { message: /expected real or simulated/ });
  t.throws(() => plan(['--max-recipients', '0']), { message: /^setting max-recipients: 0 is outside/ });
  t.throws(() => plan([], { bundle: '/nowhere/mailnest.js' }), { message: /run `make build` first/ });
});

test('the probe host follows --listen', (t) => {
  t.is(probeHostFor(undefined), '127.0.0.1');
  t.is(probeHostFor('0.0.0.0,::'), '127.0.0.1');
  t.is(probeHostFor('::'), '::1');
  t.is(probeHostFor('192.168.1.2'), '192.168.1.2');
  t.is(serveLaunch({ node: 'n', bundle: 'b', dataDir: 'd', portOffset: 0, listen: '::1' }).host, '::1');
});

test('run files are replaced atomically and leave no temporary file behind', async (t) => {
  const data = tempDataDir(t);
  const path = join(data, 'run', 'storage-state.json');
  await writeJsonAtomic(path, { state: 'ok', detail: 'a', since: 'then' });
  await writeJsonAtomic(path, { state: 'nearly-full', detail: 'b', since: 'now' });
  t.deepEqual(JSON.parse(readFileSync(path, 'utf8')), { state: 'nearly-full', detail: 'b', since: 'now' });
  t.deepEqual(readdirSync(join(data, 'run')), ['storage-state.json']);
});

test('`make run ARGS=...` passes its arguments on to the supervisor, which passes them on to serve (a make dry run)', (t) => {
  const root = resolve(import.meta.dirname, '..', '..');
  const dry = execFileSync('make', ['-s', '-n', '-C', root, 'run', 'ARGS=--port http=18080 --log-level debug'], { encoding: 'utf8' });
  const line = dry.trim().split('\n').at(-1)!;
  t.regex(line, /^bin\/mailnest firmware /);
  // The recipe's words, as the shell would split them (no quoting in it).
  const argv = line.split(/\s+/).slice(2);
  const p = plan(argv);
  t.is(p.launch.ports.http, 18080);
  t.is(p.launch.ports.smtp, 10025);
  t.is(p.logLevel, 'debug');
  const args = p.launch.args.slice(p.launch.args.indexOf('serve'));
  t.deepEqual(args, ['serve', '--data', resolve('./var'), '--port-offset', '10000', '--port', 'http=18080', '--listen', '127.0.0.1', '--log-level', 'debug']);
  // ARGS come last, so a default can be overridden.
  t.is(plan(line.split(/\s+/).slice(2).concat(['--port-offset', '20000'])).launch.ports.imap, 20143);
});
