// Self-service for a mail user: GET /api/me, POST /api/me/password,
// PUT /api/me/forwarding. The router admits only role `user`; here every
// route acts on the session's own address and nothing else: no route takes an
// address from the request, so a user cannot name another user's data.
//
// A session whose mailbox was removed or disabled meanwhile is ended (403):
// the mailbox's owner lost the right to sign in. A wrong current password
// is slowed and recorded like a failed sign-in (service `web`), so this form
// is no faster way to guess a password than the login.

import type { Account } from '../../store/index.ts';
import type { WebContext } from '../context.ts';
import { ApiError, bodyObject, stringField, type ApiRequest, type Route } from '../router.ts';
import { passwordAttempt } from '../password-attempt.ts';
import { clientSettingsFor, forwardingBody, withField } from './items.ts';

/** The signed-in user's own mailbox; anything else ends the session. */
function ownMailbox(request: ApiRequest, context: WebContext): Account {
  const session = request.session!;
  const account = session.role === 'user' ? context.store.accounts.find(session.subject) : undefined;
  if (!account || !account.enabled) {
    context.sessions.end(session);
    throw new ApiError(403, 'mailbox-unavailable', 'this mailbox was removed or disabled; ask the administrator of the box');
  }
  return account;
}

function meJson(context: WebContext, account: Account) {
  const usage = context.store.mail.usage(account.id);
  return {
    address: account.address,
    displayName: account.displayName,
    quota: { usedBytes: usage.usedBytes, limitBytes: usage.quotaBytes },
    forwarding: context.store.forwards.get(account.address),
    client: clientSettingsFor(context, account.address),
  };
}

export const meRoutes: Route[] = [
  {
    method: 'GET',
    path: '/api/me',
    access: 'user',
    handle(request, context) {
      return meJson(context, ownMailbox(request, context));
    },
  },
  {
    method: 'POST',
    path: '/api/me/password',
    access: 'user',
    async handle(request, context) {
      const account = ownMailbox(request, context);
      const body = bodyObject(request.body);
      const current = stringField(body, 'current', { maxLength: 1024 });
      const password = stringField(body, 'password', { maxLength: 1024 });
      const who = { name: account.address, username: account.address, reason: 'bad-password', slowDown: 'too many wrong passwords' };
      if (!(await passwordAttempt(request, context, who, () => context.store.accounts.authenticate(account.address, current)))) {
        context.logger.warn('password change refused: wrong current password', { cid: request.cid, client: request.client, user: account.address });
        throw new ApiError(403, 'bad-password', 'the current password is wrong; type the password you sign in with now', 'current');
      }
      if (password === current) throw new ApiError(400, 'bad-request', 'the new password is the one you have now; choose another', 'password');
      await withField('password', () => context.store.accounts.setPassword(account.address, password));
      // Other browsers signed in with the old password are signed out; this one stays.
      context.sessions.endAllOf('user', account.address, request.session);
      context.logger.info('password changed', { cid: request.cid, user: account.address });
      return { changed: true };
    },
  },
  {
    method: 'PUT',
    path: '/api/me/forwarding',
    access: 'user',
    async handle(request, context) {
      const account = ownMailbox(request, context);
      const { to, keepCopy } = forwardingBody(request.body);
      const forwarding = await withField('to', () => context.store.forwards.set(account.address, { to, keepCopy }));
      context.logger.info('forwarding changed', { cid: request.cid, user: account.address, to: forwarding.to.join(','), keepCopy: forwarding.keepCopy });
      return forwarding;
    },
  },
];
