// Modified UTF-7 (RFC 3501 §5.1.3): how mailbox names with non-ASCII
// characters travel on the wire unless the client enabled UTF8=ACCEPT.
// Printable ASCII stands for itself except "&", which is written "&-"; any other
// run of characters is UTF-16BE in base64 with "," for "/", between "&" and "-".
//
// Decoding is strict: a name that no encoder would have produced (an
// unterminated shift, "&" followed by printable ASCII, padding bits set, a
// shifted run that contains only printable ASCII) is refused, so that each
// mailbox has exactly one wire spelling.

const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,';

export class Utf7Error extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'Utf7Error';
  }
}

function isDirect(code: number): boolean {
  return code >= 0x20 && code <= 0x7e;
}

export function encodeMailboxUtf7(name: string): string {
  let out = '';
  let i = 0;
  while (i < name.length) {
    const code = name.charCodeAt(i);
    if (code === 0x26) {
      out += '&-';
      i++;
    } else if (isDirect(code)) {
      out += name[i];
      i++;
    } else {
      let j = i;
      while (j < name.length && !isDirect(name.charCodeAt(j))) j++;
      const units = name.slice(i, j);
      const bytes = Buffer.alloc(units.length * 2);
      for (let k = 0; k < units.length; k++) bytes.writeUInt16BE(units.charCodeAt(k), k * 2);
      out += '&' + bytes.toString('base64').replace(/=+$/, '').replace(/\//g, ',') + '-';
      i = j;
    }
  }
  return out;
}

export function decodeMailboxUtf7(wire: string): string {
  let out = '';
  let i = 0;
  while (i < wire.length) {
    const ch = wire[i]!;
    const code = wire.charCodeAt(i);
    if (code > 0x7e || code < 0x20) throw new Utf7Error('a mailbox name in modified UTF-7 has a character outside printable ASCII');
    if (ch !== '&') {
      out += ch;
      i++;
      continue;
    }
    const end = wire.indexOf('-', i + 1);
    if (end < 0) throw new Utf7Error('a mailbox name has "&" without the closing "-"');
    const encoded = wire.slice(i + 1, end);
    i = end + 1;
    if (encoded === '') {
      out += '&';
      continue;
    }
    for (const c of encoded) if (!alphabet.includes(c)) throw new Utf7Error(`a mailbox name has "${c}" inside a modified UTF-7 run`);
    const bits = encoded.length * 6;
    if (bits % 16 >= 6) throw new Utf7Error('a modified UTF-7 run in a mailbox name has a bad length');
    const bytes = Buffer.from(encoded.replace(/,/g, '/'), 'base64');
    if (bytes.length % 2 !== 0 || bytes.length === 0) throw new Utf7Error('a modified UTF-7 run in a mailbox name is not UTF-16');
    // The leftover bits must be zero, or two spellings would name one mailbox.
    const check = bytes.toString('base64').replace(/=+$/, '').replace(/\//g, ',');
    if (check !== encoded) throw new Utf7Error('a modified UTF-7 run in a mailbox name has padding bits set');
    let run = '';
    for (let k = 0; k < bytes.length; k += 2) run += String.fromCharCode(bytes.readUInt16BE(k));
    for (let k = 0; k < run.length; k++) {
      if (isDirect(run.charCodeAt(k))) throw new Utf7Error('a modified UTF-7 run in a mailbox name encodes printable ASCII');
    }
    out += run;
  }
  if (!isWellFormedUtf16(out)) throw new Utf7Error('a mailbox name in modified UTF-7 has an unpaired surrogate');
  return out;
}

function isWellFormedUtf16(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code >= 0xd800 && code <= 0xdbff) {
      const next = text.charCodeAt(i + 1);
      if (!(next >= 0xdc00 && next <= 0xdfff)) return false;
      i++;
    } else if (code >= 0xdc00 && code <= 0xdfff) {
      return false;
    }
  }
  return true;
}
