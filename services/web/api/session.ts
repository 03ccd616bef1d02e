// Signing in and out: POST/GET/DELETE /api/session.
// `admin` with the admin password is the administrator (only once the setup is
// complete; during setup the claiming browser holds the admin session); a mail
// address with its password is a mail user.
//
// Failed logins are slowed (a growing delay per client address and per name,
// throttle.ts: 429 with Retry-After while it lasts) and each is an auth event
// (service `web`) for the ban service.

import { addressKey } from '../../core/connection-limits.ts';
import { answer, ApiError, bodyObject, stringField, type Route, type WebSession } from '../router.ts';
import { slowDown } from '../setup.ts';

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
      const keys = [`client:${addressKey(request.client)}`, `name:${username.toLowerCase()}`];
      const wait = context.loginThrottle.waitMsAny(keys);
      if (wait > 0) throw slowDown(wait, 'too many failed sign-ins');
      let made: { session: WebSession; cookie: string } | undefined;
      if (username.toLowerCase() === 'admin') {
        if (context.setup.state !== 'complete') throw new ApiError(409, 'setup-not-complete', 'the setup is not complete: claim the box and finish the setup wizard first (open /setup)');
        if (await context.store.admin.verify(password)) made = context.sessions.create('admin', 'admin');
      } else {
        const account = await context.store.accounts.authenticate(username, password);
        if (account) made = context.sessions.create('user', account.address);
      }
      if (!made) {
        for (const key of keys) context.loginThrottle.failed(key);
        context.authEvents.failed({ service: 'web', username, remoteAddress: request.client, reason: 'bad-login' });
        context.logger.warn('sign-in failed', { cid: request.cid, client: request.client, user: username.slice(0, 100) });
        throw new ApiError(401, 'bad-login', 'the user name or the password is wrong; the administrator signs in as "admin", everyone else with their mail address');
      }
      context.loginThrottle.succeeded(keys[1]!);
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
