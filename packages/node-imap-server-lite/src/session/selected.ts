// The selected mailbox as this session has shown it to the client: the UIDs
// in sequence-number order, which of them are \Recent here, the keywords the
// client has been told about, and the MODSEQ up to which changes were shown.
//
// Invariants a reader must keep:
// - `uids[0..count)` is strictly ascending and is exactly what the client
//   believes: message n is `uids[n-1]`. It changes only when the client is
//   told, by EXISTS (append at the end) or EXPUNGE/VANISHED (compaction).
//   seq→UID is an index, UID→seq a binary search; nothing scans the array
//   per message.
// - A message expunged by another session stays in `uids` (and keeps its
//   sequence number) until the EXPUNGE can be sent (RFC 3501 §7.4.1); until
//   then it is in `pendingExpunge` and gets no flag updates.
// - `modseq` is the highest MODSEQ of the change feed this session has
//   consumed; everything up to it has been shown or is pending in
//   `pendingExpunge`.
// - A batch of expunges is applied with one compaction pass.

import { ParseError } from '../protocol/parser.ts';
import type { SequenceSet } from '../protocol/sequence.ts';
import { uidSet, uidSetFromSorted, uidSetHas, type UidSet } from '../uid-set.ts';

export class SelectedMailbox {
  private uids: Uint32Array;
  private length: number;
  /** UIDs claimed as \Recent by this session. */
  readonly recent = new Set<number>();
  /** Keywords the client has been told of in a FLAGS response. */
  readonly keywords: Set<string>;
  /** Expunged elsewhere; still numbered here until the EXPUNGE is sent. */
  readonly pendingExpunge = new Set<number>();
  /** Flag changes this session already reported itself (uid → modseq), skipped when the feed replays them. */
  readonly reported = new Map<number, number>();
  /** A change was signalled by the backend since the last sync. */
  dirty = false;
  /** The \Recent count last sent in a RECENT response (-1: send it with the next EXISTS). */
  recentSent = -1;

  constructor(
    readonly handle: unknown,
    readonly name: string,
    readonly readOnly: boolean,
    readonly uidValidity: number,
    public modseq: number,
    uids: Uint32Array | readonly number[],
    keywords: readonly string[],
  ) {
    this.length = uids.length;
    this.uids = new Uint32Array(Math.max(16, uids.length));
    this.uids.set(uids);
    for (let i = 1; i < this.length; i++) {
      if (this.uids[i]! <= this.uids[i - 1]!) throw new Error('the backend returned UIDs that are not strictly ascending');
    }
    this.keywords = new Set(keywords);
  }

  get count(): number {
    return this.length;
  }

  /** The highest UID the client knows, or 0. */
  get lastUid(): number {
    return this.length === 0 ? 0 : this.uids[this.length - 1]!;
  }

  uidAt(seq: number): number {
    return this.uids[seq - 1]!;
  }

  /** The sequence number of a UID, or 0 when the client does not know it. */
  seqOf(uid: number): number {
    let low = 0;
    let high = this.length - 1;
    while (low <= high) {
      const mid = (low + high) >>> 1;
      const value = this.uids[mid]!;
      if (uid < value) high = mid - 1;
      else if (uid > value) low = mid + 1;
      else return mid + 1;
    }
    return 0;
  }

  /** Every UID the client knows, as ranges (contiguous UIDs merge). */
  allUids(): UidSet {
    return uidSetFromSorted(this.uids.subarray(0, this.length));
  }

  /**
   * Message numbers to UIDs (RFC 3501 §9 `seq-number`): "*" is the last
   * message, ranges may be written high:low. With `strict`, a number past the
   * end is an error (RFC 3501 §6.4.8 says BAD); otherwise it matches nothing.
   */
  resolveSequence(set: SequenceSet, saved: UidSet | null, strict: boolean): UidSet {
    if (set.saved) return this.resolveSaved(saved);
    const ranges: [number, number][] = [];
    for (const [a, b] of set.ranges) {
      let first = a === '*' ? this.length : a;
      let last = b === '*' ? this.length : b;
      if (first > last) [first, last] = [last, first];
      if (strict && a !== '*' && b !== '*' && last > this.length) throw new ParseError('message number out of range', 'CLIENTBUG');
      if (this.length === 0) continue;
      if (first < 1) first = 1;
      if (last > this.length) last = this.length;
      if (first > last) continue;
      ranges.push([this.uids[first - 1]!, this.uids[last - 1]!]);
    }
    // A seq range maps to the UID range between its ends: every UID between
    // them that still exists is one the client knows (new UIDs are higher).
    return uidSet(ranges);
  }

  /** UID sets (RFC 3501 §6.4.8): "*" is the highest UID known; n:* with n past it still means that message. */
  resolveUids(set: SequenceSet, saved: UidSet | null): UidSet {
    if (set.saved) return this.resolveSaved(saved);
    const last = this.lastUid;
    const ranges: [number, number][] = [];
    for (const [a, b] of set.ranges) {
      if ((a === '*' || b === '*') && last === 0) continue;
      ranges.push([a === '*' ? last : a, b === '*' ? last : b]);
    }
    return uidSet(ranges);
  }

  private resolveSaved(saved: UidSet | null): UidSet {
    // RFC 5182 §2.1: "$" with no saved result is an empty set.
    return saved ?? [];
  }

  /** Appends UIDs the client is about to be told of by EXISTS; they must be above every known UID. */
  append(newUids: readonly number[]): void {
    if (newUids.length === 0) return;
    if (this.length + newUids.length > this.uids.length) {
      const grown = new Uint32Array(Math.max(this.uids.length * 2, this.length + newUids.length));
      grown.set(this.uids.subarray(0, this.length));
      this.uids = grown;
    }
    let last = this.lastUid;
    for (const uid of newUids) {
      if (uid <= last) throw new Error('new UIDs must be ascending and above the known ones');
      this.uids[this.length++] = uid;
      last = uid;
    }
  }

  /**
   * Removes the given UIDs in one compaction pass. Returns the sequence
   * numbers they had, in descending order: sending EXPUNGE in that order keeps
   * every number valid when it is read (RFC 3501 §7.4.1).
   */
  remove(expunged: UidSet): number[] {
    const removedSeqs: number[] = [];
    let write = 0;
    for (let read = 0; read < this.length; read++) {
      const uid = this.uids[read]!;
      if (uidSetHas(expunged, uid)) {
        removedSeqs.push(read + 1);
        this.recent.delete(uid);
        this.pendingExpunge.delete(uid);
        this.reported.delete(uid);
      } else {
        this.uids[write++] = uid;
      }
    }
    this.length = write;
    return removedSeqs.reverse();
  }

  recentCount(): number {
    return this.recent.size;
  }

  isRecent(uid: number): boolean {
    return this.recent.has(uid);
  }
}
