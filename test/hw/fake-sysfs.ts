// A fake sysfs (and proc) tree in a temporary folder: the real backends take
// their roots as parameters, so they run against these files in tests.

import type { ExecutionContext } from 'ava';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { tempDataDir } from '../helpers/data-dir.ts';

export interface FakeTree {
  root: string;
  /** Writes files below the root: { 'class/leds/ACT/trigger': '...' }. */
  write(files: Record<string, string>): void;
  path(relative: string): string;
}

export function fakeTree(t: ExecutionContext): FakeTree {
  const root = tempDataDir(t, 'mailnest-sysfs-');
  return {
    root,
    write(files) {
      for (const [relative, content] of Object.entries(files)) {
        mkdirSync(dirname(join(root, relative)), { recursive: true });
        writeFileSync(join(root, relative), content);
      }
    },
    path: (relative) => join(root, relative),
  };
}

/** An LED class device as the kernel shows it. */
export function ledFiles(name: string, triggers = 'none [mmc0] timer heartbeat', maxBrightness = 255): Record<string, string> {
  return {
    [`class/leds/${name}/trigger`]: `${triggers}\n`,
    [`class/leds/${name}/brightness`]: '0\n',
    [`class/leds/${name}/max_brightness`]: `${maxBrightness}\n`,
  };
}
