// The RFC 5322 / RFC 2045 lexical layer shared by the Content-* and address
// parsers: comments and folding white space (CFWS), atoms, MIME tokens,
// quoted strings, domain literals, phrases.
//
// It works on "octet strings": JavaScript strings in which each char code is
// one octet (0..255) of the header, so that 8-bit header text passes through
// untouched and is decoded only once a value is complete (see octetsToText).
//
// The grammar is applied leniently, the way mature servers do, because real
// mail breaks it all the time. Every step reports where it stopped:
//   Step.Error (-1)  the input is broken here (unclosed comment, quote, ...)
//   Step.End    (0)  the input is used up
//   Step.More   (1)  more input follows
// Callers decide what a broken piece means; nothing here throws.

export enum Step {
  Error = -1,
  End = 0,
  More = 1,
}

// RFC 5322 §3.2.3 atext, plus every 8-bit octet (RFC 6532 §3.2 allows UTF-8
// there, and older mail has raw 8-bit text in the same places).
const atext = new Uint8Array(256);
// RFC 2045 §5.1 token: atext minus the tspecials "/", "?", "=" (the other
// tspecials are not atext anyway).
const tokenChar = new Uint8Array(256);
for (let c = 0; c < 256; c++) {
  const isAlnum = (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
  const isAtextPunct = "!#$%&'*+-/=?^_`{|}~".includes(String.fromCharCode(c));
  atext[c] = isAlnum || isAtextPunct || c >= 0x80 ? 1 : 0;
  tokenChar[c] = atext[c] && c !== 0x2f && c !== 0x3f && c !== 0x3d ? 1 : 0;
}

const SP = 0x20;
const TAB = 0x09;
const CR = 0x0d;
const LF = 0x0a;

export class Lexer {
  pos = 0;
  /**
   * The text of the most recent comment, when the caller wants it (an
   * address's display name can hide in one: `user@host (Name)`). Set by
   * every comment skipped, so it holds the last one.
   */
  lastComment = '';

  constructor(
    readonly text: string,
    private readonly keepComments = false,
  ) {}

  get atEnd(): boolean {
    return this.pos >= this.text.length;
  }

  /** Char code at the cursor, or -1 at the end. */
  peek(): number {
    return this.pos < this.text.length ? this.text.charCodeAt(this.pos) : -1;
  }

  /** Skips white space, folding and comments. */
  skipCfws(): Step {
    const text = this.text;
    while (this.pos < text.length) {
      const c = text.charCodeAt(this.pos);
      if (c === SP || c === TAB || c === CR || c === LF) {
        this.pos++;
      } else if (c === 0x28 /* ( */) {
        if (this.skipComment() === Step.Error) return Step.Error;
      } else {
        break;
      }
    }
    return this.pos < text.length ? Step.More : Step.End;
  }

  /** A comment, nested ones included in its text; quoted-pairs lose their backslash, folding loses its line break. */
  private skipComment(): Step {
    const text = this.text;
    let depth = 1;
    let out = '';
    let start = ++this.pos;
    for (; this.pos < text.length; this.pos++) {
      const c = text.charCodeAt(this.pos);
      if (c === 0x28) {
        depth++;
      } else if (c === 0x29 /* ) */) {
        if (--depth === 0) {
          if (this.keepComments) this.lastComment = out + text.slice(start, this.pos);
          this.pos++;
          return this.atEnd ? Step.End : Step.More;
        }
      } else if (c === LF) {
        let stop = this.pos;
        if (stop > start && text.charCodeAt(stop - 1) === CR) stop--;
        out += text.slice(start, stop);
        start = this.pos + 1;
      } else if (c === 0x5c /* \ */) {
        if (this.pos + 1 >= text.length) return Step.Error;
        const next = text.charCodeAt(this.pos + 1);
        // A backslash before CR, LF or NUL is not a quoted-pair (RFC 5322
        // §3.2.1); it stays as it is.
        if (next === CR || next === LF || next === 0) continue;
        out += text.slice(start, this.pos);
        this.pos++;
        start = this.pos;
      }
    }
    return Step.Error;
  }

  /** RFC 5322 atom: appends the atext run and skips CFWS after it. Error when no atext is at the cursor. */
  atom(): { value: string; step: Step } {
    const start = this.pos;
    while (this.pos < this.text.length && atext[this.text.charCodeAt(this.pos)]) this.pos++;
    if (this.pos === start) return { value: '', step: Step.Error };
    const value = this.text.slice(start, this.pos);
    return { value, step: this.atEnd ? Step.End : this.skipCfws() };
  }

  /**
   * RFC 5322 dot-atom, allowing CFWS around the dots as obs-domain does
   * (RFC 5322 §4.4). Error on an empty label ("a..b", "a.").
   */
  dotAtom(): { value: string; step: Step } {
    let value = '';
    for (;;) {
      const start = this.pos;
      while (this.pos < this.text.length && atext[this.text.charCodeAt(this.pos)]) this.pos++;
      if (this.pos === start) return { value, step: Step.Error };
      value += this.text.slice(start, this.pos);
      if (this.atEnd) return { value, step: Step.End };
      const step = this.skipCfws();
      if (step !== Step.More) return { value, step };
      if (this.peek() !== 0x2e /* . */) return { value, step: Step.More };
      this.pos++;
      value += '.';
      if (this.skipCfws() !== Step.More) return { value, step: Step.Error };
    }
  }

  /** RFC 2045 token (dots allowed), possibly empty, then CFWS. */
  token(): { value: string; step: Step } {
    const start = this.pos;
    while (this.pos < this.text.length) {
      const c = this.text.charCodeAt(this.pos);
      if (!tokenChar[c] && c !== 0x2e) break;
      this.pos++;
    }
    const value = this.text.slice(start, this.pos);
    return { value, step: this.atEnd ? Step.End : this.skipCfws() };
  }

  /** RFC 5322 quoted-string at the cursor (which is on the DQUOTE): its content unquoted, folding removed, then CFWS. */
  quotedString(): { value: string; step: Step } {
    const text = this.text;
    let out = '';
    let start = ++this.pos;
    for (; this.pos < text.length; this.pos++) {
      const c = text.charCodeAt(this.pos);
      if (c === 0x22 /* " */) {
        out += text.slice(start, this.pos);
        this.pos++;
        return { value: out, step: this.atEnd ? Step.End : this.skipCfws() };
      }
      if (c === LF) {
        let stop = this.pos;
        if (stop > start && text.charCodeAt(stop - 1) === CR) stop--;
        out += text.slice(start, stop);
        start = this.pos + 1;
      } else if (c === 0x5c) {
        if (this.pos + 1 >= text.length) return { value: out, step: Step.Error };
        const next = text.charCodeAt(this.pos + 1);
        if (next === CR || next === LF || next === 0) continue;
        out += text.slice(start, this.pos);
        this.pos++;
        start = this.pos;
      }
    }
    return { value: out, step: Step.Error };
  }

  /** RFC 5322 domain-literal at the cursor (on "["), brackets and backslashes kept, folding removed. */
  domainLiteral(): { value: string; step: Step } {
    const text = this.text;
    let out = '';
    let start = this.pos++;
    for (; this.pos < text.length; this.pos++) {
      const c = text.charCodeAt(this.pos);
      if (c === 0x5b /* [ */) return { value: out, step: Step.Error };
      if (c === 0x5d /* ] */) {
        out += text.slice(start, this.pos + 1);
        this.pos++;
        return { value: out, step: this.atEnd ? Step.End : this.skipCfws() };
      }
      if (c === LF) {
        let stop = this.pos;
        if (stop > start && text.charCodeAt(stop - 1) === CR) stop--;
        out += text.slice(start, stop);
        start = this.pos + 1;
      } else if (c === 0x5c) {
        if (this.pos + 1 >= text.length) return { value: out, step: Step.Error };
        this.pos++;
      }
    }
    return { value: out, step: Step.Error };
  }

  /**
   * RFC 5322 phrase, with obs-phrase's dots (§4.1): words joined by one
   * space. May be empty when the cursor is on something that starts no word
   * (the caller looks at what follows). Error when it starts with a dot.
   */
  phrase(): { value: string; step: Step } {
    if (this.atEnd) return { value: '', step: Step.End };
    if (this.peek() === 0x2e) return { value: '', step: Step.Error };
    let value = '';
    for (;;) {
      let word: { value: string; step: Step };
      if (this.peek() === 0x22) {
        word = this.quotedString();
      } else {
        const start = this.pos;
        while (this.pos < this.text.length) {
          const c = this.text.charCodeAt(this.pos);
          if (!atext[c] && c !== 0x2e) break;
          this.pos++;
        }
        word = { value: this.text.slice(start, this.pos), step: this.atEnd ? Step.End : this.skipCfws() };
      }
      value += word.value;
      if (word.step !== Step.More) return { value, step: word.step };
      const c = this.peek();
      if (!atext[c] && c !== 0x22 && c !== 0x2e) break;
      value += ' ';
    }
    return { value, step: Step.More };
  }
}
