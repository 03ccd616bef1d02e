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

/**
 * The exit status of `mailnest serve` when it refuses to start for a reason a
 * restart cannot mend (a bad setting, a port in use or not allowed, a database
 * newer than this Mailnest, a data folder another Mailnest holds): 78,
 * EX_CONFIG of sysexits(3). The message is in <data>/run/start-error.json too
 * (start-error.ts). The firmware supervisor does not restart on it: it shows
 * the "cannot-start" LED pattern and waits for a change (firmware/README.md).
 */
export const startRefusedExitStatus = 78;
