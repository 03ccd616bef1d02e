// LEDs: the Linux LED class backend against a fake sysfs tree, the software
// blinker, the simulated LED.

import test from 'ava';
import { readFileSync } from 'node:fs';
import { stepsOf, SoftwareBlinker } from '../../hw/blinker.ts';
import { describeSignal, listSysfsLeds, SimulatedLed, SysfsLed, type LedSignal } from '../../hw/leds.ts';
import { until } from './until.ts';
import { fakeTree, ledFiles } from './fake-sysfs.ts';

test('a steady LED class LED: trigger none, then brightness', async (t) => {
  const tree = fakeTree(t);
  tree.write(ledFiles('ACT'));
  const led = await SysfsLed.open('ACT', tree.root);
  t.teardown(() => led.close());
  const read = (file: string) => readFileSync(tree.path(`class/leds/ACT/${file}`), 'utf8');

  await led.show({ mode: 'on' });
  t.is(read('trigger'), 'none');
  t.is(read('brightness'), '255');
  await led.show({ mode: 'off' });
  t.is(read('brightness'), '0');
  t.deepEqual(led.signal, { mode: 'off' });
});

test('an even blink is handed to the kernel timer trigger', async (t) => {
  const tree = fakeTree(t);
  tree.write(ledFiles('led0'));
  const led = await SysfsLed.open('led0', tree.root);
  t.teardown(() => led.close());
  await led.show({ mode: 'blink', onMs: 250, offMs: 750 });
  const read = (file: string) => readFileSync(tree.path(`class/leds/led0/${file}`), 'utf8');
  t.is(read('trigger'), 'timer');
  t.is(read('delay_on'), '250');
  t.is(read('delay_off'), '750');
});

test('pulses, or a blink without the timer trigger, are played in software; close() puts the old trigger back', async (t) => {
  const tree = fakeTree(t);
  tree.write(ledFiles('PWR', 'none [default-on] heartbeat', 1));
  const led = await SysfsLed.open('PWR', tree.root);
  const brightness = () => readFileSync(tree.path('class/leds/PWR/brightness'), 'utf8');

  await led.show({ mode: 'blink', onMs: 20, offMs: 20 });
  t.is(readFileSync(tree.path('class/leds/PWR/trigger'), 'utf8'), 'none');
  await until(() => brightness() === '1', 'the LED to light');
  await until(() => brightness() === '0', 'the LED to go dark');

  await led.show({ mode: 'pulses', count: 2, onMs: 20, offMs: 20, pauseMs: 60 });
  await until(() => brightness() === '1', 'a pulse');
  await led.close();
  t.is(readFileSync(tree.path('class/leds/PWR/trigger'), 'utf8'), 'default-on');
  // Nothing is written after close(): the blinker's timer is gone.
  const after = brightness();
  await new Promise((resolve) => setTimeout(resolve, 80));
  t.is(brightness(), after);
});

test('a missing LED cannot be opened; the LEDs present are listed', async (t) => {
  const tree = fakeTree(t);
  tree.write({ ...ledFiles('ACT'), ...ledFiles('PWR') });
  await t.throwsAsync(SysfsLed.open('nope', tree.root), { code: 'ENOENT' });
  t.deepEqual(await listSysfsLeds(tree.root), ['ACT', 'PWR']);
  t.deepEqual(await listSysfsLeds(tree.path('nowhere')), []);
});

test('the software blinker plays one period after another, and stop() ends it', async (t) => {
  const writes: boolean[] = [];
  const blinker = new SoftwareBlinker((lit) => void writes.push(lit));
  t.teardown(() => blinker.stop());
  blinker.play({ mode: 'pulses', count: 2, onMs: 10, offMs: 10, pauseMs: 30 });
  await until(() => writes.length >= 6, 'six steps');
  t.deepEqual(writes.slice(0, 6), [true, false, true, false, true, false]);
  blinker.stop();
  const count = writes.length;
  await new Promise((resolve) => setTimeout(resolve, 60));
  t.is(writes.length, count);
});

test('a failing write does not stop the pattern', async (t) => {
  let calls = 0;
  const blinker = new SoftwareBlinker(() => {
    calls++;
    throw new Error('EIO');
  });
  t.teardown(() => blinker.stop());
  blinker.play({ mode: 'blink', onMs: 10, offMs: 10 });
  await until(() => calls >= 3, 'three writes');
  t.pass();
});

test('steps and descriptions of signals', (t) => {
  t.deepEqual(stepsOf({ mode: 'on' }), []);
  t.deepEqual(stepsOf({ mode: 'pulses', count: 3, onMs: 100, offMs: 100, pauseMs: 700 }), [
    [true, 100],
    [false, 100],
    [true, 100],
    [false, 100],
    [true, 100],
    [false, 700],
  ]);
  const cases: [LedSignal, string][] = [
    [{ mode: 'on' }, 'on'],
    [{ mode: 'blink', onMs: 250, offMs: 250 }, 'blink 250/250ms'],
    [{ mode: 'pulses', count: 2, onMs: 150, offMs: 150, pauseMs: 1200 }, '2 pulses 150/150ms, pause 1200ms'],
  ];
  for (const [signal, text] of cases) t.is(describeSignal(signal), text);
});

test('a simulated LED remembers what it showed, and reports it', async (t) => {
  const seen: string[] = [];
  const led = new SimulatedLed('status', (name, signal) => seen.push(`${name}: ${describeSignal(signal)}`));
  await led.show({ mode: 'blink', onMs: 1, offMs: 2 });
  await led.show({ mode: 'on' });
  t.deepEqual(led.history, [{ mode: 'blink', onMs: 1, offMs: 2 }, { mode: 'on' }]);
  t.deepEqual(seen, ['status: blink 1/2ms', 'status: on']);
  await led.close();
  await led.show({ mode: 'off' });
  t.deepEqual(led.signal, { mode: 'on' });
});
