// LOGIN (RFC 3501 §6.2.3). Refused on connections that are not secure
// (LOGINDISABLED is advertised there): the password must not cross in clear.
// Failures are delayed, counted and reported by the session (loginFailed).

import { no } from '../errors.ts';
import { defineCommand } from './types.ts';

export const loginCommand = defineCommand({
  name: 'LOGIN',
  states: ['not-authenticated'],
  parse(args) {
    const username = args.astring('user name');
    const password = args.astring('password');
    args.end();
    return { username, password };
  },
  async run(session, { username, password }, { tag }) {
    if (!session.secure) throw no('LOGIN is disabled before TLS; use STARTTLS first', 'PRIVACYREQUIRED');
    return authenticate(session, tag, 'LOGIN', username, password, undefined);
  },
});

/** Asks the backend, and finishes the login or the failure. Shared by LOGIN and AUTHENTICATE PLAIN. */
export async function authenticate(
  session: import('../session/session.ts').Session,
  tag: string,
  mechanism: 'LOGIN' | 'PLAIN',
  username: string,
  password: string,
  authorizationId: string | undefined,
): Promise<import('./types.ts').CommandResult> {
  const result = await session.backend.authenticate({
    mechanism,
    username,
    password,
    authorizationId,
    sessionId: session.id,
    remoteAddress: session.remoteAddress,
    secure: session.secure,
  });
  if (result.ok) {
    await session.loggedIn(result.user, username, mechanism);
    return { code: `CAPABILITY ${session.capabilities().join(' ')}`, text: 'Logged in' };
  }
  if (result.reason === 'unavailable') return { status: 'NO', code: 'UNAVAILABLE', text: 'Login is not possible right now; try again later' };
  return session.loginFailed(tag, username, mechanism);
}
