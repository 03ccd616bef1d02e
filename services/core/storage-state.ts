// What the firmware supervisor says about the data disk, read from
// <data>/run/storage-state.json (written atomically by the supervisor):
// {"state": "ok" | "nearly-full" | "read-only", "detail": "...", "since": "..."}.
// While it is not "ok", services answer temporary failures instead of
// accepting mail they may not be able to keep. A missing or unreadable file
// means "ok": without a supervisor (development, tests) the disk is the judge.

import { readFileSync, unwatchFile, watchFile } from 'node:fs';
import { join } from 'node:path';

export type StorageCondition = 'ok' | 'nearly-full' | 'read-only';

export interface StorageState {
  state: StorageCondition;
  detail?: string;
  since?: string;
}

const conditions = new Set<StorageCondition>(['ok', 'nearly-full', 'read-only']);

export function readStorageState(path: string): StorageState {
  try {
    const parsed = JSON.parse(readFileSync(path, 'utf8')) as Partial<StorageState>;
    if (parsed && conditions.has(parsed.state as StorageCondition)) return { state: parsed.state!, detail: parsed.detail, since: parsed.since };
  } catch {
    // missing or half-read: treated as ok
  }
  return { state: 'ok' };
}

export class StorageStateWatcher {
  private current: StorageState;
  private readonly path: string;

  constructor(dataRoot: string, private readonly onChange: (state: StorageState) => void = () => {}, intervalMs = 1000) {
    this.path = join(dataRoot, 'run', 'storage-state.json');
    this.current = readStorageState(this.path);
    watchFile(this.path, { interval: intervalMs, persistent: false }, () => this.reload());
  }

  get state(): StorageState {
    return this.current;
  }

  reload(): void {
    const next = readStorageState(this.path);
    if (next.state !== this.current.state) {
      this.current = next;
      this.onChange(next);
    } else {
      this.current = next;
    }
  }

  close(): void {
    unwatchFile(this.path);
  }
}
