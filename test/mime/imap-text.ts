// Test-only reader for IMAP response text as the golden files hold it
// (atoms, NIL, numbers, quoted strings, {n} literals, parenthesised lists),
// into the same tree shape as ImapValue. Strings stay octets (Buffer), so a
// comparison can say exactly which octets the server would have sent.

export type GoldenValue = Buffer | number | null | GoldenValue[];

export function readImapValue(octets: Buffer): GoldenValue {
  let pos = 0;
  const fail = (why: string): never => {
    throw new Error(`${why} at ${pos} in ${octets.toString('latin1').slice(Math.max(0, pos - 20), pos + 20)}`);
  };
  const value = (): GoldenValue => {
    while (octets[pos] === 0x20) pos++;
    const c = octets[pos];
    if (c === 0x28 /* ( */) {
      pos++;
      const list: GoldenValue[] = [];
      for (;;) {
        while (octets[pos] === 0x20) pos++;
        if (pos >= octets.length) fail('unclosed list');
        if (octets[pos] === 0x29) {
          pos++;
          return list;
        }
        list.push(value());
      }
    }
    if (c === 0x22 /* " */) {
      pos++;
      const out: number[] = [];
      while (octets[pos] !== 0x22) {
        if (pos >= octets.length) fail('unclosed quoted string');
        if (octets[pos] === 0x5c) pos++;
        out.push(octets[pos++]!);
      }
      pos++;
      return Buffer.from(out);
    }
    if (c === 0x7b /* { */) {
      const close = octets.indexOf(0x7d, pos);
      const length = Number(octets.toString('latin1', pos + 1, close));
      if (octets[close + 1] !== 0x0d || octets[close + 2] !== 0x0a) fail('literal without CRLF');
      pos = close + 3;
      const literal = octets.subarray(pos, pos + length);
      pos += length;
      return Buffer.from(literal);
    }
    const start = pos;
    while (pos < octets.length && octets[pos] !== 0x20 && octets[pos] !== 0x28 && octets[pos] !== 0x29) pos++;
    const atom = octets.toString('latin1', start, pos);
    if (atom === '') fail('empty atom');
    if (atom.toUpperCase() === 'NIL') return null;
    if (/^\d+$/.test(atom)) return Number(atom);
    return Buffer.from(atom, 'latin1');
  };
  const result = value();
  while (octets[pos] === 0x20) pos++;
  if (pos !== octets.length) fail('trailing text');
  return result;
}
