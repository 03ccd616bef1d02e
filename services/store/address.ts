// Mail addresses as the store keys them.
//
// RFC 5321 §4.1.2 and §4.5.3.1 (syntax and lengths), RFC 6531 §3.3 (UTF-8 local
// parts), RFC 5890/5891 (IDN domains are kept in their ASCII "xn--" form).
//
// Invariants:
// - A normalised address is `local@domain` with the domain lower-case ASCII and
//   the local part NFC-normalised and lower-cased. Every lookup goes through
//   `normalizeAddress`, so two spellings of one mailbox are one key.
// - Quoted local parts and source routes are refused rather than interpreted:
//   the store never guesses at a relay path hidden in an address.

import { domainToASCII } from 'node:url';
import { UserError } from '../core/errors.ts';

export class AddressError extends UserError {
  constructor(message: string) {
    super(message);
    this.name = 'AddressError';
  }
}

export interface MailAddress {
  local: string;
  domain: string;
}

// RFC 5322 atext, plus any non-ASCII character (RFC 6531 UTF8-non-ascii).
const atom = /^[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~\u0080-\u{10FFFF}]+$/u;
const label = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;

export function normalizeDomain(input: string): string {
  const text = input.trim().replace(/\.$/, '');
  if (text === '') throw new AddressError('the domain is empty');
  if (text.startsWith('[')) throw new AddressError(`"${input}" is an address literal; use a domain name`);
  const ascii = domainToASCII(text.toLowerCase());
  if (ascii === '') throw new AddressError(`"${input}" is not a valid domain name`);
  if (ascii.length > 253) throw new AddressError(`the domain "${input}" is longer than 253 characters`);
  const labels = ascii.split('.');
  if (labels.length < 2) throw new AddressError(`"${input}" is not a fully qualified domain name (it needs a dot, like example.com)`);
  for (const part of labels) {
    if (!label.test(part)) throw new AddressError(`"${input}" is not a valid domain name`);
  }
  if (/^[0-9]+$/.test(labels[labels.length - 1]!)) throw new AddressError(`"${input}" looks like an IP address; use a domain name`);
  return ascii;
}

export function normalizeLocalPart(input: string): string {
  const local = input.normalize('NFC').toLowerCase();
  if (local === '') throw new AddressError('the part before @ is empty');
  if (Buffer.byteLength(local) > 64) throw new AddressError(`the part before @ in "${input}" is longer than 64 bytes`);
  for (const part of local.split('.')) {
    if (part === '') throw new AddressError(`"${input}" has a dot at the start, at the end or twice in a row`);
    if (!atom.test(part)) throw new AddressError(`"${input}" contains a character not allowed in an address`);
  }
  return local;
}

/** Parses and normalises `local@domain`. Throws AddressError with a message for a person. */
export function parseAddress(input: string): MailAddress {
  const text = input.trim();
  const at = text.lastIndexOf('@');
  if (at < 0) throw new AddressError(`"${input}" is not an email address (it has no @)`);
  if (text.startsWith('@') && text.includes(':')) throw new AddressError(`"${input}" is a source route; those are not accepted`);
  if (text.includes('"')) throw new AddressError(`"${input}" has a quoted local part; those are not accepted`);
  const local = normalizeLocalPart(text.slice(0, at));
  const domain = normalizeDomain(text.slice(at + 1));
  return { local, domain };
}

export function normalizeAddress(input: string): string {
  const { local, domain } = parseAddress(input);
  return `${local}@${domain}`;
}

/** `user+tag` → `user`; an address without a tag is returned as it is. */
export function stripTag(local: string): string {
  const plus = local.indexOf('+');
  return plus > 0 ? local.slice(0, plus) : local;
}

/** Accepts `@domain` (a catch-all) or a full address; returns the normalised form. */
export function normalizeAliasSource(input: string): string {
  const text = input.trim();
  if (text.startsWith('@')) return `@${normalizeDomain(text.slice(1))}`;
  return normalizeAddress(text);
}

export function domainOf(address: string): string {
  return address.slice(address.lastIndexOf('@') + 1);
}
