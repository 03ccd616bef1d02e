// The rule for a password a person chooses: `user add`, `user passwd`, and
// later the web UI, so it lives here in the store rather than in the CLI.
// Logins are never checked against it: a password set before the rule
// existed still works until its owner changes it.
//
// Two checks, the ones NIST SP 800-63B §3.1.1.2 recommends instead of
// composition rules (no "one digit, one capital"):
// - a minimum length, counted in Unicode code points of the NFC form (the
//   form that is hashed), so "naïve" is 5 whatever the keyboard sent;
// - not one of the most common passwords, compared without regard to case.
//   The list is zxcvbn-ts's frequency-ranked list of common passwords
//   (@zxcvbn-ts/language-common, MIT licence, version pinned in
//   package.json), all in lower case; only entries at least as long as the
//   minimum can matter, so only those are kept in memory.
// The address itself (or its local part) is refused too: it is the first
// guess of anyone who knows the address.

import { UserError } from '../core/errors.ts';

export const minPasswordLength = 10;

const advice = 'several unrelated words make a password that is long and easy to remember';

let commonPasswords: Promise<Set<string>> | undefined;

/** Loaded on first use: most commands never need the list. */
function loadCommonPasswords(): Promise<Set<string>> {
  commonPasswords ??= import('@zxcvbn-ts/language-common').then(({ dictionary }) => {
    const long = dictionary['passwords-common'].filter((entry) => codePoints(entry) >= minPasswordLength);
    return new Set(long.map((entry) => entry.toLowerCase()));
  });
  return commonPasswords;
}

function codePoints(text: string): number {
  let count = 0;
  for (const _ of text) count += 1;
  return count;
}

/**
 * Throws a UserError saying what to do when `password` may not be chosen.
 * `address` is the account's, when known.
 */
export async function checkNewPassword(password: string, address?: string): Promise<void> {
  const text = password.normalize('NFC');
  const length = codePoints(text);
  if (length < minPasswordLength) {
    throw new UserError(`the password is too short: ${length} character${length === 1 ? '' : 's'}, at least ${minPasswordLength} are needed (${advice})`);
  }
  const folded = text.toLowerCase();
  if (address !== undefined) {
    const lower = address.normalize('NFC').toLowerCase();
    if (folded === lower || folded === lower.slice(0, lower.lastIndexOf('@'))) {
      throw new UserError(`the password must not be the address itself; choose another (${advice})`);
    }
  }
  if ((await loadCommonPasswords()).has(folded)) {
    throw new UserError(`that password is on the list of the most common passwords, the first ones attackers try; choose another (${advice})`);
  }
}
