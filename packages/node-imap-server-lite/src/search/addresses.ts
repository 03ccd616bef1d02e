// RFC 5322 §3.4 address lists read into ENVELOPE-style tuples
// (name, source route, mailbox, host), as RFC 3501 §7.4.2 defines them:
// a group is (NIL NIL name NIL) ... (NIL NIL NIL NIL). Used by the SEARCH
// fallback (FROM/TO/CC/BCC match the addresses, not the raw header, so that
// comments and folding do not hide a match) and by SORT.
//
// Lenient like the mail it reads: a comment after an address becomes its
// display name when it has none, comments inside an address are dropped,
// and unparseable text is skipped rather than failing the whole list.

export type AddressTuple = [name: string | null, route: string | null, mailbox: string | null, host: string | null];

type Token = { kind: 'special'; value: string } | { kind: 'word'; value: string } | { kind: 'quoted'; value: string } | { kind: 'comment'; value: string };

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (c === ' ' || c === '\t' || c === '\r' || c === '\n') {
      i++;
    } else if (c === '(') {
      let depth = 0;
      let value = '';
      for (; i < text.length; i++) {
        const d = text[i]!;
        if (d === '\\') {
          value += text[++i] ?? '';
          continue;
        }
        if (d === '(' && depth++ === 0) continue;
        if (d === ')' && --depth === 0) break;
        value += d;
      }
      i++;
      tokens.push({ kind: 'comment', value: value.trim() });
    } else if (c === '"') {
      let value = '';
      i++;
      while (i < text.length && text[i] !== '"') {
        if (text[i] === '\\') i++;
        value += text[i] ?? '';
        i++;
      }
      i++;
      tokens.push({ kind: 'quoted', value });
    } else if ('<>,:;@'.includes(c)) {
      tokens.push({ kind: 'special', value: c });
      i++;
    } else {
      let j = i;
      while (j < text.length && !' \t\r\n"(<>,:;@'.includes(text[j]!)) j++;
      tokens.push({ kind: 'word', value: text.slice(i, j) });
      i = j;
    }
  }
  return tokens;
}

function isSpecial(token: Token | undefined, value: string): boolean {
  return token?.kind === 'special' && token.value === value;
}

function orNull(text: string): string | null {
  return text === '' ? null : text;
}

/** An address list as ENVELOPE tuples; null when there is none (ENVELOPE's NIL). */
export function parseAddressList(text: string | undefined): AddressTuple[] | null {
  if (text === undefined) return null;
  const tokens = tokenize(text);
  const out: AddressTuple[] = [];
  let i = 0;

  const mailbox = (): AddressTuple | null => {
    const phrase: string[] = [];
    let comment = '';
    const start = i;
    while (i < tokens.length) {
      const token = tokens[i]!;
      if (token.kind === 'comment') {
        comment ||= token.value;
        i++;
        continue;
      }
      if (token.kind === 'special') break;
      phrase.push(token.value);
      i++;
    }
    if (isSpecial(tokens[i], '<')) {
      i++;
      const inner: string[] = [];
      while (i < tokens.length && !isSpecial(tokens[i], '>')) {
        const token = tokens[i++]!;
        if (token.kind !== 'comment') inner.push(token.value);
      }
      i++;
      while (tokens[i]?.kind === 'comment') comment ||= tokens[i++]!.value;
      let spec = inner.join('');
      let route: string | null = null;
      const colon = spec.indexOf(':');
      if (spec.startsWith('@') && colon > 0) {
        route = spec.slice(0, colon);
        spec = spec.slice(colon + 1);
      }
      const at = spec.lastIndexOf('@');
      const name = phrase.join(' ') || comment;
      return [orNull(name), route, orNull(at >= 0 ? spec.slice(0, at) : spec), at >= 0 ? orNull(spec.slice(at + 1)) : null];
    }
    // addr-spec: the phrase words were the local part.
    const local = phrase.join('');
    if (isSpecial(tokens[i], '@')) {
      i++;
      const domain: string[] = [];
      while (i < tokens.length && !isSpecial(tokens[i], ',') && !isSpecial(tokens[i], ';')) {
        const token = tokens[i++]!;
        if (token.kind === 'comment') comment ||= token.value;
        else if (token.kind !== 'special' || token.value === '.') domain.push(token.value);
      }
      return [orNull(comment), null, orNull(local), orNull(domain.join(''))];
    }
    if (i === start) return null;
    return local ? [orNull(comment), null, local, null] : null;
  };

  while (i < tokens.length) {
    if (isSpecial(tokens[i], ',')) {
      i++;
      continue;
    }
    // A group: display-name ":" [mailbox-list] ";"
    let j = i;
    while (j < tokens.length && tokens[j]!.kind !== 'special') j++;
    if (isSpecial(tokens[j], ':')) {
      const name = tokens
        .slice(i, j)
        .filter((token) => token.kind !== 'comment')
        .map((token) => token.value)
        .join(' ');
      out.push([null, null, name, null]);
      i = j + 1;
      while (i < tokens.length && !isSpecial(tokens[i], ';')) {
        if (isSpecial(tokens[i], ',') || tokens[i]!.kind === 'comment') {
          i++;
          continue;
        }
        const before = i;
        const address = mailbox();
        if (address) out.push(address);
        if (i === before) i++;
      }
      i++;
      out.push([null, null, null, null]);
      continue;
    }
    const before = i;
    const address = mailbox();
    if (address && (address[2] !== null || address[3] !== null)) out.push(address);
    if (i === before) i++;
  }
  return out.length > 0 ? out : null;
}

/** Addresses as text to search in: "Name <mailbox@host>" each, groups by name. */
export function addressSearchText(text: string): string {
  const list = parseAddressList(text) ?? [];
  return list
    .filter((address) => address[2] !== null)
    .map(([name, , mailbox, host]) => `${name ?? ''} <${mailbox}${host ? '@' + host : ''}>`)
    .join(', ');
}
