// The command parser: turns one command, fed a line segment at a time, into a
// tag, a command name and a tree of arguments (RFC 3501 §9 syntax).
//
// A command arrives as line segments separated by literals: each segment is a
// line without its CRLF; a segment that ends in a literal marker ({n}, {n+},
// ~{n}) is followed by that literal's octets, then by the next segment. The
// reader (reader.ts) owns the bytes and the octet counting; this parser only
// sees whole segments and finished literal values, and keeps its own stack of
// open lists between them, so that the reader can ask, at a literal marker,
// where in the command it stands (APPEND's message literal is streamed, every
// other literal is kept).
//
// Invariants:
// - Bytes are parsed as bytes: quoted strings and literals stay Buffers; only
//   atoms (7-bit by grammar) become strings.
// - A "[" opens a section only after BODY, BODY.PEEK, BINARY, BINARY.PEEK or
//   BINARY.SIZE; elsewhere "[" and (outside a section) "]" are atom characters,
//   as the grammar's ASTRING-CHAR allows.
// - Nesting is bounded (maxDepth), so a hostile command cannot exhaust the stack
//   of the recursive code that later walks the tree.

export class ParseError extends Error {
  constructor(
    message: string,
    /** An RFC 5530 response code to send with the BAD, e.g. CLIENTBUG. */
    readonly code?: string,
  ) {
    super(message);
    this.name = 'ParseError';
  }
}

export interface AtomNode {
  kind: 'atom';
  /** The atom as sent (case preserved). */
  value: string;
  /** BODY[...] / BINARY[...]: the items between the brackets. */
  section?: Node[];
  /** <offset.count> after a section. */
  partial?: { offset: number; count: number };
}

export interface StringNode {
  kind: 'string';
  bytes: Buffer;
  literal: boolean;
  /** A literal8 (~{n}), RFC 3516 / RFC 6855. */
  binary: boolean;
}

export interface ListNode {
  kind: 'list';
  items: Node[];
}

/** APPEND's message literal: its octets are streamed, never kept (see reader.ts). */
export interface StreamNode {
  kind: 'stream';
  literal: IncomingMessageLiteral;
}

/** What a command sees of a streamed literal; implemented by the reader. */
export interface IncomingMessageLiteral {
  readonly size: number;
  readonly binary: boolean;
  /**
   * The octets. The stream ends after the literal and the end of the command
   * line; it errors if the line goes on with anything else, so that a
   * malformed command never completes an APPEND. Its first read accepts the
   * literal: for a synchronizing literal that sends "+".
   */
  readonly stream: import('node:stream').Readable;
}

export type Node = AtomNode | StringNode | ListNode | StreamNode;

export interface ParsedCommand {
  tag: string;
  /** Upper-cased command name. */
  name: string;
  args: Node[];
}

export interface LiteralMarker {
  size: number;
  /** {n}: the client waits for "+"; {n+} (LITERAL+, RFC 7888): it does not. */
  sync: boolean;
  /** ~{n}: literal8. */
  binary: boolean;
}

const maxDepth = 50;
const maxLiteralDigits = 10;
const sectionOwners = new Set(['BODY', 'BODY.PEEK', 'BINARY', 'BINARY.PEEK', 'BINARY.SIZE']);

const SP = 0x20;
const DQUOTE = 0x22;
const LPAREN = 0x28;
const RPAREN = 0x29;
const LBRACE = 0x7b;
const LBRACKET = 0x5b;
const RBRACKET = 0x5d;
const BACKSLASH = 0x5c;
const TILDE = 0x7e;
const LT = 0x3c;

/** ATOM-CHAR plus the list wildcards, "\" (flags) and "]" (ASTRING-CHAR); the schema decides what each argument allows. */
function isAtomByte(byte: number): boolean {
  return byte > 0x20 && byte < 0x7f && byte !== LPAREN && byte !== RPAREN && byte !== LBRACE && byte !== DQUOTE;
}

/** Tags (RFC 3501 §9 `tag`): ASTRING-CHAR except "+", and no wildcards or "\". */
export function isTagByte(byte: number): boolean {
  return isAtomByte(byte) && byte !== 0x2b && byte !== 0x25 && byte !== 0x2a && byte !== BACKSLASH;
}

interface Frame {
  kind: 'root' | 'list' | 'section';
  items: Node[];
  owner?: AtomNode;
}

export class CommandParser {
  tag: string | undefined;
  name: string | undefined;
  private readonly stack: Frame[] = [{ kind: 'root', items: [] }];
  /** True right after a token: the next byte must be a space or a closing bracket. */
  private needSpace = false;
  private started = false;

  /** How many lists or sections are open. */
  get depth(): number {
    return this.stack.length - 1;
  }

  /** The complete top-level arguments so far. */
  get topLevel(): readonly Node[] {
    return this.stack[0]!.items;
  }

  /** The items of the innermost open list, for APPEND's `UTF8 (~{n}` form. */
  get innermost(): readonly Node[] {
    return this.stack[this.stack.length - 1]!.items;
  }

  /**
   * Parses one line segment (without CRLF). Returns the literal marker the
   * segment ends with, or null when the command line is complete.
   */
  feedLine(line: Buffer): LiteralMarker | null {
    let pos = 0;
    if (!this.started) {
      pos = this.readTagAndName(line);
      this.started = true;
    }
    while (pos < line.length) {
      const byte = line[pos]!;
      if (byte === SP) {
        this.needSpace = false;
        pos++;
        continue;
      }
      if (byte === RPAREN) {
        const frame = this.stack[this.stack.length - 1]!;
        if (frame.kind !== 'list') throw new ParseError('unexpected ")"');
        this.stack.pop();
        this.current().push({ kind: 'list', items: frame.items });
        this.needSpace = true;
        pos++;
        continue;
      }
      if (byte === RBRACKET && this.stack[this.stack.length - 1]!.kind === 'section') {
        const frame = this.stack.pop()!;
        frame.owner!.section = frame.items;
        pos++;
        if (line[pos] === LT) pos = this.readPartial(line, pos, frame.owner!);
        this.needSpace = true;
        continue;
      }
      if (this.needSpace) throw new ParseError('expected a space between arguments');
      if (byte === LPAREN) {
        this.push({ kind: 'list', items: [] });
        pos++;
        continue;
      }
      if (byte === DQUOTE) {
        pos = this.readQuoted(line, pos);
        continue;
      }
      if (byte === LBRACE || (byte === TILDE && line[pos + 1] === LBRACE)) {
        return this.readLiteralMarker(line, pos);
      }
      pos = this.readAtom(line, pos);
    }
    return null;
  }

  /** Adds the value of the literal announced by the last marker. */
  addLiteral(node: StringNode | StreamNode): void {
    this.current().push(node);
    this.needSpace = true;
  }

  finish(): ParsedCommand {
    if (this.stack.length !== 1) throw new ParseError(this.stack[this.stack.length - 1]!.kind === 'section' ? 'missing "]"' : 'missing ")"');
    return { tag: this.tag!, name: this.name!, args: this.stack[0]!.items };
  }

  private current(): Node[] {
    return this.stack[this.stack.length - 1]!.items;
  }

  private push(frame: { kind: 'list'; items: Node[] } | Frame): void {
    if (this.stack.length > maxDepth) throw new ParseError('lists are nested too deeply');
    this.stack.push(frame as Frame);
  }

  private readTagAndName(line: Buffer): number {
    let pos = 0;
    while (pos < line.length && isTagByte(line[pos]!)) pos++;
    if (pos === 0) throw new ParseError('a command must start with a tag');
    this.tag = line.toString('latin1', 0, pos);
    if (pos < line.length && line[pos] !== SP) {
      this.tag = undefined;
      throw new ParseError('the tag has a character a tag cannot have');
    }
    pos++;
    const start = pos;
    while (pos < line.length && isAtomByte(line[pos]!) && line[pos] !== LBRACKET && line[pos] !== RBRACKET) pos++;
    if (pos === start) throw new ParseError('missing command name');
    if (pos < line.length && line[pos] !== SP) throw new ParseError('the command name has a character a command name cannot have');
    this.name = line.toString('latin1', start, pos).toUpperCase();
    this.needSpace = true;
    return pos;
  }

  private readQuoted(line: Buffer, start: number): number {
    const bytes: number[] = [];
    let pos = start + 1;
    for (;;) {
      if (pos >= line.length) throw new ParseError('a quoted string has no closing quote');
      const byte = line[pos]!;
      if (byte === DQUOTE) break;
      if (byte === BACKSLASH) {
        const next = line[pos + 1];
        if (next !== DQUOTE && next !== BACKSLASH) throw new ParseError('a quoted string may escape only " and \\');
        bytes.push(next);
        pos += 2;
        continue;
      }
      if (byte === 0) throw new ParseError('a quoted string cannot hold NUL');
      bytes.push(byte);
      pos++;
    }
    this.current().push({ kind: 'string', bytes: Buffer.from(bytes), literal: false, binary: false });
    this.needSpace = true;
    return pos + 1;
  }

  private readLiteralMarker(line: Buffer, start: number): LiteralMarker {
    const binary = line[start] === TILDE;
    let pos = start + (binary ? 2 : 1);
    const digitsStart = pos;
    while (pos < line.length && line[pos]! >= 0x30 && line[pos]! <= 0x39) pos++;
    const digits = pos - digitsStart;
    if (digits === 0 || digits > maxLiteralDigits) throw new ParseError('a literal needs a size of 1 to 10 digits');
    const size = Number(line.toString('latin1', digitsStart, pos));
    let sync = true;
    if (line[pos] === 0x2b) {
      sync = false;
      pos++;
    }
    if (line[pos] !== 0x7d) throw new ParseError('a literal size must end with "}"');
    pos++;
    if (pos !== line.length) throw new ParseError('a literal size must end its line');
    return { size, sync, binary };
  }

  private readAtom(line: Buffer, start: number): number {
    let pos = start;
    const inSection = this.stack[this.stack.length - 1]!.kind === 'section';
    for (;;) {
      while (pos < line.length && isAtomByte(line[pos]!) && line[pos] !== LBRACKET && !(line[pos] === RBRACKET && inSection)) pos++;
      if (line[pos] === LBRACKET) {
        const value = line.toString('latin1', start, pos);
        if (sectionOwners.has(value.toUpperCase())) {
          const owner: AtomNode = { kind: 'atom', value };
          this.current().push(owner);
          this.push({ kind: 'section', items: [], owner });
          return pos + 1;
        }
        pos++;
        continue;
      }
      break;
    }
    if (pos === start) {
      const byte = line[pos]!;
      if (byte >= 0x80) throw new ParseError('8-bit characters are allowed only in quoted strings and literals');
      if (byte === LBRACE) throw new ParseError('"{" may start only a literal at the end of a line');
      throw new ParseError(`unexpected character 0x${byte.toString(16).padStart(2, '0')}`);
    }
    if (pos < line.length && line[pos] !== SP && line[pos] !== RPAREN && line[pos] !== RBRACKET) {
      const byte = line[pos]!;
      if (byte >= 0x80) throw new ParseError('8-bit characters are allowed only in quoted strings and literals');
      throw new ParseError(`unexpected character 0x${byte.toString(16).padStart(2, '0')} after an atom`);
    }
    this.current().push({ kind: 'atom', value: line.toString('latin1', start, pos) });
    this.needSpace = true;
    return pos;
  }

  private readPartial(line: Buffer, start: number, owner: AtomNode): number {
    const end = line.indexOf(0x3e, start);
    if (end < 0) throw new ParseError('a partial range needs ">"');
    const match = /^<(\d{1,10})\.(\d{1,10})>$/.exec(line.toString('latin1', start, end + 1));
    if (!match) throw new ParseError('a partial range is <offset.count>');
    const offset = Number(match[1]);
    const count = Number(match[2]);
    if (count === 0 || offset > 0xffffffff || count > 0xffffffff) throw new ParseError('a partial range needs a count of at least 1 and numbers below 2^32');
    owner.partial = { offset, count };
    return end + 1;
  }
}
