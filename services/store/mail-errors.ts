// Errors of mailbox and message operations, with a kind that protocol
// services map to their own codes (IMAP RFC 5530 response codes, POP3 -ERR,
// SMTP 4xx/5xx). The message is for a person.

import { UserError } from '../core/errors.ts';

export type MailErrorKind = 'nonexistent' | 'exists' | 'noselect' | 'cannot' | 'overquota' | 'useattr' | 'toobig';

export class MailError extends UserError {
  constructor(
    readonly kind: MailErrorKind,
    message: string,
  ) {
    super(message);
    this.name = 'MailError';
  }
}
