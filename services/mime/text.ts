// Turning header octets into the strings the structure keeps.
//
// Header values travel through the parsers as octet strings (one char code
// per octet, see lexer.ts). Once a value is complete it becomes a real string
// here: UTF-8 when the octets are valid UTF-8 (RFC 6532 §3.2 allows raw UTF-8
// in headers), otherwise windows-1252, the charset old unlabelled 8-bit mail
// was nearly always written in (and a superset of ISO-8859-1's printable
// range). Decoding never fails and never loses an octet to U+FFFD.

const utf8 = new TextDecoder('utf-8', { fatal: true });

// windows-1252 where it differs from ISO-8859-1 (0x80-0x9F). Node 20's
// TextDecoder('windows-1252') decodes as ISO-8859-1, so this is done here;
// the five unassigned octets stay C1 controls, as WHATWG has them.
const cp1252High = '\u20ac\u0081\u201a\u0192\u201e\u2026\u2020\u2021\u02c6\u2030\u0160\u2039\u0152\u008d\u017d\u008f\u0090\u2018\u2019\u201c\u201d\u2022\u2013\u2014\u02dc\u2122\u0161\u203a\u0153\u009d\u017e\u0178';

/** Octets as windows-1252 (the WHATWG "windows-1252", which is what labels like iso-8859-1 and latin1 mean in mail). */
export function decodeWindows1252(bytes: Uint8Array): string {
  const latin1 = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
  return latin1.replace(/[\x80-\x9f]/g, (c) => cp1252High[c.charCodeAt(0) - 0x80]!);
}

/** Whether an octet string holds any octet >= 0x80. */
function hasHighOctet(octets: string): boolean {
  for (let i = 0; i < octets.length; i++) if (octets.charCodeAt(i) >= 0x80) return true;
  return false;
}

/** An octet string as text: UTF-8 if it is valid UTF-8, else windows-1252. */
export function octetsToText(octets: string): string {
  if (!hasHighOctet(octets)) return octets;
  const bytes = Buffer.from(octets, 'latin1');
  try {
    return utf8.decode(bytes);
  } catch {
    return decodeWindows1252(bytes);
  }
}

/** Raw bytes as text by the same rule. */
export function bytesToText(bytes: Uint8Array): string {
  let high = false;
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i]! >= 0x80) {
      high = true;
      break;
    }
  }
  if (!high) return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
  try {
    return utf8.decode(bytes);
  } catch {
    return decodeWindows1252(bytes);
  }
}

/** U+FFFD as an octet string (its UTF-8 form), put where a header had NUL. */
export const replacementOctets = '\xef\xbf\xbd';

/**
 * An unfolded value as IMAP shows free text meant for people (Subject,
 * display names): every run of SP, TAB, CR, LF becomes one space, and white
 * space at either end goes.
 */
export function collapseWhitespace(value: string): string {
  return value.replace(/[ \t\r\n]+/g, ' ').replace(/^ | $/g, '');
}

/**
 * An unfolded value as IMAP shows other header text (Date, Message-ID,
 * In-Reply-To, Content-ID, ...): line breaks removed, and where a line break
 * was not followed by white space, one space put in its place so that words
 * do not run together.
 */
export function removeLineBreaks(value: string): string {
  if (!/[\r\n]/.test(value)) return value;
  let out = '';
  for (let i = 0; i < value.length; i++) {
    const c = value[i]!;
    if (c !== '\r' && c !== '\n') {
      out += c;
      continue;
    }
    const next = value[i + 1];
    if (next !== undefined && next !== ' ' && next !== '\t' && next !== '\r' && next !== '\n') out += ' ';
  }
  return out;
}
