// Address lists (From, Sender, Reply-To, To, Cc, Bcc) as the ENVELOPE wants
// them: RFC 5322 §3.4 address-list with groups, the obsolete forms of §4.4
// (source routes, dots and CFWS in odd places), and the repairs real mail
// needs.
//
// What a broken address becomes matters, because clients show it: the rules
// below are the ones Dovecot applies, so a mailbox moved between the two
// servers looks the same.
// - `user@host (Full Name)`: the last comment is the display name.
// - `just words`: the words are the display name; mailbox and host are
//   "MISSING_MAILBOX" / "MISSING_DOMAIN". A lone `user` is a mailbox with
//   host "MISSING_DOMAIN"; `<>` has both placeholders.
// - `Name <broken`: host "SYNTAX_ERROR"; an unusable source route becomes
//   "INVALID_ROUTE".
// - Group syntax gives RFC 3501's markers: [null, null, name, null] ...
//   [null, null, null, null].
//
// Input: an unfolded field value as an octet string, "\n" where it was folded.
// Output strings are still octets; addressesToText turns them into text.

import { Lexer, Step } from './lexer.ts';
import { collapseWhitespace, octetsToText } from './text.ts';
import type { Address } from './types.ts';

interface Draft {
  name: string | null;
  route: string | null;
  mailbox: string | null;
  host: string | null;
  invalid: boolean;
}

const emptyDraft = (): Draft => ({ name: null, route: null, mailbox: null, host: null, invalid: false });

class AddressParser {
  readonly out: Address[] = [];
  private draft = emptyDraft();
  /** The text of the local part just read, which may turn out to be the start of a phrase. */
  private localText = '';
  private readonly lexer: Lexer;

  constructor(value: string) {
    this.lexer = new Lexer(value, true);
  }

  parse(): void {
    const lexer = this.lexer;
    if (lexer.skipCfws() !== Step.More) return;
    for (;;) {
      const step = this.address();
      if (step === Step.End) break;
      if (lexer.atEnd || lexer.peek() !== 0x2c /* , */) break;
      lexer.pos++;
      const after = lexer.skipCfws();
      if (after !== Step.More) {
        // An unclosed comment after the last comma still stands for someone.
        if (after === Step.Error) this.addRepaired();
        break;
      }
    }
  }

  private push(): void {
    const d = this.draft;
    this.out.push([d.name, d.route, d.mailbox, d.host]);
    this.draft = emptyDraft();
  }

  /** A mailbox must have a mailbox and a host; placeholders show where they are missing. */
  private addRepaired(): void {
    const d = this.draft;
    if (d.mailbox === null) d.mailbox = 'MISSING_MAILBOX';
    if (d.host === null || d.host === '') d.host = 'MISSING_DOMAIN';
    this.push();
  }

  /** address = mailbox / group */
  private address(): Step {
    const start = this.lexer.pos;
    const group = this.group();
    if (group !== undefined) return group;
    this.lexer.pos = start;
    return this.mailbox();
  }

  /** group = display-name ":" [group-list] ";" [CFWS]; undefined when this is no group. */
  private group(): Step | undefined {
    const lexer = this.lexer;
    const name = lexer.phrase();
    if (name.step !== Step.More || lexer.peek() !== 0x3a /* : */) return undefined;
    lexer.pos++;
    let step = lexer.skipCfws();
    this.draft.mailbox = name.value;
    this.push();
    if (step === Step.More && lexer.peek() !== 0x3b /* ; */) {
      for (;;) {
        this.mailbox();
        if (lexer.atEnd || lexer.peek() !== 0x2c) break;
        lexer.pos++;
        if (lexer.skipCfws() !== Step.More) {
          step = Step.Error;
          break;
        }
      }
    }
    if (step !== Step.Error) {
      if (lexer.atEnd || lexer.peek() !== 0x3b) {
        step = Step.Error;
      } else {
        lexer.pos++;
        step = lexer.skipCfws();
      }
    }
    this.push();
    return step === Step.End ? Step.End : Step.More;
  }

  /** mailbox = name-addr / addr-spec */
  private mailbox(): Step {
    const lexer = this.lexer;
    const start = lexer.pos;
    let step = this.nameAddr();
    if (step === undefined) {
      lexer.pos = start;
      step = this.addrSpec();
      const d = this.draft;
      // A bare word that is no address is somebody's name.
      if (d.invalid && d.name === null && d.mailbox !== null && d.host === null) {
        d.name = d.mailbox;
        d.mailbox = null;
      }
    }
    if (step === Step.Error) this.draft.invalid = true;
    this.addRepaired();
    return step;
  }

  /** name-addr = [display-name] angle-addr; undefined when there is no "<". */
  private nameAddr(): Step | undefined {
    const lexer = this.lexer;
    const name = lexer.phrase();
    if (name.step !== Step.More || lexer.peek() !== 0x3c /* < */) return undefined;
    this.draft.name = name.value === '' ? null : name.value;
    if (this.angleAddr() === Step.Error) {
      this.draft.host = 'SYNTAX_ERROR';
      this.draft.invalid = true;
    }
    return lexer.atEnd ? Step.End : Step.More;
  }

  /** angle-addr = "<" [obs-route] addr-spec ">"; "<>" is accepted as empty. */
  private angleAddr(): Step {
    const lexer = this.lexer;
    lexer.pos++;
    if (lexer.skipCfws() !== Step.More) return Step.Error;
    if (lexer.peek() === 0x40 /* @ */) {
      if (this.route() === Step.More && lexer.peek() === 0x3a) {
        lexer.pos++;
      } else {
        this.draft.route = 'INVALID_ROUTE';
        if (lexer.atEnd) return Step.Error;
      }
      if (lexer.skipCfws() !== Step.More) return Step.Error;
    }
    if (lexer.peek() !== 0x3e /* > */) {
      if (this.localPart() !== Step.More) return Step.Error;
      if (lexer.peek() === 0x40 && this.domain() !== Step.More) return Step.Error;
    }
    if (lexer.peek() !== 0x3e) return Step.Error;
    lexer.pos++;
    return lexer.skipCfws();
  }

  /** obs-route's domain list: "@a,@b" (RFC 5322 §4.4). */
  private route(): Step {
    const lexer = this.lexer;
    let route = '';
    for (;;) {
      if (lexer.atEnd) return Step.End;
      if (lexer.peek() !== 0x40) break;
      if (route !== '') route += ',';
      lexer.pos++;
      if (lexer.skipCfws() !== Step.More) return Step.Error;
      const domain = lexer.peek() === 0x5b ? lexer.domainLiteral() : lexer.dotAtom();
      route += '@' + domain.value;
      if (domain.step !== Step.More) return domain.step;
      while (lexer.skipCfws() === Step.More && lexer.peek() === 0x2c) lexer.pos++;
    }
    this.draft.route = route;
    return Step.More;
  }

  /** addr-spec = local-part "@" domain, or what is left of one. */
  private addrSpec(): Step {
    const lexer = this.lexer;
    lexer.lastComment = '';
    const quoted = lexer.peek() === 0x22;
    let step = this.localPart();
    if (step !== Step.More) this.draft.invalid = true;
    let domainStep: Step | undefined;
    if (step !== Step.End && !lexer.atEnd && lexer.peek() === 0x40) {
      domainStep = this.domain();
      if (domainStep !== Step.More) step = domainStep;
    }
    if (lexer.lastComment !== '') {
      this.draft.name = lexer.lastComment;
    } else if (domainStep === undefined) {
      // A word without "@host": alone it is a mailbox, but more words after
      // it make the whole a display name.
      const prefix = this.localText + ' ';
      const rest = lexer.phrase();
      if (rest.value !== '') {
        this.draft.mailbox = null;
        this.draft.name = prefix + rest.value;
      } else if (!quoted) {
        this.draft.host = '';
      }
      this.draft.invalid = true;
      step = Step.Error;
    }
    return step;
  }

  /** local-part = dot-atom / quoted-string / obs-local-part, dots allowed anywhere. */
  private localPart(): Step {
    const lexer = this.lexer;
    let result: { value: string; step: Step };
    if (lexer.peek() === 0x22) {
      result = lexer.quotedString();
    } else {
      result = { value: '', step: Step.Error };
      do {
        while (lexer.peek() === 0x2e) {
          result.value += '.';
          lexer.pos++;
          if (lexer.atEnd) {
            result.step = Step.End;
            this.localText = result.value;
            this.draft.mailbox = result.value;
            return Step.End;
          }
          result.step = Step.More;
        }
        if (lexer.peek() === 0x40) break;
        const atom = lexer.atom();
        result.value += atom.value;
        result.step = atom.step;
      } while (result.step === Step.More && lexer.peek() === 0x2e);
    }
    this.localText = result.value;
    if (result.step === Step.Error) return Step.Error;
    this.draft.mailbox = result.value;
    return result.step;
  }

  /** "@" domain, where domain = dot-atom / domain-literal / obs-domain. */
  private domain(): Step {
    const lexer = this.lexer;
    lexer.pos++;
    if (lexer.skipCfws() !== Step.More) return Step.Error;
    const domain = lexer.peek() === 0x5b ? lexer.domainLiteral() : lexer.dotAtom();
    if (domain.step === Step.Error) return Step.Error;
    this.draft.host = domain.value;
    return domain.step;
  }
}

/** Parses an address-list field value (octets) into envelope addresses (octets). */
export function parseAddressList(value: string): Address[] {
  const parser = new AddressParser(value);
  parser.parse();
  return parser.out;
}

/** Envelope addresses from octets to text: display names as IMAP shows them, the rest decoded as is. */
export function addressesToText(list: Address[]): Address[] {
  return list.map(([name, route, mailbox, host]) => [
    name === null ? null : octetsToText(collapseWhitespace(name)),
    route === null ? null : octetsToText(route),
    mailbox === null ? null : octetsToText(mailbox),
    host === null ? null : octetsToText(host),
  ]);
}
