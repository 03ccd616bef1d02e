// Mailbox names as the store keeps them: UTF-8, NFC, hierarchy separator '/'.
// INBOX is matched without regard to case (RFC 3501 §5.1) and always stored as
// "INBOX". IMAP's modified UTF-7 is a wire encoding and is converted at the
// protocol edge, never stored.

import { UserError } from '../core/errors.ts';

export const separator = '/';

export type SpecialUse = '\\Drafts' | '\\Sent' | '\\Junk' | '\\Trash' | '\\Archive' | '\\All' | '\\Flagged';

export const specialUses: readonly SpecialUse[] = ['\\Drafts', '\\Sent', '\\Junk', '\\Trash', '\\Archive', '\\All', '\\Flagged'];

/** Every new account gets these (RFC 6154 roles). */
export const defaultMailboxes: readonly { name: string; specialUse: SpecialUse | null }[] = [
  { name: 'INBOX', specialUse: null },
  { name: 'Drafts', specialUse: '\\Drafts' },
  { name: 'Sent', specialUse: '\\Sent' },
  { name: 'Junk', specialUse: '\\Junk' },
  { name: 'Trash', specialUse: '\\Trash' },
  { name: 'Archive', specialUse: '\\Archive' },
];

const maxNameBytes = 1000;
const maxDepth = 32;

export class MailboxNameError extends UserError {
  constructor(message: string) {
    super(message);
    this.name = 'MailboxNameError';
  }
}

/** Validates and normalises a full mailbox name. */
export function normalizeMailboxName(input: string): string {
  let name = input.normalize('NFC');
  if (/^inbox$/i.test(name)) return 'INBOX';
  if (/^inbox\//i.test(name)) name = 'INBOX' + name.slice(5);
  if (name === '') throw new MailboxNameError('the mailbox name is empty');
  if (Buffer.byteLength(name) > maxNameBytes) throw new MailboxNameError(`the mailbox name is longer than ${maxNameBytes} bytes`);
  if (/[\x00-\x1f\x7f*%]/.test(name)) throw new MailboxNameError(`the mailbox name "${input}" contains a control character, * or %`);
  const parts = name.split(separator);
  if (parts.length > maxDepth) throw new MailboxNameError(`the mailbox name "${input}" is nested more than ${maxDepth} levels deep`);
  if (parts.some((p) => p === '')) throw new MailboxNameError(`the mailbox name "${input}" has an empty level (a leading, trailing or doubled "/")`);
  return name;
}

/** "a/b/c" → ["a", "a/b"]. */
export function parentsOf(name: string): string[] {
  const parts = name.split(separator);
  const parents: string[] = [];
  for (let i = 1; i < parts.length; i++) parents.push(parts.slice(0, i).join(separator));
  return parents;
}
