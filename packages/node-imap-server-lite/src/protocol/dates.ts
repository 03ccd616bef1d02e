// Dates as IMAP writes them and as messages carry them.
//
// - `date` (RFC 3501 §9, SEARCH BEFORE/ON/SINCE): "1-Feb-2024", quoted or not.
// - `date-time` (INTERNALDATE, APPEND): "01-Feb-2024 10:00:00 +0100".
// - RFC 5322 §3.3 Date: header values, for SENTBEFORE/SENTON/SENTSINCE and SORT
//   DATE, parsed leniently because real mail is sloppy.
//
// Day comparisons (SEARCH) "disregard time and timezone" (RFC 3501 §6.4.4): a
// day is compared as a calendar day number, never as an instant. INTERNALDATE
// is written in UTC, so its calendar day is the UTC day.

const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const monthIndex = new Map(months.map((name, i) => [name.toLowerCase(), i]));

/** A calendar day as a number: days since 1970-01-01 of that date in the proleptic Gregorian calendar. */
export type DayNumber = number;

export function dayNumber(year: number, month0: number, day: number): DayNumber {
  return Math.floor(Date.UTC(year, month0, day) / 86_400_000);
}

/** The calendar day of an instant in UTC. */
export function utcDayOf(date: Date): DayNumber {
  return Math.floor(date.getTime() / 86_400_000);
}

function validDay(year: number, month0: number, day: number): boolean {
  if (year < 1 || year > 9999 || day < 1 || day > 31) return false;
  const probe = new Date(Date.UTC(year, month0, day));
  return probe.getUTCMonth() === month0 && probe.getUTCDate() === day;
}

/** RFC 3501 `date-text` ("1-Feb-2024"); undefined when it is not one. */
export function parseSearchDate(text: string): DayNumber | undefined {
  const match = /^(\d{1,2})-([A-Za-z]{3})-(\d{4})$/.exec(text);
  if (!match) return undefined;
  const month0 = monthIndex.get(match[2]!.toLowerCase());
  const day = Number(match[1]);
  const year = Number(match[3]);
  if (month0 === undefined || !validDay(year, month0, day)) return undefined;
  return dayNumber(year, month0, day);
}

/** RFC 3501 `date-time` without its quotes ("01-Feb-2024 10:00:00 +0100"); undefined when it is not one. */
export function parseDateTime(text: string): Date | undefined {
  const match = /^ ?(\d{1,2})-([A-Za-z]{3})-(\d{4}) (\d{2}):(\d{2}):(\d{2}) ([+-])(\d{2})(\d{2})$/.exec(text);
  if (!match) return undefined;
  const month0 = monthIndex.get(match[2]!.toLowerCase());
  const day = Number(match[1]);
  const year = Number(match[3]);
  const [hour, minute, second] = [Number(match[4]), Number(match[5]), Number(match[6])];
  const zoneMinutes = (match[7] === '-' ? -1 : 1) * (Number(match[8]) * 60 + Number(match[9]));
  if (month0 === undefined || !validDay(year, month0, day) || hour > 23 || minute > 59 || second > 60 || Number(match[9]) > 59) return undefined;
  return new Date(Date.UTC(year, month0, day, hour, minute, Math.min(second, 59)) - zoneMinutes * 60_000);
}

function pad2(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

/** INTERNALDATE's `date-time`, in UTC, without quotes. */
export function formatDateTime(date: Date): string {
  const d = Number.isFinite(date.getTime()) ? date : new Date(0);
  return `${pad2(d.getUTCDate())}-${months[d.getUTCMonth()]}-${d.getUTCFullYear()} ${pad2(d.getUTCHours())}:${pad2(d.getUTCMinutes())}:${pad2(d.getUTCSeconds())} +0000`;
}

const zones: Record<string, number> = { UT: 0, UTC: 0, GMT: 0, Z: 0, EST: -300, EDT: -240, CST: -360, CDT: -300, MST: -420, MDT: -360, PST: -480, PDT: -420 };

export interface HeaderDate {
  /** The instant, for SORT DATE. */
  time: number;
  /** The calendar day as written in the header's own zone, for SENTBEFORE/SENTON/SENTSINCE. */
  day: DayNumber;
}

/** A Date: header value (RFC 5322 §3.3, with the obsolete forms of §4.3); undefined when it cannot be read. */
export function parseHeaderDate(value: string): HeaderDate | undefined {
  const text = value.replace(/\([^()]*\)/g, ' ').replace(/\s+/g, ' ').trim();
  const match = /^(?:[A-Za-z]{3},? ?)?(\d{1,2}) ([A-Za-z]{3})[a-z]* (\d{2,4}) (\d{1,2}):(\d{2})(?::(\d{2}))?(?: ?([+-]\d{4}|[A-Za-z]{1,5}))?/.exec(text);
  if (!match) return undefined;
  const month0 = monthIndex.get(match[2]!.toLowerCase());
  let year = Number(match[3]);
  if (match[3]!.length === 2) year += year < 50 ? 2000 : 1900;
  else if (match[3]!.length === 3) year += 1900;
  const day = Number(match[1]);
  if (month0 === undefined || !validDay(year, month0, day)) return undefined;
  const hour = Number(match[4]);
  const minute = Number(match[5]);
  const second = Number(match[6] ?? 0);
  if (hour > 23 || minute > 59 || second > 60) return undefined;
  let zoneMinutes = 0;
  const zone = match[7];
  if (zone && /^[+-]\d{4}$/.test(zone)) {
    zoneMinutes = (zone[0] === '-' ? -1 : 1) * (Number(zone.slice(1, 3)) * 60 + Number(zone.slice(3, 5)));
  } else if (zone) {
    zoneMinutes = zones[zone.toUpperCase()] ?? 0;
  }
  const time = Date.UTC(year, month0, day, hour, minute, Math.min(second, 59)) - zoneMinutes * 60_000;
  return { time, day: dayNumber(year, month0, day) };
}
