// Runs every ava test and ends with one plain summary line, `N passed, N failed`,
// counted from ava's own TAP output (ava's human summary is not machine-read).
// Arguments are passed to ava (a file, --match, ...). Exit status is ava's.

import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

const ava = spawn(process.execPath, ['node_modules/ava/entrypoints/cli.mjs', '--tap', ...process.argv.slice(2)], { stdio: ['ignore', 'pipe', 'inherit'] });

let passed = 0;
let failed = 0;
let skipped = 0;
let todo = 0;

const lines = createInterface({ input: ava.stdout! });
const linesDone = new Promise((resolve) => lines.once('close', resolve));
lines.on('line', (line) => {
  process.stdout.write(line + '\n');
  // TAP 13: "ok N - title", "not ok N - title", directives after " # ".
  const match = /^(not ok|ok) \d+(?: - (.*))?$/.exec(line);
  if (!match) return;
  const directive = /# (SKIP|TODO)\b/i.exec(match[2] ?? '')?.[1]?.toUpperCase();
  if (directive === 'SKIP') skipped += 1;
  else if (directive === 'TODO') todo += 1;
  else if (match[1] === 'ok') passed += 1;
  else failed += 1;
});

const code: number = await new Promise((resolve) => ava.on('close', (status, signal) => resolve(status ?? (signal ? 1 : 0))));
await linesDone;
if (code !== 0 && failed === 0) {
  // ava failed without a failing test (a crash, a timeout, no test files): count it.
  process.stdout.write(`# ava exited with status ${code} without reporting a failed test\n`);
  failed = 1;
}
if (skipped || todo) process.stdout.write(`# ${skipped} skipped, ${todo} todo\n`);
process.stdout.write(`${passed} passed, ${failed} failed\n`);
process.exit(code === 0 && failed === 0 ? 0 : 1);
