// BODY (RFC 3501 §7.4.2) is BODYSTRUCTURE without extension data. The backend
// gives BODYSTRUCTURE only; this derives BODY from it, so the two can never
// disagree about the basic fields.

import type { ImapValue } from '../protocol/encode.ts';

export function bodyFromStructure(value: ImapValue): ImapValue {
  if (!Array.isArray(value)) return value;
  const items = value as readonly ImapValue[];
  if (Array.isArray(items[0])) {
    // multipart: body parts, then the subtype; the extension data follows.
    const parts: ImapValue[] = [];
    let i = 0;
    while (i < items.length && Array.isArray(items[i])) parts.push(bodyFromStructure(items[i++]!));
    return i < items.length ? [...parts, items[i]!] : parts;
  }
  const type = typeof items[0] === 'string' ? items[0].toLowerCase() : '';
  const subtype = typeof items[1] === 'string' ? items[1].toLowerCase() : '';
  if (type === 'text') return items.slice(0, 8);
  // message/rfc822 (and message/global, where the backend describes it the same
  // way, RFC 9051 §7.5.2) carries envelope, body and lines after the basic fields.
  if (type === 'message' && (subtype === 'rfc822' || subtype === 'global') && Array.isArray(items[7]) && Array.isArray(items[8])) {
    return [...items.slice(0, 8), bodyFromStructure(items[8]!), items[9] ?? 0];
  }
  return items.slice(0, 7);
}
