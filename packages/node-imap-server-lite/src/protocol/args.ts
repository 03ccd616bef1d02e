// Typed reading of a command's arguments: each command's `parse` reads its
// arguments through an ArgReader, and that code is the command's argument
// schema (RFC 3501 §9 names in the method names). Anything that does not fit
// throws ParseError, which the session answers with BAD.

import { parseDateTime, parseSearchDate, type DayNumber } from './dates.ts';
import { ParseError, type AtomNode, type ListNode, type Node, type StreamNode, type StringNode } from './parser.ts';
import { parseSequenceSet, type SequenceSet } from './sequence.ts';
import { CommandError } from '../errors.ts';
import { decodeMailboxUtf7, Utf7Error } from './utf7.ts';

export const systemFlags = ['\\Seen', '\\Answered', '\\Flagged', '\\Deleted', '\\Draft'] as const;
const systemFlagByUpper = new Map<string, string>([...systemFlags, '\\Recent'].map((flag) => [flag.toUpperCase(), flag]));

export interface ArgOptions {
  /** UTF8=ACCEPT is enabled: mailbox names are UTF-8, not modified UTF-7 (RFC 6855 §3). */
  utf8: boolean;
  /** SEARCHRES is advertised: "$" is a sequence set. */
  searchRes: boolean;
}

/** Upper-cases INBOX in any case, and as the first level of a hierarchy (RFC 3501 §5.1). */
export function normalizeMailboxName(name: string, separator: string): string {
  if (/^inbox$/i.test(name)) return 'INBOX';
  if (name.length > 5 && name.slice(0, 5).toUpperCase() === 'INBOX' && name.slice(5, 5 + separator.length) === separator) return 'INBOX' + name.slice(5);
  return name;
}

export class ArgReader {
  private index = 0;

  constructor(
    private readonly nodes: readonly Node[],
    readonly options: ArgOptions,
  ) {}

  atEnd(): boolean {
    return this.index >= this.nodes.length;
  }

  peek(): Node | undefined {
    return this.nodes[this.index];
  }

  /** The next argument's atom value, upper-cased, without consuming it. */
  peekAtom(): string | undefined {
    const node = this.nodes[this.index];
    return node?.kind === 'atom' && !node.section ? node.value.toUpperCase() : undefined;
  }

  next(what: string): Node {
    const node = this.nodes[this.index];
    if (!node) throw new ParseError(`missing ${what}`);
    this.index++;
    return node;
  }

  end(): void {
    if (!this.atEnd()) throw new ParseError('unexpected extra arguments');
  }

  atom(what: string): string {
    const node = this.next(what);
    if (node.kind !== 'atom' || node.section) throw new ParseError(`${what} must be an atom`);
    return node.value;
  }

  /** An atom with a section or partial (BODY[...]); returned as the node. */
  fetchAtt(what: string): AtomNode {
    const node = this.next(what);
    if (node.kind !== 'atom') throw new ParseError(`${what} must be an atom`);
    return node;
  }

  /** `astring` as octets. */
  astringBytes(what: string): Buffer {
    const node = this.next(what);
    if (node.kind === 'atom' && !node.section && !node.partial) return Buffer.from(node.value, 'latin1');
    if (node.kind === 'string') return textOf(node, what);
    throw new ParseError(`${what} must be an atom or a string`);
  }

  astring(what: string): string {
    return this.astringBytes(what).toString('utf8');
  }

  /** `string`: quoted or literal only. */
  string(what: string): StringNode {
    const node = this.next(what);
    if (node.kind !== 'string') throw new ParseError(`${what} must be a quoted string or a literal`);
    textOf(node, what);
    return node;
  }

  /** `nstring`: a string or NIL (null). */
  nstring(what: string): string | null {
    const node = this.next(what);
    if (node.kind === 'atom' && node.value.toUpperCase() === 'NIL') return null;
    if (node.kind === 'string') return textOf(node, what).toString('utf8');
    throw new ParseError(`${what} must be a string or NIL`);
  }

  number(what: string, max = 0xffffffff): number {
    const text = this.atom(what);
    if (!/^\d{1,20}$/.test(text)) throw new ParseError(`${what} must be a number`);
    const value = Number(text);
    if (!Number.isSafeInteger(value) || value > max) throw new ParseError(`${what} is too large`);
    return value;
  }

  /** A mod-sequence value (RFC 7162 §7): 1..2^63-1, kept as a JS number (exact below 2^53). */
  modseq(what: string, allowZero: boolean): number {
    const value = this.number(what, Number.MAX_SAFE_INTEGER);
    if (value === 0 && !allowZero) throw new ParseError(`${what} must be at least 1`);
    return value;
  }

  list(what: string): ArgReader {
    const node = this.next(what);
    if (node.kind !== 'list') throw new ParseError(`${what} must be a parenthesized list`);
    return new ArgReader(node.items, this.options);
  }

  optionalList(): ArgReader | undefined {
    const node = this.peek();
    if (node?.kind !== 'list') return undefined;
    this.index++;
    return new ArgReader((node as ListNode).items, this.options);
  }

  stream(what: string): StreamNode {
    const node = this.next(what);
    if (node.kind !== 'stream') throw new ParseError(`${what} must be a literal`);
    return node;
  }

  /**
   * A mailbox name (RFC 3501 `mailbox`): astring, decoded from modified UTF-7
   * unless UTF8=ACCEPT is enabled. A name no client could have meant (bad
   * modified UTF-7, raw 8-bit) is answered NO, not BAD: the syntax was fine.
   */
  mailbox(what: string, separator: string): string {
    return this.name(what, separator, false);
  }

  /** `list-mailbox`: an atom with wildcards, or a string. A pattern that does not decode is kept as sent, and matches nothing. */
  listMailbox(what: string, separator: string): string {
    return this.name(what, separator, true);
  }

  private name(what: string, separator: string, keepUndecodable: boolean): string {
    const bytes = this.astringBytes(what);
    try {
      return decodeMailboxName(bytes, this.options.utf8, separator);
    } catch (error) {
      if (!(error instanceof ParseError)) throw error;
      if (keepUndecodable) return bytes.toString('latin1');
      throw new CommandError('NO', 'CANNOT', `Invalid mailbox name: ${error.message}`);
    }
  }

  sequenceSet(what: string): SequenceSet {
    return parseSequenceSet(this.atom(what), this.options.searchRes);
  }

  /** One flag (RFC 3501 `flag`); system flags get their canonical case; `\*` only when allowed. */
  flag(what: string): string {
    const text = this.atom(what);
    return canonicalFlag(text);
  }

  /** `flag-list` or, as STORE allows, flags separated by spaces without parentheses. */
  flags(what: string): string[] {
    const list = this.optionalList();
    const reader = list ?? this;
    const flags: string[] = [];
    while (!reader.atEnd()) flags.push(reader.flag(what));
    if (!list && flags.length === 0) throw new ParseError(`missing ${what}`);
    return flags;
  }

  /** `date-time` (APPEND): a quoted string. */
  dateTime(what: string): Date {
    const node = this.string(what);
    const date = parseDateTime(node.bytes.toString('latin1'));
    if (!date) throw new ParseError(`${what} is not a valid date-time ("01-Jan-2024 10:00:00 +0000")`);
    return date;
  }

  /** `date` (SEARCH): an atom or a quoted string. */
  date(what: string): DayNumber {
    const text = this.astringBytes(what).toString('latin1');
    const day = parseSearchDate(text);
    if (day === undefined) throw new ParseError(`${what} is not a valid date ("1-Jan-2024")`);
    return day;
  }

  /** Un-reads the last argument (for grammars that look one ahead). */
  back(): void {
    if (this.index > 0) this.index--;
  }
}

/** A string's octets; literal8 (~{n}) belongs only in APPEND's UTF8 form (RFC 6855 §4). */
function textOf(node: StringNode, what: string): Buffer {
  if (node.binary) throw new ParseError(`${what} cannot be a literal8 (~{n})`);
  return node.bytes;
}

export function canonicalFlag(text: string): string {
  if (text.startsWith('\\')) {
    const known = systemFlagByUpper.get(text.toUpperCase());
    if (known) return known;
    if (text === '\\*') return text;
    throw new ParseError(`${text} is not a system flag`);
  }
  if (!/^[\x21-\x7e]+$/.test(text) || /[(){%*"\\\]]/.test(text)) throw new ParseError(`${text} is not a valid keyword`);
  return text;
}

export function decodeMailboxName(bytes: Buffer, utf8: boolean, separator: string): string {
  let name: string;
  if (utf8) {
    name = bytes.toString('utf8');
    if (Buffer.byteLength(name) !== bytes.length || name.includes('\ufffd')) throw new ParseError('a mailbox name is not valid UTF-8');
  } else {
    for (const byte of bytes) if (byte > 0x7e) throw new ParseError('8-bit mailbox names need ENABLE UTF8=ACCEPT; use modified UTF-7');
    try {
      name = decodeMailboxUtf7(bytes.toString('latin1'));
    } catch (error) {
      if (error instanceof Utf7Error) throw new ParseError(error.message);
      throw error;
    }
  }
  return normalizeMailboxName(name, separator);
}
