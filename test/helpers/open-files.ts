// What the test process (which runs the servers) holds open under a folder, and
// waiting for a folder to empty: for tests that abort transfers half-way and
// check that nothing is left behind.

import { readdirSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { until } from '../hw/until.ts';

/** Paths under `dir` that this process has open, one entry per descriptor. */
export function openFilesUnder(dir: string): string[] {
  const open: string[] = [];
  for (const fd of readdirSync('/proc/self/fd')) {
    let target: string;
    try {
      target = readlinkSync(`/proc/self/fd/${fd}`);
    } catch {
      continue; // closed between the listing and the readlink
    }
    if (target.startsWith(dir + '/')) open.push(target.replace(/ \(deleted\)$/, ''));
  }
  return open;
}

/**
 * Waits until no message file or spool file of the data folder is open and
 * the spool (tmp/) is empty; throws with what is left otherwise.
 */
export async function untilNothingLeft(data: string, timeoutMs = 10_000): Promise<void> {
  const left = () => [...openFilesUnder(join(data, 'tmp')), ...openFilesUnder(join(data, 'messages')), ...readdirSync(join(data, 'tmp')).map((name) => `tmp/${name}`)];
  try {
    await until(() => left().length === 0, 'nothing left open', timeoutMs);
  } catch {
    throw new Error(`left behind: ${JSON.stringify(left())}`);
  }
}
