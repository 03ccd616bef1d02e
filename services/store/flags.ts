// Message flags as the store keeps them: the five system flags of RFC 3501
// §2.3.2 as bits of one integer, keywords as a sorted space-separated list.
// \Recent is per session and never stored.

export const systemFlagBits: Readonly<Record<string, number>> = {
  '\\Seen': 1,
  '\\Answered': 2,
  '\\Flagged': 4,
  '\\Deleted': 8,
  '\\Draft': 16,
};

export const seenBit = 1;
export const deletedBit = 8;

const systemFlagByUpper = new Map(Object.entries(systemFlagBits).map(([name, bit]) => [name.toUpperCase(), bit]));

export interface FlagSet {
  bits: number;
  keywords: string[];
}

/** Splits flag names into system-flag bits and keywords (case of keywords kept, duplicates dropped). */
export function parseFlags(flags: readonly string[]): FlagSet {
  let bits = 0;
  const keywords = new Map<string, string>();
  for (const flag of flags) {
    const bit = systemFlagByUpper.get(flag.toUpperCase());
    if (bit !== undefined) bits |= bit;
    else if (flag.startsWith('\\')) continue; // \Recent and unknown system flags are not stored
    else if (!keywords.has(flag.toLowerCase())) keywords.set(flag.toLowerCase(), flag);
  }
  return { bits, keywords: [...keywords.values()] };
}

export function keywordsText(keywords: readonly string[]): string {
  return [...new Set(keywords)].sort().join(' ');
}

export function keywordList(text: string): string[] {
  return text ? text.split(' ') : [];
}

export function flagNames(bits: number, keywords: string): string[] {
  const names: string[] = [];
  for (const [name, bit] of Object.entries(systemFlagBits)) if (bits & bit) names.push(name);
  return names.concat(keywordList(keywords));
}

/** Applies a STORE operation; keywords compare without regard to case (RFC 3501 §2.3.2 leaves it to the server; clients expect it). */
export function applyFlags(current: FlagSet, operation: 'add' | 'remove' | 'replace', change: FlagSet): FlagSet {
  if (operation === 'replace') return { bits: change.bits, keywords: change.keywords };
  if (operation === 'add') {
    const have = new Set(current.keywords.map((k) => k.toLowerCase()));
    return { bits: current.bits | change.bits, keywords: [...current.keywords, ...change.keywords.filter((k) => !have.has(k.toLowerCase()))] };
  }
  const drop = new Set(change.keywords.map((k) => k.toLowerCase()));
  return { bits: current.bits & ~change.bits, keywords: current.keywords.filter((k) => !drop.has(k.toLowerCase())) };
}
