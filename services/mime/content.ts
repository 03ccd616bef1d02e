// Parsing the Content-* header fields of one MIME entity (RFC 2045 §5, §6,
// RFC 2183, RFC 3282) and the parameters they carry (RFC 2045 §5.1 with the
// RFC 2231 continuations and extended values).
//
// Inputs are unfolded field values as octet strings (lexer.ts); outputs are
// still octet strings, turned into text by the caller once. The reading is
// lenient in the same places Dovecot is, so that BODYSTRUCTURE agrees with
// what clients already see from a mature server:
// - a type without "/subtype", or with junk before ";", is kept as far as it
//   could be read and its parameters are ignored;
// - a broken parameter is skipped up to the next ";";
// - RFC 2231 sections are joined only when they are complete (0..n); a gap
//   leaves each section as its own parameter, named as written.

import { Lexer, Step } from './lexer.ts';
import type { Param } from './types.ts';

export interface ParsedContentType {
  /** "type/subtype" as written, or "type" alone, or "" when unreadable. */
  value: string;
  /** The parameters, or undefined when the type itself was broken (they are then not trusted). */
  params: Param[] | undefined;
}

/** Content-Type: type "/" subtype *(";" parameter). */
export function parseContentType(field: string): ParsedContentType {
  const lexer = new Lexer(field);
  if (lexer.skipCfws() !== Step.More) return { value: '', params: undefined };
  const main = lexer.token();
  // Without "/" (or at the end) only the main type could be read.
  if (main.step !== Step.More || main.value === '') return { value: main.value, params: undefined };
  if (lexer.peek() !== 0x2f /* / */) return { value: '', params: undefined };
  lexer.pos++;
  if (lexer.skipCfws() !== Step.More) return { value: '', params: undefined };
  const sub = lexer.token();
  if (sub.step === Step.Error || sub.value === '' || (!lexer.atEnd && lexer.peek() !== 0x3b /* ; */)) return { value: '', params: undefined };
  return { value: `${main.value}/${sub.value}`, params: parseParams(lexer) };
}

/** Content-Disposition: type *(";" parameter) (RFC 2183 §2). Undefined when broken. */
export function parseDisposition(field: string): { value: string; params: Param[] } | undefined {
  const lexer = new Lexer(field);
  lexer.skipCfws();
  const type = lexer.token();
  if (type.step === Step.Error) return undefined;
  return { value: type.value, params: parseParams(lexer) };
}

/** Content-Transfer-Encoding: one token and nothing else (RFC 2045 §6.1); undefined otherwise. */
export function parseTransferEncoding(field: string): string | undefined {
  const lexer = new Lexer(field);
  lexer.skipCfws();
  const token = lexer.token();
  if (token.step === Step.Error || token.value === '') return undefined;
  if (lexer.skipCfws() !== Step.End) return undefined;
  return token.value;
}

/** Content-Language: 1#Language-tag (RFC 3282 §2), read as comma-separated atoms. */
export function parseLanguage(field: string): string[] | undefined {
  const lexer = new Lexer(field);
  lexer.skipCfws();
  const tags: string[] = [];
  for (;;) {
    const tag = lexer.atom();
    if (tag.step === Step.Error) break;
    tags.push(tag.value);
    if (lexer.atEnd || lexer.peek() !== 0x2c /* , */) break;
    lexer.pos++;
    lexer.skipCfws();
  }
  return tags.length > 0 ? tags : undefined;
}

/** One RFC 2231 section, `name*<index>[*]=value`, before joining. */
interface Section {
  name: string;
  index: number;
  extended: boolean;
  value: string;
}

/**
 * The `*(";" parameter)` tail, the lexer standing just after the type.
 * Plain parameters come first in the order written, then the RFC 2231 ones,
 * joined, ordered by name.
 */
export function parseParams(lexer: Lexer): Param[] {
  const plain: Param[] = [];
  const sections: Section[] = [];
  for (;;) {
    const param = nextParam(lexer);
    if (param === 'end') break;
    if (param === 'broken') {
      // Skip to the next ";" (outside quotes) and go on from there: one
      // broken parameter does not take its neighbours with it.
      if (!skipToNextParam(lexer)) break;
      continue;
    }
    const [name, value] = param;
    const section = rfc2231Section(name, value);
    if (section) sections.push(section);
    else plain.push(param);
  }
  return sections.length === 0 ? plain : plain.concat(joinSections(sections));
}

/** Moves past the broken text to the next ";" that is not inside a quoted string; false when there is none. */
function skipToNextParam(lexer: Lexer): boolean {
  const text = lexer.text;
  let quoted = false;
  // The ";" the broken parameter started with is behind the cursor; one
  // under it starts the next parameter.
  for (let i = lexer.pos; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x5c && quoted) i++;
    else if (c === 0x22) quoted = !quoted;
    else if (c === 0x3b && !quoted) {
      lexer.pos = i;
      return true;
    }
  }
  lexer.pos = text.length;
  return false;
}

function nextParam(lexer: Lexer): Param | 'end' | 'broken' {
  if (lexer.atEnd) return 'end';
  if (lexer.peek() !== 0x3b) return 'broken';
  lexer.pos++;
  if (lexer.skipCfws() !== Step.More) return 'broken';
  const name = lexer.token();
  if (name.step !== Step.More || lexer.peek() !== 0x3d /* = */) return 'broken';
  lexer.pos++;
  const step = lexer.skipCfws();
  if (step !== Step.More) return step === Step.Error ? 'broken' : [name.value, ''];
  if (lexer.peek() === 0x22) {
    const quoted = lexer.quotedString();
    return quoted.step === Step.Error ? 'broken' : [name.value, quoted.value];
  }
  if (lexer.peek() === 0x3d) {
    // name==?utf-8?b?...?= : an encoded-word where a token belongs. Take
    // it whole, up to ";" or white space, as senders meant it.
    const start = lexer.pos;
    while (!lexer.atEnd && !';\r\n \t'.includes(lexer.text[lexer.pos]!)) lexer.pos++;
    return [name.value, lexer.text.slice(start, lexer.pos)];
  }
  const token = lexer.token();
  return token.step === Step.Error ? 'broken' : [name.value, token.value];
}

/** `name*`, `name*3`, `name*3*` → a section; anything else → undefined (a plain parameter). */
function rfc2231Section(name: string, value: string): Section | undefined {
  const star = name.indexOf('*');
  if (star < 0) return undefined;
  const match = /^\*(\d*)(\*?)$/.exec(name.slice(star));
  if (!match) return undefined;
  const digits = match[1]!;
  // `name*` alone is a single extended value: section 0.
  const extended = match[2] === '*' || digits === '';
  return { name: name.slice(0, star), index: digits === '' ? 0 : Number(digits), extended, value };
}

function joinSections(sections: Section[]): Param[] {
  sections.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : a.index - b.index));
  const joined: Param[] = [];
  for (let i = 0; i < sections.length; ) {
    let next = i;
    let complete = true;
    let anyExtended = false;
    const lowerName = sections[i]!.name.toLowerCase();
    while (next < sections.length && sections[next]!.name.toLowerCase() === lowerName) {
      if (sections[next]!.index !== next - i) complete = false;
      if (sections[next]!.extended) anyExtended = true;
      next++;
    }
    const group = sections.slice(i, next);
    if (!complete) {
      for (const s of group) joined.push([`${s.name}*${s.index}${s.extended ? '*' : ''}`, s.value]);
    } else {
      // An extended value is charset'language'percent-encoded; plain
      // sections joined to it must then have their "%" escaped, and a plain
      // first section means an empty charset and language.
      let value = anyExtended && !group[0]!.extended ? "''" : '';
      for (const s of group) value += anyExtended && !s.extended ? s.value.replace(/%/g, '%25') : s.value;
      joined.push([anyExtended ? `${group[0]!.name}*` : group[0]!.name, value]);
    }
    i = next;
  }
  return joined;
}
