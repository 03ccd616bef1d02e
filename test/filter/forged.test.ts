// Finding Authentication-Results fields that claim our authserv-id (RFC 8601 §5), as byte ranges.

import test from 'ava';
import { forgedAuthResults } from '../../services/filter/authentication.ts';
import { runStages } from '../../services/filter/index.ts';

test('whole fields naming our host are found, folded lines and comments included; others are not', (t) => {
  const header = [
    'Received: from x',
    'authentication-results:  (forged) MX.example.test;',
    '\tdkim=pass header.d=bank.test',
    'Authentication-Results: mx.example.test.evil; spf=pass',
    'Authentication-Results: other.example; dkim=pass',
    'Authentication-Results: mx.example.test; none',
    'Subject: x',
    '',
    '',
  ].join('\r\n');
  const ranges = forgedAuthResults(header, 100, 'mx.example.test');
  t.is(ranges.length, 2);
  const cut = (r: [number, number]) => header.slice(r[0] - 100, r[1] - 100);
  t.is(cut(ranges[0]!), 'authentication-results:  (forged) MX.example.test;\r\n\tdkim=pass header.d=bank.test\r\n');
  t.is(cut(ranges[1]!), 'Authentication-Results: mx.example.test; none\r\n');
});

test('a stage that throws is skipped with STAGE_ERROR and the next stage still runs', async (t) => {
  const errors: unknown[] = [];
  const verdict = await runStages(
    [
      async () => {
        throw new Error('bad MIME');
      },
      async (_input, v) => {
        v.rules.push('LATER');
      },
    ],
    {} as never,
    (error) => errors.push(error),
  );
  t.deepEqual(verdict.rules, ['STAGE_ERROR', 'LATER']);
  t.is(errors.length, 1);
});
