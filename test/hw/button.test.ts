// The reset button: debounce, the hold notice and the long press, with the
// simulated button and short timings.

import test from 'ava';
import { PressDetector, SimulatedButton } from '../../hw/button.ts';
import { until } from './until.ts';

function record(button: SimulatedButton, timings = { debounceMs: 20, holdFeedbackMs: 60, longPressMs: 150 }) {
  const events: string[] = [];
  const detector = new PressDetector(
    button,
    {
      onPress: () => events.push('press'),
      onHold: () => events.push('hold'),
      onLongPress: () => events.push('long'),
      onRelease: (_ms, long) => events.push(long ? 'release after long' : 'release'),
    },
    timings,
  );
  return { events, detector };
}

test('contact bounce makes one press and one release', async (t) => {
  const button = new SimulatedButton();
  const { events, detector } = record(button);
  t.teardown(() => detector.close());
  for (const level of [true, false, true, false, true]) button.set(level);
  await until(() => events.includes('press'), 'the press');
  for (const level of [false, true, false]) button.set(level);
  await until(() => events.includes('release'), 'the release');
  t.deepEqual(events, ['press', 'release']);
});

test('a long press fires once, while the button is still held', async (t) => {
  const button = new SimulatedButton();
  const { events, detector } = record(button);
  t.teardown(() => detector.close());
  button.press();
  await until(() => events.includes('long'), 'the long press');
  t.deepEqual(events, ['press', 'hold', 'long']);
  t.true(detector.pressed);
  await new Promise((resolve) => setTimeout(resolve, 200));
  t.deepEqual(events, ['press', 'hold', 'long']);
  button.release();
  await until(() => events.length === 4, 'the release');
  t.is(events[3], 'release after long');
});

test('a short press is no long press', async (t) => {
  const button = new SimulatedButton();
  const { events, detector } = record(button, { debounceMs: 0, holdFeedbackMs: 1000, longPressMs: 2000 });
  t.teardown(() => detector.close());
  button.press();
  button.release();
  t.deepEqual(events, ['press', 'release']);
});

test('a button already down at start is ignored until released once', async (t) => {
  const button = new SimulatedButton();
  button.press();
  const { events, detector } = record(button, { debounceMs: 0, holdFeedbackMs: 20, longPressMs: 40 });
  t.teardown(() => detector.close());
  await new Promise((resolve) => setTimeout(resolve, 80));
  t.deepEqual(events, []);
  button.release();
  button.press();
  await until(() => events.includes('long'), 'the long press');
  t.deepEqual(events, ['press', 'hold', 'long']);
});

test('nothing fires after close()', async (t) => {
  const button = new SimulatedButton();
  const { events, detector } = record(button, { debounceMs: 0, holdFeedbackMs: 20, longPressMs: 40 });
  button.press();
  detector.close();
  await new Promise((resolve) => setTimeout(resolve, 80));
  button.release();
  t.deepEqual(events, ['press']);
});
