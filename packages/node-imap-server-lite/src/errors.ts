// Errors that end a command with a tagged NO or BAD. Commands throw them from
// anywhere in their work; the session turns them into the tagged response.
// (Syntax errors are ParseError, answered BAD; backend failures are
// BackendError, answered NO with the matching response code.)

export class CommandError extends Error {
  constructor(
    readonly status: 'NO' | 'BAD',
    /** An RFC 5530 response code, without brackets. */
    readonly code: string | undefined,
    message: string,
  ) {
    super(message);
    this.name = 'CommandError';
  }
}

export function no(message: string, code?: string): CommandError {
  return new CommandError('NO', code, message);
}

export function bad(message: string, code?: string): CommandError {
  return new CommandError('BAD', code, message);
}
