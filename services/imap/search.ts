// SEARCH (RFC 3501 §6.4.4, RFC 9051 §6.4.4; MODSEQ RFC 7162 §3.1.5; WITHIN
// RFC 5032) and SORT (RFC 5256 §3) answered from the database: the library's
// SearchKey tree becomes one SQL WHERE over the messages of the mailbox, with
// the search index (services/store/search-index.ts) for header fields, dates
// and text.
//
// Invariants:
// - An answer equals what the library's fallback matcher (search/match.ts)
//   would answer on the same mailbox, or there is none: `undefined` hands the
//   whole search back to the library. That happens for keys the index cannot
//   answer exactly: a HEADER field that is not cached, a header string with a
//   line break (it could straddle two cached values), a BODY/TEXT string of
//   one or two characters (a trigram index finds nothing shorter than three),
//   a keyword with non-ASCII letters (SQLite's LIKE folds ASCII only), a UID
//   set of many ranges below an OR or NOT, and more than `maxScanned` bodies
//   the index does not hold yet.
// - Bodies the index does not hold (state 0 or 2) are never answered from it:
//   the SQL part covers indexed bodies only, and each other body in scope is
//   read and matched here with the same record the index would have kept.
// - Strings compare as the library does: both sides lower-cased by
//   JavaScript, then a plain substring test (instr for cached fields, GLOB
//   "*string*" on the FTS5 trigram table for text; see search-index.ts for
//   why case_sensitive 1).
// - SORT sorts in JavaScript with the library's comparator on keys the index
//   keeps (computed by the library's sortKeys), so order and ties agree.

import { readFile } from 'node:fs/promises';
import type { Database, Statement } from 'better-sqlite3';
import { compareDay, compareRows, uidSetFromSorted, uidSetIntersect, type SearchKey, type SearchQuery, type SearchResult, type SortCriterion, type SortRow, type UidSet } from 'node-imap-server-lite';
import type { MessageStructure } from '../mime/index.ts';
import type { BodyFiles } from '../store/body-files.ts';
import { flagNames, systemFlagBits } from '../store/flags.ts';
import type { MessageRecord } from '../store/messages.ts';
import { bodySortKeys, cachedHeaderColumns, scanBytes, searchRecord, type BodySortKeys, type SearchRecord } from '../store/search-index.ts';

/** Bodies not in the index that one search reads and matches itself; above this the library's matcher (which reads concurrently) takes the search. */
const maxScanned = 1000;
/** UID ranges written into the SQL as BETWEEN terms at most. */
const maxUidRanges = 64;
const dayMs = 86_400_000;
const systemBits = new Map(Object.entries(systemFlagBits).map(([name, bit]) => [name.toUpperCase(), bit]));

/** The printable-ASCII test of the library's fast path (search/match.ts bodyContains). */
function isAsciiNeedle(lower: string): boolean {
  return /^[\x20-\x7e]*$/.test(lower);
}

/** Thrown inside compile() when a key cannot be answered exactly. */
class NotHere extends Error {}

interface Compiled {
  where: string;
  params: unknown[];
  /** The query reads header fields, dates or text: only indexed bodies are answered in SQL. */
  content: boolean;
  modseq: boolean;
}

/** A GLOB pattern for "contains `lower`": the wildcards * ? [ taken literally as [*] [?] [[]. */
function containsPattern(lower: string): string {
  return `*${lower.replace(/[*?[]/g, (c) => `[${c}]`)}*`;
}

function compile(root: SearchKey, now: number): Compiled {
  const params: unknown[] = [];
  let content = false;
  let modseq = false;
  // GLOB is case-sensitive and, on a trigram table, answered from the index
  // (candidates holding every trigram of the string), then checked against
  // the stored text: exact substring matches.
  const fts = (column: 'h' | 'u' | 'a', lower: string) => {
    params.push(containsPattern(lower));
    return `m.body_id IN (SELECT rowid FROM body_text WHERE ${column} GLOB ?)`;
  };
  /** BODY: ASCII strings search the raw text where the library would (split = 1), the decoded text otherwise. */
  const bodyTerm = (lower: string) => (isAsciiNeedle(lower) ? `((s.split = 1 AND ${fts('a', lower)}) OR (s.split = 0 AND ${fts('u', lower)}))` : fts('u', lower));
  const textNeedle = (value: string): string | null => {
    const lower = value.toLowerCase();
    if (lower === '') return null;
    if ([...lower].length < 3) throw new NotHere();
    return lower;
  };
  const dayTerm = (column: string, comparison: 'before' | 'on' | 'since', day: number) => {
    if (comparison === 'before') return `${column} < ${day * dayMs}`;
    if (comparison === 'since') return `${column} >= ${day * dayMs}`;
    return `(${column} >= ${day * dayMs} AND ${column} < ${(day + 1) * dayMs})`;
  };
  const visit = (key: SearchKey, inScope: boolean): string => {
    switch (key.type) {
      case 'all':
        return '1';
      case 'uid': {
        if (key.uids.length === 0) return '0';
        if (key.uids.length <= maxUidRanges) {
          for (const [start, end] of key.uids) params.push(start, end);
          return `(${key.uids.map(() => 'm.uid BETWEEN ? AND ?').join(' OR ')})`;
        }
        // Reached through ANDs only: the library already narrowed the scope to it (query.ts scopeOf).
        if (inScope) return '1';
        throw new NotHere();
      }
      case 'flag': {
        const bit = systemBits.get(key.flag.toUpperCase());
        if (bit !== undefined) return bit === 1 ? `(m.flags & 1) ${key.set ? '!=' : '='} 0` : `(m.flags & ${bit}) ${key.set ? '!=' : '='} 0`;
        // \Recent and unknown system flags are never stored.
        if (key.flag.startsWith('\\')) return key.set ? '0' : '1';
        if (!/^[\x21-\x7e]+$/.test(key.flag)) throw new NotHere();
        params.push(`% ${key.flag.replace(/[\\%_]/g, (c) => '\\' + c)} %`);
        return `((' ' || m.keywords || ' ') LIKE ? ESCAPE '\\') = ${key.set ? 1 : 0}`;
      }
      case 'header': {
        const column = cachedHeaderColumns.get(key.field);
        if (!column) throw new NotHere();
        content = true;
        // RFC 3501 §6.4.4: an empty string matches every message that has the field.
        if (key.value === '') return `s.${column} IS NOT NULL`;
        const lower = key.value.toLowerCase();
        if (lower.includes('\n')) throw new NotHere();
        params.push(lower);
        return `coalesce(instr(s.${column}, ?), 0) > 0`;
      }
      case 'body': {
        content = true;
        const lower = textNeedle(key.value);
        return lower === null ? '1' : bodyTerm(lower);
      }
      case 'text': {
        content = true;
        const lower = textNeedle(key.value);
        return lower === null ? '1' : `(${fts('h', lower)} OR ${bodyTerm(lower)})`;
      }
      case 'internaldate':
        return dayTerm('m.internal_date', key.comparison, key.day);
      case 'sentdate': {
        content = true;
        const op = key.comparison === 'before' ? '<' : key.comparison === 'on' ? '=' : '>=';
        return `(CASE WHEN s.sent_day IS NOT NULL THEN s.sent_day ${op} ${key.day} ELSE ${dayTerm('m.internal_date', key.comparison, key.day)} END)`;
      }
      case 'age':
        params.push(now - key.seconds * 1000);
        return key.comparison === 'older' ? 'm.internal_date <= ?' : 'm.internal_date >= ?';
      case 'size':
        params.push(key.size);
        return key.comparison === 'larger' ? 'm.size > ?' : 'm.size < ?';
      case 'modseq':
        modseq = true;
        params.push(key.modseq);
        return 'm.modseq >= ?';
      case 'not':
        return `NOT (${visit(key.key, false)})`;
      case 'or':
        return `(${visit(key.left, false)} OR ${visit(key.right, false)})`;
      case 'and':
        return key.keys.length === 0 ? '1' : `(${key.keys.map((inner) => visit(inner, inScope)).join(' AND ')})`;
    }
  };
  const where = visit(root, true);
  return { where, params, content, modseq };
}

/** What the matcher reads of a message: the store's record fields, without its body. */
type MessageFacts = Pick<MessageRecord, 'uid' | 'modseq' | 'flags' | 'keywords' | 'internalDate' | 'size'>;

/** The library's matcher on one message, given the record the index would keep of it. */
function matchRecord(key: SearchKey, message: MessageFacts, record: SearchRecord, now: number): boolean {
  const body = (lower: string) => (isAsciiNeedle(lower) && record.plain ? (record.raw ?? record.decoded).includes(lower) : record.decoded.includes(lower));
  switch (key.type) {
    case 'all':
      return true;
    case 'uid':
      return key.uids.some(([start, end]) => message.uid >= start && message.uid <= end);
    case 'flag': {
      const wanted = key.flag.toLowerCase();
      return flagNames(message.flags, message.keywords).some((flag) => flag.toLowerCase() === wanted) === key.set;
    }
    case 'header': {
      const values = record.headers.get(key.field) ?? null;
      if (values === null) return false;
      return key.value === '' || values.includes(key.value.toLowerCase());
    }
    case 'body':
      return body(key.value.toLowerCase());
    case 'text':
      return record.headerText.includes(key.value.toLowerCase()) || body(key.value.toLowerCase());
    case 'internaldate':
      return compareDay(Math.floor(message.internalDate / dayMs), key.day, key.comparison);
    case 'sentdate':
      return compareDay(record.sentDay ?? Math.floor(message.internalDate / dayMs), key.day, key.comparison);
    case 'age': {
      const age = (now - message.internalDate) / 1000;
      return key.comparison === 'older' ? age >= key.seconds : age <= key.seconds;
    }
    case 'size':
      return key.comparison === 'larger' ? message.size > key.size : message.size < key.size;
    case 'modseq':
      return message.modseq >= key.modseq;
    case 'not':
      return !matchRecord(key.key, message, record, now);
    case 'or':
      return matchRecord(key.left, message, record, now) || matchRecord(key.right, message, record, now);
    case 'and':
      return key.keys.every((inner) => matchRecord(inner, message, record, now));
  }
}

type SortColumn = 'sort_subject' | 'sort_from' | 'sort_to' | 'sort_cc' | 'sort_display_from' | 'sort_display_to' | 'sort_date';
const sortColumns: Record<string, [SortColumn, keyof BodySortKeys]> = {
  SUBJECT: ['sort_subject', 'subject'],
  FROM: ['sort_from', 'from'],
  TO: ['sort_to', 'to'],
  CC: ['sort_cc', 'cc'],
  DISPLAYFROM: ['sort_display_from', 'displayFrom'],
  DISPLAYTO: ['sort_display_to', 'displayTo'],
  DATE: ['sort_date', 'date'],
};

/** Statements made once per distinct SQL text (a search's shape repeats: a client polls the same query). */
const maxStatements = 200;

export class IndexedSearch {
  private readonly statements = new Map<string, Statement>();

  constructor(
    private readonly db: Database,
    private readonly files: BodyFiles,
  ) {}

  private prepare(sql: string): Statement {
    let statement = this.statements.get(sql);
    if (!statement) {
      if (this.statements.size >= maxStatements) this.statements.delete(this.statements.keys().next().value!);
      statement = this.db.prepare(sql);
      this.statements.set(sql, statement);
    }
    return statement;
  }

  async search(mailboxId: number, query: SearchQuery): Promise<SearchResult | undefined> {
    const scope = query.scope;
    if (scope.length === 0) return { uids: [] };
    const now = Date.now();
    let compiled: Compiled;
    try {
      compiled = compile(query.key, now);
    } catch (error) {
      if (error instanceof NotHere) return undefined;
      throw error;
    }
    const low = scope[0]![0];
    const high = scope[scope.length - 1]![1];
    // Bodies the index does not hold are matched one by one below.
    let scanned: (MessageFacts & { file: string; structure: string })[] = [];
    if (compiled.content) {
      // From the few rows not indexed (partial indexes on state), never a walk over the mailbox:
      // CROSS JOIN keeps body_search the outer loop, and each message is found by its body.
      for (const state of [0, 2]) {
        const rows = this.prepare(
          `SELECT m.uid, m.modseq, m.flags, m.keywords, m.internal_date AS internalDate, m.size, b.file, b.structure
           FROM body_search s CROSS JOIN messages m INDEXED BY messages_body ON m.body_id = s.body_id JOIN bodies b ON b.id = s.body_id
           WHERE s.state = ${state} AND m.mailbox_id = ? AND m.uid BETWEEN ? AND ?`,
        ).all(mailboxId, low, high) as typeof scanned;
        for (const row of rows) if (inSet(scope, row.uid)) scanned.push(row);
      }
      scanned.sort((a, b) => a.uid - b.uid);
      if (scanned.length > maxScanned) return undefined;
    }
    // MODSEQ only when it is needed: without it an index (messages_unseen) can cover the query.
    const withModseq = compiled.modseq || scanned.length > 0;
    const sql = `SELECT m.uid${withModseq ? ', m.modseq' : ''} FROM messages m${compiled.content ? ' JOIN body_search s ON s.body_id = m.body_id' : ''}
      WHERE m.mailbox_id = ? AND m.uid BETWEEN ? AND ?${compiled.content ? ' AND s.state = 1' : ''} AND ${compiled.where} ORDER BY m.uid`;
    const rows = this.prepare(sql)
      .raw()
      .all(mailboxId, low, high, ...compiled.params) as [number, number][];
    if (!withModseq) return { uids: uidSetIntersect(uidSetFromSorted(rows.map((row) => row[0])), scope) };
    const matched = new Map<number, number>();
    for (const [uid, modseq] of rows) matched.set(uid, modseq);
    for (const row of scanned) {
      const octets = await readFile(this.files.absolute(row.file)).catch(() => Buffer.alloc(0));
      const record = searchRecord(octets.length > scanBytes ? octets.subarray(0, scanBytes) : octets, JSON.parse(row.structure) as MessageStructure);
      if (matchRecord(query.key, row, record, now)) matched.set(row.uid, row.modseq);
    }
    const uids = [...matched.keys()].sort((a, b) => a - b);
    const found = uidSetIntersect(uidSetFromSorted(uids), scope);
    if (!compiled.modseq) return { uids: found };
    let highest = 0;
    for (const uid of uids) if (inSet(found, uid)) highest = Math.max(highest, matched.get(uid)!);
    return { uids: found, highestModseq: highest > 0 ? highest : undefined };
  }

  /** RFC 5256 SORT of the messages in `query.scope` (the library searched already). */
  async sort(mailboxId: number, criteria: readonly SortCriterion[], query: SearchQuery): Promise<readonly number[] | undefined> {
    const scope = query.scope;
    if (scope.length === 0) return [];
    const columns = [...new Set(criteria.flatMap((c) => (sortColumns[c.key] ? [sortColumns[c.key]![0]] : [])))];
    // Where each criterion's key is in a row: ARRIVAL and SIZE from the message, the rest from the index.
    const extract = criteria.map((criterion) => (criterion.key === 'ARRIVAL' ? -1 : criterion.key === 'SIZE' ? -2 : 5 + columns.indexOf(sortColumns[criterion.key]![0])));
    const join = columns.length > 0;
    const rows = this.prepare(
      `SELECT m.uid, m.internal_date, m.size, m.body_id, ${join ? 's.state' : '1'}${columns.map((c) => `, s.${c}`).join('')}
         FROM messages m${join ? ' LEFT JOIN body_search s ON s.body_id = m.body_id' : ''}
         WHERE m.mailbox_id = ? AND m.uid BETWEEN ? AND ? ORDER BY m.uid`,
    )
      .raw()
      .all(mailboxId, scope[0]![0], scope[scope.length - 1]![1]) as (number | string | null)[][];
    const structureOf = this.prepare('SELECT structure FROM bodies WHERE id = ?');
    const sorted: SortRow[] = [];
    let range = 0;
    for (const row of rows) {
      const uid = row[0] as number;
      while (range < scope.length && scope[range]![1] < uid) range++;
      if (range >= scope.length) break;
      if (uid < scope[range]![0]) continue;
      const internalDate = row[1] as number;
      if (row[4] === null || row[4] === 0) {
        // A pending body has no sort keys yet: they come from its structure, as the index would keep them.
        const keys = bodySortKeys(JSON.parse((structureOf.pluck().get(row[3]) as string | undefined) ?? '{"root":{}}') as MessageStructure);
        for (const column of columns) row[5 + columns.indexOf(column)] = keys[Object.values(sortColumns).find(([c]) => c === column)![1]];
      }
      const keys: (string | number)[] = new Array(extract.length);
      for (let i = 0; i < extract.length; i++) {
        const at = extract[i]!;
        if (at === -1) keys[i] = internalDate;
        else if (at === -2) keys[i] = row[2] as number;
        else if (criteria[i]!.key === 'DATE') keys[i] = (row[at] as number | null) ?? internalDate;
        else keys[i] = (row[at] as string | null) ?? '';
      }
      sorted.push({ uid, seq: uid, keys });
    }
    return sorted.sort(compareRows(criteria)).map((row) => row.uid);
  }
}

function inSet(set: UidSet, uid: number): boolean {
  let low = 0;
  let high = set.length - 1;
  while (low <= high) {
    const mid = (low + high) >> 1;
    const [start, end] = set[mid]!;
    if (uid < start) high = mid - 1;
    else if (uid > end) low = mid + 1;
    else return true;
  }
  return false;
}
