// Reads IMAP response values (NIL, numbers, quoted strings, literals, lists)
// into the nested JS values the backend hands the library, for comparing
// what the library writes with what other servers wrote. Test-only.

import type { ImapValue } from '../../src/backend.ts';

export function parseImapValue(text: string): ImapValue {
  let i = 0;
  const skipSpace = () => {
    while (text[i] === ' ') i++;
  };
  const value = (): ImapValue => {
    skipSpace();
    const c = text[i];
    if (c === '(') {
      i++;
      const items: ImapValue[] = [];
      skipSpace();
      while (text[i] !== ')') {
        if (i >= text.length) throw new Error('unterminated list');
        items.push(value());
        skipSpace();
      }
      i++;
      return items;
    }
    if (c === '"') {
      let out = '';
      i++;
      while (text[i] !== '"') {
        if (i >= text.length) throw new Error('unterminated string');
        if (text[i] === '\\') i++;
        out += text[i++];
      }
      i++;
      return out;
    }
    if (c === '{') {
      const close = text.indexOf('}', i);
      const size = Number(text.slice(i + 1, close));
      // The text is the JSON-decoded response: octets as characters, UTF-8 re-read below.
      const start = close + 3;
      const raw = Buffer.from(text.slice(start), 'utf8').subarray(0, size).toString('utf8');
      i = start + raw.length;
      return raw;
    }
    const match = /^[^\s()]+/.exec(text.slice(i))!;
    i += match[0].length;
    if (match[0].toUpperCase() === 'NIL') return null;
    if (/^\d+$/.test(match[0])) return Number(match[0]);
    return match[0];
  };
  const result = value();
  return result;
}
