// The message structure: what the MIME scanner learns from a message's raw
// bytes once, at delivery, and what IMAP FETCH, SEARCH and SORT later answer
// from without reading the message again (except for byte ranges of it).
//
// It is stored with JSON.stringify beside every message, so it is plain data
// (no classes, no Maps, no undefined in arrays) and compact: a field that has
// its default value is left out, and addresses are 4-tuples, not objects.
//
// Invariants a reader must keep:
// - Every offset is an absolute octet offset into the message file as stored
//   (CRLF line endings), and for every part header <= body <= end.
// - Strings are JavaScript strings. Header octets that are valid UTF-8 are
//   decoded as UTF-8 (RFC 6532 §3.2); other 8-bit octets as windows-1252, so
//   that nothing is lost to U+FFFD and every string is valid Unicode. RFC 2047
//   encoded-words are NOT decoded here: IMAP sends them as written (RFC 3501
//   §7.4.2); decodeHeaderValue() decodes them for SEARCH, SORT and display.
// - A change of shape bumps `v`, so stored structures can be recognised and
//   recomputed from the message file.

/**
 * One address of an envelope address list, as RFC 3501 §7.4.2 has it:
 * [display name, source route (RFC 5322 §4.4 obs-route, "@a,@b"), mailbox
 * (local part), host]. null stands for NIL.
 *
 * Group syntax (RFC 5322 §3.4) is kept in the RFC 3501 way: the group's start
 * is [null, null, groupName, null] and its end is [null, null, null, null].
 * A mailbox that cannot be parsed gets Dovecot's placeholders
 * "MISSING_MAILBOX" / "MISSING_DOMAIN" (and "SYNTAX_ERROR" / "INVALID_ROUTE")
 * rather than being dropped, so a client still sees that someone is there.
 */
export type Address = [name: string | null, route: string | null, mailbox: string | null, host: string | null];

/**
 * The ENVELOPE fields of a message (top level or encapsulated). A field is
 * absent when the header is absent (IMAP NIL); an address header that is
 * present but holds no address is also absent. Strings are as IMAP sends them:
 * unfolded, and for subject and display names with runs of white space made
 * one space and trimmed (what Dovecot does); other fields keep their spacing.
 */
export interface Envelope {
  date?: string;
  subject?: string;
  from?: Address[];
  /** Absent when there is no usable Sender: IMAP then shows `from` (RFC 3501 §7.4.2). */
  sender?: Address[];
  /** Absent when there is no usable Reply-To: IMAP then shows `from`. */
  replyTo?: Address[];
  to?: Address[];
  cc?: Address[];
  bcc?: Address[];
  inReplyTo?: string;
  messageId?: string;
}

/**
 * A MIME parameter as IMAP shows it: [attribute, value]. RFC 2231
 * continuations (`name*0`, `name*1*`, ...) are already joined into one
 * parameter; a parameter that used the RFC 2231 extended syntax keeps its
 * trailing `*` and its `charset'language'%XX` value, because an IMAP string
 * cannot say which charset it is in and clients know how to decode it.
 * decodeParams() gives the decoded values.
 */
export type Param = [attribute: string, value: string];

/**
 * One MIME entity: the message itself, a body part of a multipart, or the
 * message encapsulated in a message/rfc822 or message/global part.
 */
export interface MimePart {
  /** Offset of the first octet of the entity's header. */
  header: number;
  /** Offset of the first octet of the body (just past the blank line that ends the header, if there is one). */
  body: number;
  /** Offset just past the last octet of the body (the CRLF before a boundary line belongs to the boundary, RFC 2046 §5.1.1). */
  end: number;
  /** LF count in the body, the line count BODYSTRUCTURE gives for text/* and message/rfc822 parts. */
  lines: number;
  /**
   * Content-Type as written (case kept), present when the entity has a
   * Content-Type the MIME rules let count (RFC 2045 §4: a message without
   * MIME-Version or Content-Type has none). Absent means the default:
   * text/plain; charset=us-ascii, or message/rfc822 inside multipart/digest
   * (RFC 2046 §5.1.5). A Content-Type that cannot be parsed leaves what could
   * be read, possibly "" / "".
   */
  type?: string;
  subtype?: string;
  /** Content-Type parameters, see Param. */
  params?: Param[];
  /** Content-ID, Content-Description, Content-MD5, Content-Location: unfolded, otherwise as written. */
  id?: string;
  description?: string;
  md5?: string;
  location?: string;
  /** Content-Transfer-Encoding as written; absent means 7bit (RFC 2045 §6.1). */
  encoding?: string;
  /** Content-Disposition type as written, and its parameters (RFC 2183). */
  disposition?: string;
  dispositionParams?: Param[];
  /** Content-Language tags (RFC 3282). */
  language?: string[];
  /** Children of a multipart entity, in order. Present exactly when the entity is a multipart; may be empty. */
  parts?: MimePart[];
  /** The encapsulated message of a message/rfc822 or message/global entity. */
  message?: MimePart;
  /** ENVELOPE fields; present on the root entity of every message (top level and encapsulated). */
  envelope?: Envelope;
  /**
   * The parser's limits (100 levels of nesting, 10,000 parts) stopped it from
   * looking inside this multipart or message part; IMAP shows it as
   * application/octet-stream, as Dovecot does.
   */
  truncated?: true;
}

export interface MessageStructure {
  /** Format version of this object. */
  v: 1;
  /** Octets in the message file: RFC822.SIZE. */
  size: number;
  /**
   * The message contains NUL octets somewhere. IMAP literals may not carry NUL
   * (RFC 3501 §4.3, RFC 9051 §4.3), so FETCH sends each as 0x80, as Dovecot
   * does; the octet count is unchanged. See replaceNul().
   */
  nul?: true;
  /** The References header, unfolded, for THREAD=REFERENCES (RFC 5256 §2.2). */
  references?: string;
  /** The message itself. */
  root: MimePart;
}

/** A value in IMAP's data model, for the protocol library to write: a string, a number, NIL (null) or a parenthesised list. */
export type ImapValue = string | number | null | ImapValue[];
