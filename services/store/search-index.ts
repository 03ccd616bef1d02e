// The search index (migration 8): per body, the header fields clients search,
// sort and thread on, decoded and normalised, and an FTS5 trigram index of
// its searchable text, so that services/imap/search.ts answers SEARCH and
// SORT in SQL instead of reading every message.
//
// What is kept is exactly what the IMAP library's fallback matcher
// (node-imap-server-lite search/match.ts) would compute from the message, made
// with the library's own functions, so that an answer from the index equals
// the library's answer on the same mailbox:
// - `body_search.h_*`: every field of that name, its unfolded value with
//   RFC 2047 words decoded, lower-cased as JavaScript does (toLowerCase), and
//   for address fields also the parsed "Name <mailbox@host>" text; several
//   values are joined by "\n" (a search string with "\n" is never answered here,
//   so no match can straddle two values). NULL: the message has no such field.
// - `body_text` (FTS5, trigram, detail=none, case_sensitive 1 over text lower-cased in
//   JavaScript: SQLite's own case folding differs from toLowerCase, e.g. for
//   "İ" and final sigma, and remove_diacritics would make "e" match "é", which
//   IMAP's substring match does not): `h` the header text SEARCH TEXT sees,
//   `u` the decoded text of every text part (bodyText), `a` the raw body
//   octets as Latin-1, kept only when the library would match ASCII strings
//   against them instead of `u` (a message with no transfer encoding, no
//   UTF-16/32/7 charset and no encoded word: its "plain" fast path) and they
//   differ from `u` (then `split` = 1). The text is stored with the index
//   (detail=none keeps no positions: about 40% less work per insert than
//   detail=full, and the same size): a search is `column GLOB '*string*'`,
//   which FTS5 answers from the trigrams and checks against the stored text.
// - Sort keys (RFC 5256, computed by the library's sortKeys from the ENVELOPE
//   the backend serves), and the sent day of the first Date: field.
//
// Invariants:
// - `state` says what a row can answer: 1 indexed (everything above is exact),
//   0 pending (not indexed yet: bodies from before migration 8 and bodies
//   larger than `deliveryIndexBytes`; the backfill indexes them), 2 never
//   indexed (larger than `maxIndexedMessageBytes`, or more than
//   `maxIndexedTextChars` of text): only its sort keys are kept. A search that
//   reads content scans every body whose state is not 1, so it never misses a
//   match. The bound is all or nothing: a body's text is indexed whole or not
//   at all, never truncated.
// - Rows live and die with their body: they are written in the transaction
//   that inserts the body (MailStore.insertBody), and a trigger on `bodies`
//   deletes them with the body row, on every path (collectGarbage, sweep,
//   removeAll).
// - The index is a cache of the body files: the backfill writes it with
//   ordinary commits; a power cut loses at most the last batch, which is left
//   pending and indexed again.

import type { Database, Statement } from 'better-sqlite3';
import { readFile } from 'node:fs/promises';
import {
  addressSearchText,
  bodyText,
  encodedHints,
  maxBodyBytes,
  maxHeaderBytes,
  parseHeader,
  parseHeaderDate,
  sortKeys,
  splitHeader,
  type ImapValue,
  type SortCriterion,
} from 'node-imap-server-lite';
import { envelopeToImap, type MessageStructure } from '../mime/index.ts';
import type { BodyFiles } from './body-files.ts';

/** Messages up to this size are indexed in the delivery transaction (the analyzer keeps a copy of at most this many octets). */
export const deliveryIndexBytes = 256 * 1024;
/** Larger messages are never indexed (state 2): searches scan them. */
export const maxIndexedMessageBytes = 4 * 1024 * 1024;
/** Nor are messages with more text than this (header, decoded and raw text together, in UTF-16 units). */
export const maxIndexedTextChars = 1024 * 1024;
/** What the library's matcher reads of a message at most, and so what a scan reads. */
export const scanBytes = maxHeaderBytes + maxBodyBytes;

export const indexState = { pending: 0, indexed: 1, unindexed: 2 } as const;

/** Header fields cached per body (upper case, as the library names them), with their column. */
export const cachedHeaderColumns: ReadonlyMap<string, string> = new Map([
  ['FROM', 'h_from'],
  ['TO', 'h_to'],
  ['CC', 'h_cc'],
  ['BCC', 'h_bcc'],
  ['SUBJECT', 'h_subject'],
  ['MESSAGE-ID', 'h_message_id'],
  ['IN-REPLY-TO', 'h_in_reply_to'],
  ['REFERENCES', 'h_references'],
  ['DATE', 'h_date'],
  ['LIST-ID', 'h_list_id'],
]);
/** The fields whose addresses the library also matches (search/match.ts). */
const addressFields = new Set(['FROM', 'TO', 'CC', 'BCC', 'SENDER', 'REPLY-TO']);

/** Sort keys kept per body; DATE is null when the Date: field cannot be read (the message's INTERNALDATE is used then). */
export interface BodySortKeys {
  subject: string;
  from: string;
  to: string;
  cc: string;
  displayFrom: string;
  displayTo: string;
  date: number | null;
}

export interface SearchRecord {
  /** Cached field name → joined lower-cased values, null when absent. */
  headers: Map<string, string | null>;
  /** The calendar day of the first Date: field, null when it cannot be read. */
  sentDay: number | null;
  /** Lower-cased header text as SEARCH TEXT sees it. */
  headerText: string;
  /** Lower-cased decoded text of the text parts. */
  decoded: string;
  /** Whether ASCII search strings are matched against the raw body (the library's plain fast path). */
  plain: boolean;
  /** The lower-cased raw body as Latin-1, when plain and different from `decoded`. */
  raw: string | null;
  sort: BodySortKeys;
}

/** The library's encoded hints (search/match.ts) as one case-insensitive pattern. */
const hintPattern = new RegExp(encodedHints.map((hint) => hint.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|'), 'i');

const keyCriteria: SortCriterion[] = ['SUBJECT', 'FROM', 'TO', 'CC', 'DISPLAYFROM', 'DISPLAYTO', 'DATE'].map((key) => ({ key: key as SortCriterion['key'], reverse: false }));

/** RFC 5256 sort keys from the stored structure, as the library computes them from the ENVELOPE the backend serves. */
export function bodySortKeys(structure: MessageStructure): BodySortKeys {
  const envelope = envelopeToImap(structure.root.envelope) as readonly ImapValue[];
  const keys = sortKeys(Array.isArray(envelope) ? envelope : [], Number.NaN, 0, keyCriteria);
  const date = keys[6] as number;
  return {
    subject: keys[0] as string,
    from: keys[1] as string,
    to: keys[2] as string,
    cc: keys[3] as string,
    displayFrom: keys[4] as string,
    displayTo: keys[5] as string,
    date: Number.isNaN(date) ? null : date,
  };
}

/** What the index keeps of one message, from its octets (whole, or its first `scanBytes`) and stored structure. */
export function searchRecord(message: Buffer, structure: MessageStructure): SearchRecord {
  const { header, body } = splitHeader(message.length > scanBytes ? message.subarray(0, scanBytes) : message);
  const fields = parseHeader(header);
  const headers = new Map<string, string | null>();
  for (const name of cachedHeaderColumns.keys()) {
    const values: string[] = [];
    for (const field of fields) {
      if (field.name !== name) continue;
      values.push(field.value.toLowerCase());
      if (addressFields.has(name)) values.push(addressSearchText(field.value).toLowerCase());
    }
    headers.set(name, values.length > 0 ? values.join('\n') : null);
  }
  const date = fields.find((field) => field.name === 'DATE')?.value;
  const headerText = fields
    .map((field) => `${field.name}: ${field.value}`)
    .join('\n')
    .toLowerCase();
  // The library lower-cases the raw body and looks for each hint in it; one
  // case-insensitive pass over the Latin-1 text finds the same (no Latin-1
  // letter folds to an ASCII one), without lower-casing a large attachment.
  const rawText = body.toString('latin1');
  const values = fields.map((field) => field.value).join('\n');
  const plain = !hintPattern.test(rawText) && !hintPattern.test(values.toLowerCase());
  const rawLower = plain ? rawText.toLowerCase() : '';
  const decoded = bodyText(fields, body).toLowerCase();
  return {
    headers,
    sentDay: parseHeaderDate(date ?? '')?.day ?? null,
    headerText,
    decoded,
    plain,
    raw: plain && rawLower !== decoded ? rawLower : null,
    sort: bodySortKeys(structure),
  };
}

/** Whether a body's text fits the index. */
function indexable(record: SearchRecord): boolean {
  return record.headerText.length + record.decoded.length + (record.raw?.length ?? 0) <= maxIndexedTextChars;
}

const headerColumnList = [...cachedHeaderColumns.values()];
const rowColumns = ['state', ...headerColumnList, 'sent_day', 'split', 'sort_subject', 'sort_from', 'sort_to', 'sort_cc', 'sort_display_from', 'sort_display_to', 'sort_date'];

function rowValues(state: number, record: SearchRecord | undefined, sort: BodySortKeys | undefined): unknown[] {
  const headers = [...cachedHeaderColumns.keys()].map((name) => (record ? (record.headers.get(name) ?? null) : null));
  return [
    state,
    ...headers,
    record?.sentDay ?? null,
    record?.raw !== null && record?.raw !== undefined ? 1 : 0,
    sort?.subject ?? null,
    sort?.from ?? null,
    sort?.to ?? null,
    sort?.cc ?? null,
    sort?.displayFrom ?? null,
    sort?.displayTo ?? null,
    sort?.date ?? null,
  ];
}

const statements = new WeakMap<Database, { insert: Statement<unknown[]>; update: Statement<unknown[]>; text: Statement<unknown[]> }>();

function prepared(db: Database) {
  let s = statements.get(db);
  if (!s) {
    s = {
      insert: db.prepare<unknown[]>(`INSERT INTO body_search (body_id, ${rowColumns.join(', ')}) VALUES (?, ${rowColumns.map(() => '?').join(', ')})`),
      update: db.prepare<unknown[]>(`UPDATE body_search SET ${rowColumns.map((c) => `${c} = ?`).join(', ')} WHERE body_id = ? AND state = 0`),
      text: db.prepare<unknown[]>('INSERT INTO body_text (rowid, h, u, a) VALUES (?, ?, ?, ?)'),
    };
    statements.set(db, s);
  }
  return s;
}

/**
 * Writes a new body's index rows; called inside the transaction that inserts
 * the body. Without a record (the message was too large to keep while it
 * streamed in) the body is left pending for the backfill.
 */
export function indexNewBody(db: Database, bodyId: number, record: SearchRecord | undefined): void {
  const s = prepared(db);
  if (!record) {
    s.insert.run(bodyId, ...rowValues(indexState.pending, undefined, undefined));
    return;
  }
  if (!indexable(record)) {
    s.insert.run(bodyId, ...rowValues(indexState.unindexed, undefined, record.sort));
    return;
  }
  s.insert.run(bodyId, ...rowValues(indexState.indexed, record, record.sort));
  s.text.run(bodyId, record.headerText, record.decoded, record.raw ?? '');
}

/** Indexes a pending body; false when it is no longer pending (deleted, or indexed meanwhile). */
function indexPendingBody(db: Database, bodyId: number, record: SearchRecord | undefined, sort: BodySortKeys): boolean {
  const s = prepared(db);
  const ok = record !== undefined && indexable(record);
  const changed = s.update.run(...rowValues(ok ? indexState.indexed : indexState.unindexed, ok ? record : undefined, sort), bodyId).changes;
  if (changed === 1 && ok) s.text.run(bodyId, record.headerText, record.decoded, record.raw ?? '');
  return changed === 1;
}

export interface BackfillOptions {
  /** Bodies read per batch at most... */
  batchBodies?: number;
  /** ...and octets (the first body of a batch is read whatever its size). */
  batchBytes?: number;
  /** Pause between batches, so that IMAP and SMTP work runs in between. */
  pauseMs?: number;
}

/**
 * Indexes pending bodies in the background, in bounded batches; resumable
 * because the marker is the row itself (state 0 until indexed). Each batch
 * reads its files asynchronously, then computes and writes its rows in one
 * short transaction.
 */
export class SearchBackfill {
  private running: Promise<void> | undefined;
  private again = false;
  private stopped = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly db: Database,
    private readonly files: BodyFiles,
    private readonly options: BackfillOptions = {},
    private readonly onError: (error: unknown) => void = () => {},
  ) {}

  /** How many bodies wait to be indexed. */
  pending(): number {
    return this.db.prepare('SELECT count(*) FROM body_search WHERE state = 0').pluck().get() as number;
  }

  /** Indexes one batch; returns how many bodies it handled (0: none pending). */
  async runBatch(): Promise<number> {
    const batchBodies = this.options.batchBodies ?? 32;
    const batchBytes = this.options.batchBytes ?? 1024 * 1024;
    const rows = this.db
      .prepare('SELECT s.body_id AS id, b.file, b.size, b.structure FROM body_search s JOIN bodies b ON b.id = s.body_id WHERE s.state = 0 ORDER BY s.body_id LIMIT ?')
      .all(batchBodies) as { id: number; file: string; size: number; structure: string }[];
    const work: { id: number; structure: MessageStructure; octets: Buffer | undefined }[] = [];
    let bytes = 0;
    for (const row of rows) {
      if (work.length > 0 && bytes + Math.min(row.size, maxIndexedMessageBytes) > batchBytes) break;
      const structure = JSON.parse(row.structure) as MessageStructure;
      let octets: Buffer | undefined;
      if (row.size <= maxIndexedMessageBytes) {
        // A file that cannot be read (gone with an expunge meanwhile) leaves the body unindexed: searches scan it.
        octets = await readFile(this.files.absolute(row.file)).catch(() => undefined);
        bytes += row.size;
      }
      work.push({ id: row.id, structure, octets });
    }
    if (work.length === 0) return 0;
    this.db.transaction(() => {
      for (const item of work) {
        const sort = bodySortKeys(item.structure);
        indexPendingBody(this.db, item.id, item.octets ? searchRecord(item.octets, item.structure) : undefined, sort);
      }
    })();
    return work.length;
  }

  /** Runs batches until none is pending; a call while running makes it look again at the end. */
  kick(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = (async () => {
      try {
        do {
          this.again = false;
          while (!this.stopped && (await this.runBatch()) > 0) await new Promise((resolve) => setTimeout(resolve, this.options.pauseMs ?? 5));
        } while (this.again && !this.stopped);
      } catch (error) {
        this.onError(error);
      } finally {
        this.running = undefined;
      }
    })();
  }

  /** Starts at once and looks again every `intervalMs` (large deliveries are left pending for it). */
  start(intervalMs = 30_000): void {
    this.kick();
    this.timer = setInterval(() => this.kick(), intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await this.running;
  }

  /** Until nothing is pending (tests, benchmarks). */
  async drain(): Promise<void> {
    while ((await this.runBatch()) > 0);
  }
}
