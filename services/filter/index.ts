// services/filter: the content filter. One ordered list of stages, each a
// plain async function `(input, verdict) => Promise<void>`, run at DATA once
// the body is durable and before it is committed; a stage reads what it needs
// from the input (client, envelope, the stored file) and adds to the verdict.
// SMTP turns the verdict into a refusal or into header lines in front of the
// stored message. See README.md.

import type { MessageStructure } from '../mime/index.ts';
import type { SpfOutcome } from './authentication.ts';

export interface FilterInput {
  /** The client's IP address (an IPv4-mapped IPv6 address is given as IPv4). */
  clientAddress: string;
  /** The name the client gave in EHLO/HELO. */
  helo: string;
  /** MAIL FROM ('' for the null sender) and the accepted RCPT TO addresses. */
  sender: string;
  recipients: readonly string[];
  /** The logged-in user (submission), or undefined for mail from outside (port 25). */
  user: string | undefined;
  /** This server's name: the authserv-id of our Authentication-Results. */
  hostname: string;
  /** The stored body file (absolute path) and where the message as the client sent it begins (after our trace lines). */
  path: string;
  messageStart: number;
  structure: MessageStructure;
  /** The SPF result taken at MAIL FROM, if any. */
  spf?: SpfOutcome | undefined;
}

export interface FilterVerdict {
  /** resinfo parts of our Authentication-Results (RFC 8601 §2.2), such as `spf=pass smtp.mailfrom=a.example`. */
  authResults: string[];
  /** Whole header lines (CRLF-terminated, folded as needed) to add at the top. */
  addHeaders: string[];
  /** Byte ranges [start, end) of the stored file to remove (whole header fields). */
  removeRanges: [number, number][];
  score: number;
  rules: string[];
  /** Set by a stage that refuses the message: the reply the client gets. */
  refusal?: { code: number; enhanced: string; text: string } | undefined;
}

export type FilterStage = (input: FilterInput, verdict: FilterVerdict) => Promise<void>;

export function emptyVerdict(): FilterVerdict {
  return { authResults: [], addHeaders: [], removeRanges: [], score: 0, rules: [] };
}

/**
 * Runs the stages in order; stops at the first refusal. A stage that throws
 * (a bug, a message it cannot parse) is reported to `onError` and skipped, with
 * the rule `STAGE_ERROR`: the message is delivered, never lost or retried for ever.
 */
export async function runStages(stages: readonly FilterStage[], input: FilterInput, onError: (error: unknown, stage: FilterStage) => void = () => {}): Promise<FilterVerdict> {
  const verdict = emptyVerdict();
  for (const stage of stages) {
    try {
      await stage(input, verdict);
    } catch (error) {
      onError(error, stage);
      verdict.rules.push('STAGE_ERROR');
      continue;
    }
    if (verdict.refusal) break;
  }
  return verdict;
}

/** The header lines a verdict adds, in front of the message: our Authentication-Results first (RFC 8601 §2.2). */
export function verdictHeaders(verdict: FilterVerdict, hostname: string): Buffer {
  const lines: string[] = [];
  if (verdict.authResults.length) lines.push(`Authentication-Results: ${hostname};\r\n\t${verdict.authResults.join(';\r\n\t')}\r\n`);
  lines.push(...verdict.addHeaders);
  return Buffer.from(lines.join(''), 'utf8');
}
