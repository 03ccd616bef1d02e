// GPIO lines named as a person names them, resolved against a fake sysfs tree.

import test from 'ava';
import { createRequire } from 'node:module';
import { GpioButton } from '../../hw/button.ts';
import { resolveGpio } from '../../hw/gpio.ts';
import { GpioLed } from '../../hw/leds.ts';
import { fakeTree } from './fake-sysfs.ts';

test('a number is a sysfs GPIO number; CHIP:OFFSET is resolved by chip name or label', async (t) => {
  const tree = fakeTree(t);
  tree.write({
    'class/gpio/gpiochip504/base': '504\n',
    'class/gpio/gpiochip504/label': 'pl061\n',
    'class/gpio/gpiochip504/ngpio': '8\n',
    'class/gpio/gpiochip512/base': '512\n',
    'class/gpio/gpiochip512/label': 'pinctrl-bcm2711\n',
    'class/gpio/gpiochip512/ngpio': '58\n',
  });
  t.is(await resolveGpio('17', tree.root), 17);
  t.is(await resolveGpio('gpiochip504:3', tree.root), 507);
  t.is(await resolveGpio('pl061:3', tree.root), 507);
  t.is(await resolveGpio('pinctrl-bcm2711:17', tree.root), 529);
  await t.throwsAsync(resolveGpio('pl061:8', tree.root), { message: /gpiochip504 has only 8 lines/ });
  await t.throwsAsync(resolveGpio('nope:1', tree.root), { message: /no chip named nope .*there are: gpiochip504 \(pl061\), gpiochip512 \(pinctrl-bcm2711\)/ });
  await t.throwsAsync(resolveGpio('GPIO17', tree.root), { message: /expected a number \(17\) or CHIP:OFFSET/ });
});

test('without the onoff package, opening a GPIO says what to install', async (t) => {
  let installed = true;
  try {
    createRequire(import.meta.url).resolve('onoff');
  } catch {
    installed = false;
  }
  if (installed) return t.pass('onoff is installed: nothing to check here');
  await t.throwsAsync(GpioLed.open(17), { message: /npm install onoff/ });
  await t.throwsAsync(GpioButton.open(3), { message: /npm install onoff/ });
});
