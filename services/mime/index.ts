// services/mime: the message structure computed once at delivery, and what
// IMAP and SEARCH derive from it. See README.md.

export type { Address, Envelope, ImapValue, MessageStructure, MimePart, Param } from './types.ts';
export { MessageScanner, parseMessage } from './scanner.ts';
export { bodyStructureToImap, envelopeToImap, type BodyStructureOptions } from './imap.ts';
export {
  filterHeaderFields,
  findPart,
  parseSectionSpec,
  partialRange,
  replaceNul,
  resolveSection,
  type SectionData,
  type SectionHeaderFields,
  type SectionRange,
  type SectionSpec,
  type SectionText,
} from './section.ts';
export { charsetLabel, decodeCharset, decodeHeaderValue, decodeParams, decodeRfc2231Value } from './decode.ts';
export { BodyTextExtractor, extractText, foldForSearch, TextMatcher, type BodyTextOptions, type TextPiece } from './body-text.ts';
export { addressSortKey, baseSubject, displaySortKey, isReplyOrForward, parseMessageIds, parseSentDate, summarize, type MessageSummary } from './sort.ts';
