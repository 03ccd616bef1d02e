// The administrator's own settings: POST /api/admin/password (the admin
// password, knowing the current one) and GET/PUT /api/admin/identity (the
// box's host name once the wizard is over; the wizard has
// PUT /api/setup/identity).
//
// A wrong current password is slowed and recorded like a failed sign-in
// (service `web`, the keys of api/session.ts: the client address and the
// name `admin`), so this form is no faster way to guess than the login.
// A changed host name is stored, marked for the supervisor, and applied by an
// in-process reload once the answer is out (reload.ts).

import { isUserError } from '../../core/errors.ts';
import { ApiError, bodyObject, stringField, type Route } from '../router.ts';
import { passwordAttempt } from '../password-attempt.ts';
import type { WebContext } from '../context.ts';
import { currentHostname, hostnameField, storeHostname } from './setup.ts';

function identityJson(context: WebContext) {
  const { sha256, names, validTo } = context.tls;
  return { hostname: currentHostname(context), inEffect: context.config.hostname, certificate: { sha256, names, validTo } };
}

export const adminAccountRoutes: Route[] = [
  {
    method: 'POST',
    path: '/api/admin/password',
    access: 'admin',
    async handle(request, context) {
      const body = bodyObject(request.body);
      const current = stringField(body, 'current', { maxLength: 1024 });
      const password = stringField(body, 'password', { maxLength: 1024 });
      if (!context.store.admin.isSet()) throw new ApiError(409, 'no-admin-password', 'no admin password is set yet; set one in the setup wizard (its admin password step)');
      const who = { name: 'admin', username: 'admin', reason: 'bad-password', slowDown: 'too many wrong passwords' };
      if (!(await passwordAttempt(request, context, who, async () => (await context.store.admin.verify(current)) || undefined))) {
        context.logger.warn('admin password change refused: wrong current password', { cid: request.cid, client: request.client });
        throw new ApiError(403, 'bad-password', 'the current admin password is wrong; type the password you sign in with now', 'current');
      }
      if (password === current) throw new ApiError(400, 'bad-request', 'the new password is the one you have now; choose another', 'password');
      try {
        await context.store.admin.setPassword(password);
      } catch (error) {
        if (isUserError(error)) throw new ApiError(400, 'weak-password', error.message, 'password');
        throw error;
      }
      // Browsers signed in with the old password are signed out; this one stays.
      const ended = context.sessions.endAllOf('admin', 'admin', request.session);
      context.logger.info('admin password changed', { cid: request.cid, client: request.client, sessionsEnded: ended });
      return { changed: true, sessionsEnded: ended };
    },
  },
  {
    method: 'GET',
    path: '/api/admin/identity',
    access: 'admin',
    handle(_request, context) {
      return identityJson(context);
    },
  },
  {
    method: 'PUT',
    path: '/api/admin/identity',
    access: 'admin',
    handle(request, context) {
      const hostname = hostnameField(bodyObject(request.body));
      const reloading = storeHostname(request, context, hostname);
      context.logger.info('hostname changed', { cid: request.cid, hostname, reloading });
      return { hostname, reloading, ...(reloading || hostname === context.config.hostname ? {} : { restartNeeded: true }) };
    },
  },
];
