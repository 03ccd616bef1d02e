// Sort and thread keys from the envelope (RFC 5256 SORT/THREAD, RFC 5957
// DISPLAYFROM/DISPLAYTO), as pure functions. The IMAP server or the store
// computes them once per message and compares them with foldForSearch-like
// folding (RFC 5256 §3 uses i;unicode-casemap).

import { decodeHeaderValue } from './decode.ts';
import type { Address, Envelope, MessageStructure } from './types.ts';

/**
 * RFC 5256 §2.1 base subject: decoded (RFC 2047), white space collapsed,
 * then "re:", "fw:", "fwd:" prefixes with their [blob]s, trailing "(fwd)",
 * and a "[fwd: ...]" wrapper removed until nothing changes. Comparison
 * folding is left to the caller.
 */
export function baseSubject(subject: string | undefined): string {
  if (subject === undefined) return '';
  // (1) decode, and make every run of white space one space.
  let s = decodeHeaderValue(subject).replace(/[ \t\r\n]+/g, ' ');
  for (;;) {
    // (2) subj-trailer: "(fwd)" or white space at the end, repeatedly.
    for (;;) {
      const trimmed = s.replace(/(?:\(fwd\)| )$/i, '');
      if (trimmed === s) break;
      s = trimmed;
    }
    // (3)-(5): subj-leader and subj-blob at the start, until nothing changes.
    for (;;) {
      const before = s;
      // subj-leader = (*subj-blob subj-refwd) / WSP
      s = s.replace(/^(?:\[[^[\]]*\] *)*(?:re|fwd?) *(?:\[[^[\]]*\] *)?:|^ +/i, '');
      // subj-blob, removed only if something remains.
      const withoutBlob = s.replace(/^\[[^[\]]*\] */, '');
      if (withoutBlob !== s && withoutBlob !== '') s = withoutBlob;
      if (s === before) break;
    }
    // (6) "[fwd:" subject "]"
    const wrapped = /^\[fwd: ?(.*)\]$/i.exec(s);
    if (!wrapped) return s;
    s = wrapped[1]!;
  }
}

/** Whether the subject had a reply/forward marker (RFC 5256 §2.1: it "is a reply or forward"), for THREAD=ORDEREDSUBJECT. */
export function isReplyOrForward(subject: string | undefined): boolean {
  if (subject === undefined) return false;
  const decoded = decodeHeaderValue(subject).replace(/[ \t\r\n]+/g, ' ').trim();
  return /^(?:\[[^[\]]*\] *)*(?:re|fwd?) *(?:\[[^[\]]*\] *)?:/i.test(decoded) || /\(fwd\)$/i.test(decoded) || /^\[fwd:.*\]$/i.test(decoded);
}

/** The first real mailbox of a list (group markers skipped). */
function firstMailbox(list: Address[] | undefined): Address | undefined {
  return list?.find(([, , mailbox, host]) => mailbox !== null && host !== null);
}

/** SORT FROM / TO / CC key (RFC 5256 §3): the addr-mailbox (local part) of the first address, "" if none. */
export function addressSortKey(list: Address[] | undefined): string {
  return firstMailbox(list)?.[2] ?? '';
}

/**
 * SORT DISPLAYFROM / DISPLAYTO key (RFC 5957 §3): the decoded display name of
 * the first address, or when it has none its addr-spec; "" if none.
 */
export function displaySortKey(list: Address[] | undefined): string {
  const first = firstMailbox(list);
  if (!first) return '';
  const [name, , mailbox, host] = first;
  if (name !== null && name !== '') return decodeHeaderValue(name);
  return `${mailbox}@${host}`;
}

const months = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];

/** RFC 5322 §4.3 obsolete zone names, in minutes east of UTC. Military letters count as unknown (-0000). */
const zones: Record<string, number> = { ut: 0, gmt: 0, z: 0, utc: 0, est: -300, edt: -240, cst: -360, cdt: -300, mst: -420, mdt: -360, pst: -480, pdt: -420 };

/**
 * The sent date of a Date header (RFC 5322 §3.3 with the obsolete forms of
 * §4.3: optional weekday and seconds, two- and three-digit years, zone names,
 * comments), as milliseconds since the epoch; null when it cannot be read,
 * in which case SORT uses the internal date (RFC 5256 §3). A missing or
 * unknown zone counts as UTC.
 */
export function parseSentDate(date: string | undefined): number | null {
  if (date === undefined) return null;
  // Comments out, then tokens.
  let text = date;
  for (let previous = ''; previous !== text; ) {
    previous = text;
    text = text.replace(/\([^()]*\)/g, ' ');
  }
  const match = /^\s*(?:[a-z]+\s*,?\s*)?(\d{1,2})[\s-]*([a-z]{3})[a-z]*\.?[\s-]*(\d{2,4})\s+(\d{1,2})\s*[:.]\s*(\d{1,2})(?:\s*[:.]\s*(\d{1,2}))?\s*([+-]\d{4}|[a-z]{1,5})?/i.exec(text);
  if (!match) return null;
  const [, dayText, monthText, yearText, hourText, minuteText, secondText, zoneText] = match as unknown as [string, string, string, string, string, string, string | undefined, string | undefined];
  const month = months.indexOf(monthText.toLowerCase());
  if (month < 0) return null;
  let year = Number(yearText);
  // RFC 5322 §4.3: two-digit years 00-49 are 2000-2049, 50-99 are 1950-1999; three-digit years add 1900.
  if (yearText.length === 2) year += year < 50 ? 2000 : 1900;
  else if (yearText.length === 3) year += 1900;
  const day = Number(dayText);
  const hour = Number(hourText);
  const minute = Number(minuteText);
  const second = secondText === undefined ? 0 : Number(secondText);
  if (day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60) return null;
  let offset = 0;
  if (zoneText) {
    if (/^[+-]\d{4}$/.test(zoneText)) {
      const hours = Number(zoneText.slice(1, 3));
      const minutes = Number(zoneText.slice(3, 5));
      offset = (zoneText[0] === '-' ? -1 : 1) * (hours * 60 + minutes);
    } else {
      offset = zones[zoneText.toLowerCase()] ?? 0;
    }
  }
  return Date.UTC(year, month, day, hour, minute, Math.min(second, 59)) - offset * 60_000;
}

/** Message-IDs in a References or In-Reply-To value ("<a@b> <c@d>"), in order, for THREAD=REFERENCES (RFC 5256 §2.2). */
export function parseMessageIds(value: string | undefined): string[] {
  if (value === undefined) return [];
  return [...value.matchAll(/<([^<>\s]+)>/g)].map((match) => `<${match[1]}>`);
}

/** What the mailbox index keeps per message for listing, SORT and threading. */
export interface MessageSummary {
  /** Decoded subject, "" when none. */
  subject: string;
  /** The first sender as people read it: `Name <local@host>` or `local@host`, decoded; "" when none. */
  from: string;
  /** Sent date in ms since the epoch, or null when the Date header is missing or unreadable. */
  sentAt: number | null;
  messageId: string | null;
}

export function summarize(structure: MessageStructure): MessageSummary {
  const envelope: Envelope = structure.root.envelope ?? {};
  const first = firstMailbox(envelope.from);
  let from = '';
  if (first) {
    const [name, , mailbox, host] = first;
    const addrSpec = `${mailbox}@${host}`;
    from = name ? `${decodeHeaderValue(name)} <${addrSpec}>` : addrSpec;
  }
  return {
    subject: envelope.subject === undefined ? '' : decodeHeaderValue(envelope.subject),
    from,
    sentAt: parseSentDate(envelope.date),
    // A Message-ID without angle brackets is still the best key there is.
    messageId: parseMessageIds(envelope.messageId)[0] ?? (envelope.messageId?.trim() || null),
  };
}
