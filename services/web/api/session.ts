// Signing in and out: POST/GET/DELETE /api/session.
// `admin` with the admin password is the administrator (only once the setup is
// complete; during setup the claiming browser holds the admin session); a mail
// address with its password is a mail user.
//
// Failed logins are slowed (a growing delay per client address and per name,
// throttle.ts: 429 with Retry-After while it lasts) and each is an auth event
// (service `web`) for the ban service.

import { answer, ApiError, bodyObject, stringField, type Route, type WebSession } from '../router.ts';
import { passwordAttempt } from '../password-attempt.ts';

export function sessionUser(session: WebSession): { name: string; role: WebSession['role']; setup?: boolean } {
  return { name: session.subject, role: session.role, ...(session.setup ? { setup: true } : {}) };
}

export const sessionRoutes: Route[] = [
  {
    method: 'POST',
    path: '/api/session',
    access: 'public',
    async handle(request, context) {
      const body = bodyObject(request.body);
      const username = stringField(body, 'username', { maxLength: 320 }).trim();
      const password = stringField(body, 'password', { maxLength: 1024 });
      const made = await passwordAttempt(request, context, { name: username.toLowerCase(), username, reason: 'bad-login', slowDown: 'too many failed sign-ins' }, async () => {
        if (username.toLowerCase() === 'admin') {
          if (context.setup.state !== 'complete') throw new ApiError(409, 'setup-not-complete', 'the setup is not complete: claim the box and finish the setup wizard first (open /setup)');
          return (await context.store.admin.verify(password)) ? context.sessions.create('admin', 'admin') : undefined;
        }
        const account = await context.store.accounts.authenticate(username, password);
        return account ? context.sessions.create('user', account.address) : undefined;
      });
      if (!made) {
        context.logger.warn('sign-in failed', { cid: request.cid, client: request.client, user: username.slice(0, 100) });
        throw new ApiError(401, 'bad-login', 'the user name or the password is wrong; the administrator signs in as "admin", everyone else with their mail address');
      }
      if (request.session) context.sessions.end(request.session);
      context.logger.info('signed in', { cid: request.cid, client: request.client, role: made.session.role, user: made.session.subject });
      return answer(200, { user: sessionUser(made.session), csrfToken: made.session.csrfToken }, { 'set-cookie': made.cookie });
    },
  },
  {
    method: 'GET',
    path: '/api/session',
    access: 'signed-in',
    handle(request) {
      const session = request.session!;
      return { user: sessionUser(session), csrfToken: session.csrfToken };
    },
  },
  {
    method: 'DELETE',
    path: '/api/session',
    access: 'signed-in',
    handle(request, context) {
      return answer(200, { signedOut: true }, { 'set-cookie': context.sessions.end(request.session) });
    },
  },
];
