// Passwords the box makes for a new mailbox (or a reset) when the admin gives
// none: shown once, typed into a phone, so readable: three groups of three
// consonant-vowel syllables and two digits, e.g. "bakito-refumo-lasiku-47".
// Every choice comes from crypto.randomInt; 16 consonants × 5 vowels = 80
// syllables, so nine syllables and two digits are log2(80^9 × 100) ≈ 63.5
// bits: far beyond online guessing (which the services slow down anyway).
// Letters that are misread on a card (l/1, o/0 next to digits; q, x, c, y)
// are left out. It passes password-rule.ts (checked, as any password is).

import { randomInt } from 'node:crypto';
import { checkNewPassword } from '../store/password-rule.ts';

const consonants = 'bdfghjkmnprstvwz';
const vowels = 'aeiou';

function syllable(): string {
  return consonants[randomInt(consonants.length)]! + vowels[randomInt(vowels.length)]!;
}

function group(): string {
  return syllable() + syllable() + syllable();
}

export async function generatePassword(address?: string): Promise<string> {
  // The rule can only refuse a made password by an astronomically unlikely draw; a few tries settle it.
  for (let attempt = 0; attempt < 5; attempt += 1) {
    const password = `${group()}-${group()}-${group()}-${String(randomInt(100)).padStart(2, '0')}`;
    try {
      await checkNewPassword(password, address);
      return password;
    } catch {
      // draw again
    }
  }
  throw new Error('could not make a password that passes the password rule');
}
