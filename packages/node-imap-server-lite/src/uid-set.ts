// UID sets as sorted, merged ranges: how UIDs travel between the library and
// the backend. A mailbox may hold 100,000 messages, and `UID FETCH 1:*` must
// not become an array of 100,000 numbers, so sets are never expanded unless a
// caller walks them one UID at a time.
//
// Invariants every function here keeps and relies on: ranges are inclusive,
// `start <= end`, sorted by start, non-overlapping and non-adjacent (touching
// ranges are merged), and every number is a UID in 1..2^32-1.

export type UidRange = readonly [start: number, end: number];
/** Sorted, merged, inclusive ranges. Build one with `uidSet()` or `uidSetFromSorted()`. */
export type UidSet = readonly UidRange[];

export const maxUid = 0xffffffff;

/** Normalises ranges in any order, overlapping or reversed, into a UidSet. */
export function uidSet(ranges: Iterable<readonly [number, number]>): UidSet {
  const sorted = [...ranges].map(([a, b]): [number, number] => (a <= b ? [a, b] : [b, a])).sort((x, y) => x[0] - y[0]);
  const out: [number, number][] = [];
  for (const [start, end] of sorted) {
    const last = out[out.length - 1];
    if (last && start <= last[1] + 1) {
      if (end > last[1]) last[1] = end;
    } else {
      out.push([start, end]);
    }
  }
  return out;
}

/** Builds a UidSet from UIDs already in ascending order (duplicates allowed). */
export function uidSetFromSorted(uids: Iterable<number>): UidSet {
  const out: [number, number][] = [];
  for (const uid of uids) {
    const last = out[out.length - 1];
    if (last && uid <= last[1] + 1) {
      if (uid > last[1]) last[1] = uid;
    } else {
      out.push([uid, uid]);
    }
  }
  return out;
}

export function uidSetFromUids(uids: Iterable<number>): UidSet {
  return uidSetFromSorted([...uids].sort((a, b) => a - b));
}

export function uidSetHas(set: UidSet, uid: number): boolean {
  let low = 0;
  let high = set.length - 1;
  while (low <= high) {
    const mid = (low + high) >>> 1;
    const range = set[mid]!;
    if (uid < range[0]) high = mid - 1;
    else if (uid > range[1]) low = mid + 1;
    else return true;
  }
  return false;
}

export function uidSetSize(set: UidSet): number {
  let n = 0;
  for (const [start, end] of set) n += end - start + 1;
  return n;
}

export function uidSetIsEmpty(set: UidSet): boolean {
  return set.length === 0;
}

export function* uidSetValues(set: UidSet): Generator<number> {
  for (const [start, end] of set) for (let uid = start; uid <= end; uid++) yield uid;
}

export function uidSetUnion(a: UidSet, b: UidSet): UidSet {
  return uidSet([...a, ...b]);
}

export function uidSetIntersect(a: UidSet, b: UidSet): UidSet {
  const out: [number, number][] = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const x = a[i]!;
    const y = b[j]!;
    const start = Math.max(x[0], y[0]);
    const end = Math.min(x[1], y[1]);
    if (start <= end) out.push([start, end]);
    if (x[1] < y[1]) i++;
    else j++;
  }
  return out;
}

export function uidSetSubtract(a: UidSet, b: UidSet): UidSet {
  const out: [number, number][] = [];
  let j = 0;
  for (const [start0, end] of a) {
    let start = start0;
    while (j < b.length && b[j]![1] < start) j++;
    let k = j;
    while (k < b.length && b[k]![0] <= end && start <= end) {
      const [bs, be] = b[k]!;
      if (bs > start) out.push([start, bs - 1]);
      start = Math.max(start, be + 1);
      k++;
    }
    if (start <= end) out.push([start, end]);
  }
  return out;
}

/** IMAP sequence-set syntax (RFC 3501 §9 `sequence-set`): "1:3,5,7:9". Empty sets have no IMAP form; callers check first. */
export function formatUidSet(set: UidSet): string {
  return set.map(([start, end]) => (start === end ? String(start) : `${start}:${end}`)).join(',');
}
