import test from 'ava';
import { ConfigError, formatBytes, parseBytes, parseSetting, resolveConfig, schema } from '../../services/config/schema.ts';

test('defaults apply when nothing is stored or given', (t) => {
  const { config, origin } = resolveConfig({ stored: new Map() });
  t.is(config.portOffset, 0);
  t.deepEqual(config.listen, ['0.0.0.0', '::']);
  t.is(config.messageSizeLimit, 50 * 1024 * 1024);
  t.is(origin['port-offset'], 'default');
  t.regex(config.hostname, /^[a-z0-9.-]+$/);
});

test('a flag beats a stored value, which beats the default', (t) => {
  const stored = new Map<string, unknown>([['port-offset', 2000], ['hostname', 'mail.example.test']]);
  const { config, origin } = resolveConfig({ stored, overrides: { 'port-offset': '10000' } });
  t.is(config.portOffset, 10000);
  t.is(origin['port-offset'], 'flag');
  t.is(config.hostname, 'mail.example.test');
  t.is(origin.hostname, 'stored');
});

test('an invalid value names its setting and says what is expected', (t) => {
  const cases: [Record<string, string>, RegExp][] = [
    [{ 'port-offset': 'ten' }, /^setting port-offset: "ten" is not a whole number \(from the command line\); expected a whole number from 0 to 60000$/],
    [{ 'port-offset': '70000' }, /^setting port-offset: 70000 is outside 0\.\.60000/],
    [{ listen: '127.0.0.1,nonsense' }, /^setting listen: "nonsense" is not an IP address/],
    [{ hostname: 'bad_name!' }, /^setting hostname: "bad_name!" is not a valid host name/],
    [{ 'message-size-limit': '5 parsecs' }, /^setting message-size-limit: "5 parsecs" is not a size/],
    [{ 'log-level': 'chatty' }, /^setting log-level: "chatty" is not one of debug, info, warn, error/],
  ];
  for (const [overrides, message] of cases) {
    const error = t.throws(() => resolveConfig({ stored: new Map(), overrides }), { instanceOf: ConfigError });
    t.regex(error!.message, message);
    t.false(error!.message.includes('\n'), 'one line');
  }
  t.throws(() => resolveConfig({ stored: new Map(), overrides: { 'no-such-thing': '1' } }), { message: /no setting "no-such-thing"/ });
});

test('a bad value stored in the database is reported as stored', (t) => {
  t.throws(() => resolveConfig({ stored: new Map([['max-recipients', 0]]) }), { message: /^setting max-recipients: 0 is outside 1\.\.10000 \(stored in the database\)/ });
});

test('sizes take K, M, G suffixes in powers of 1024 and print back the same way', (t) => {
  t.is(parseBytes('4096'), 4096);
  t.is(parseBytes('512K'), 512 * 1024);
  t.is(parseBytes('50M'), 50 * 1024 ** 2);
  t.is(parseBytes('1.5g'), 1.5 * 1024 ** 3);
  t.is(formatBytes(50 * 1024 ** 2), '50M');
  t.is(formatBytes(1000), '1000');
  t.throws(() => parseBytes('-1M'));
  t.is(parseSetting('message-size-limit', '20M'), 20 * 1024 ** 2);
  t.throws(() => parseSetting('message-size-limit', '1K'), { message: /outside 64K\.\.1G/ });
});

test('every setting has a description and a default that passes its own validation', (t) => {
  for (const spec of Object.values(schema)) {
    t.true(spec.description.length > 10, spec.key);
    t.notThrows(() => (spec.type as { accept(v: unknown): unknown }).accept(spec.default()), spec.key);
  }
});
