// Errors meant for a person: the message says what is wrong and, where it can,
// what to do. Anything else reaching the top of a command is a bug and is
// reported with its stack.

export class UserError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UserError';
  }
}

export function isUserError(error: unknown): error is UserError {
  return error instanceof UserError;
}
