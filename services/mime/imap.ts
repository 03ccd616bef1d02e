// ENVELOPE, BODY and BODYSTRUCTURE as IMAP values (RFC 3501 §7.4.2,
// RFC 9051 §7.5.2), built from a stored MessageStructure. The protocol
// library writes them (quoting, literals); here we only decide what they are.
//
// The rules that matter to clients:
// - ENVELOPE: date, subject, from, sender, reply-to, to, cc, bcc,
//   in-reply-to, message-id. An absent field is NIL; Sender and Reply-To
//   default to From when absent or empty. A present but empty Subject is "".
// - BODY / BODYSTRUCTURE of a non-multipart: type, subtype, parameters (NIL
//   when none; text gets charset=us-ascii added when it has none, RFC 2045
//   §5.2), id, description, encoding ("7bit" by default), size; then the
//   line count for text/*, or envelope, body and line count for
//   message/rfc822 and message/global (RFC 9051 §9 media-message);
//   BODYSTRUCTURE adds md5, disposition, language, location.
// - Multipart: the children, then the subtype; BODYSTRUCTURE adds the
//   parameters, disposition, language, location. A multipart without parts
//   (no boundary, or none found) shows one empty text/plain part, because
//   the grammar needs at least one (body-type-mpart = 1*body).
// - A part without a Content-Type is "text" "plain", or "message" "rfc822"
//   inside multipart/digest; a part the parser's limits kept it from
//   looking into is "application" "octet-stream".

import type { Address, Envelope, ImapValue, MimePart, Param } from './types.ts';

export interface BodyStructureOptions {
  /** true for BODYSTRUCTURE (with extension data), false for BODY. */
  extensible: boolean;
}

/** ENVELOPE of a message: pass the `envelope` of its root part (undefined gives all NIL). */
export function envelopeToImap(envelope: Envelope | undefined): ImapValue[] {
  const e = envelope ?? {};
  return [
    e.date ?? null,
    e.subject ?? null,
    addresses(e.from),
    addresses(e.sender ?? e.from),
    addresses(e.replyTo ?? e.from),
    addresses(e.to),
    addresses(e.cc),
    addresses(e.bcc),
    e.inReplyTo ?? null,
    e.messageId ?? null,
  ];
}

function addresses(list: Address[] | undefined): ImapValue {
  return list && list.length > 0 ? list.map((address) => [...address]) : null;
}

/**
 * BODY or BODYSTRUCTURE of a message: pass `structure.root` (or, for a part
 * on its own, that part).
 *
 * A message that is nothing but plain 7-bit text (text/plain, no parameter
 * other than charset=us-ascii, 7bit, no other Content-* field) is written in
 * the canonical lower-case form, whatever case its header used, as Dovecot
 * does; these names are case-insensitive (RFC 2045 §5.1, §6.1), so nothing is
 * lost. Other parts keep the case they were written in.
 */
export function bodyStructureToImap(part: MimePart, options: BodyStructureOptions): ImapValue[] {
  if (isPlain7bit(part)) {
    const value: ImapValue[] = ['text', 'plain', ['charset', 'us-ascii'], null, null, '7bit', part.end - part.body, part.lines];
    if (options.extensible) value.push(null, null, null, null);
    return value;
  }
  return structureOf(part, options);
}

function isPlain7bit(part: MimePart): boolean {
  if (part.parts || part.message || part.truncated) return false;
  if (part.type !== undefined && (part.type.toLowerCase() !== 'text' || part.subtype?.toLowerCase() !== 'plain')) return false;
  const params = part.params ?? [];
  if (params.length > 1 || (params.length === 1 && (params[0]![0].toLowerCase() !== 'charset' || params[0]![1].toLowerCase() !== 'us-ascii'))) return false;
  if (part.encoding !== undefined && part.encoding.toLowerCase() !== '7bit') return false;
  return part.id === undefined && part.description === undefined && part.md5 === undefined && part.disposition === undefined && part.language === undefined && part.location === undefined;
}

function structureOf(part: MimePart, options: BodyStructureOptions): ImapValue[] {
  return part.parts ? multipart(part, part.parts, options) : singlePart(part, options);
}

const emptyTextPart: MimePart = { header: 0, body: 0, end: 0, lines: 0 };

function multipart(part: MimePart, children: MimePart[], options: BodyStructureOptions): ImapValue[] {
  const value: ImapValue[] = children.length > 0 ? children.map((child) => structureOf(child, options)) : [singlePart(emptyTextPart, options)];
  value.push(part.subtype ?? '');
  if (options.extensible) {
    value.push(params(part.params), disposition(part), language(part), part.location ?? null);
  }
  return value;
}

type PartKind = 'text' | 'message' | 'other';

function kindOf(part: MimePart): PartKind {
  if (part.message) return 'message';
  if (part.truncated) return 'other';
  if (part.type === undefined || part.type.toLowerCase() === 'text') return 'text';
  return 'other';
}

function singlePart(part: MimePart, options: BodyStructureOptions): ImapValue[] {
  const kind = kindOf(part);
  let type: string;
  let subtype: string;
  if (kind === 'message') {
    type = 'message';
    subtype = part.subtype?.toLowerCase() === 'global' ? 'global' : 'rfc822';
  } else if (part.truncated) {
    type = 'application';
    subtype = 'octet-stream';
  } else {
    type = part.type ?? 'text';
    subtype = part.type === undefined ? 'plain' : (part.subtype ?? '');
  }
  const value: ImapValue[] = [
    type,
    subtype,
    kind === 'text' ? params(part.params, 'us-ascii') : params(part.params),
    part.id ?? null,
    part.description ?? null,
    part.encoding ?? '7bit',
    part.end - part.body,
  ];
  if (kind === 'text') {
    value.push(part.lines);
  } else if (kind === 'message') {
    const inner = part.message!;
    value.push(envelopeToImap(inner.envelope), structureOf(inner, options), part.lines);
  }
  if (options.extensible) {
    value.push(part.md5 ?? null, disposition(part), language(part), part.location ?? null);
  }
  return value;
}

/** A parameter list, NIL when empty; `defaultCharset` is appended when no charset is given. */
function params(list: Param[] | undefined, defaultCharset?: string): ImapValue {
  const value: ImapValue[] = [];
  let hasCharset = false;
  for (const [name, paramValue] of list ?? []) {
    value.push(name, paramValue);
    if (name.toLowerCase() === 'charset') hasCharset = true;
  }
  if (defaultCharset !== undefined && !hasCharset) value.push('charset', defaultCharset);
  return value.length > 0 ? value : null;
}

function disposition(part: MimePart): ImapValue {
  return part.disposition === undefined ? null : [part.disposition, params(part.dispositionParams)];
}

function language(part: MimePart): ImapValue {
  return part.language ? [...part.language] : null;
}
