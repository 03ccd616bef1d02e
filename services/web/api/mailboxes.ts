// Admin: mailboxes. GET/POST /api/admin/mailboxes, PATCH and DELETE
// /api/admin/mailboxes/:address, POST .../:address/password (a reset),
// GET/PUT .../:address/forwarding.
//
// A mailbox made or reset without a password gets a generated one
// (new-password.ts), returned in that one answer and never again. Disabling a
// mailbox, resetting its password or removing it ends its web sessions, so
// the change takes effect on the web at once as it does for IMAP logins.

import { ApiError, bodyObject, booleanField, integerField, optionalStringField, paging, stringField, type Route } from '../router.ts';
import { generatePassword } from '../new-password.ts';
import { clientSettingsFor, findMailbox, forwardingBody, mailboxItem, pageJson, withField } from './items.ts';

const maxPasswordLength = 1024;

export const mailboxRoutes: Route[] = [
  {
    method: 'GET',
    path: '/api/admin/mailboxes',
    access: 'admin',
    async handle(request, context) {
      const domain = request.query.get('domain') || undefined;
      const page = await withField('domain', () => context.store.accounts.page({ ...paging(request.query), domain }));
      return pageJson(page, (account) => mailboxItem(account));
    },
  },
  {
    method: 'POST',
    path: '/api/admin/mailboxes',
    access: 'admin',
    async handle(request, context) {
      const body = bodyObject(request.body);
      const address = stringField(body, 'address', { maxLength: 320 });
      const displayName = optionalStringField(body, 'displayName', { maxLength: 200 }) ?? '';
      const given = optionalStringField(body, 'password', { maxLength: maxPasswordLength });
      const quotaBytes = integerField(body, 'quotaBytes') ?? 0;
      // The address is checked before a password is made, so a typo says so.
      const checked = await withField('address', () => context.store.accounts.checkNewAddress(address));
      const password = given ?? (await generatePassword(checked.address));
      const account = await withField(given === undefined ? 'address' : 'password', () => context.store.accounts.add({ address, password, displayName, quotaBytes }));
      context.logger.info('mailbox added', { cid: request.cid, address: account.address });
      return { mailbox: mailboxItem(account, 0), ...(given === undefined ? { password } : {}), client: clientSettingsFor(context, account.address) };
    },
  },
  {
    method: 'PATCH',
    path: '/api/admin/mailboxes/:address',
    access: 'admin',
    async handle(request, context) {
      const { account } = findMailbox(context, request.params.address!);
      const body = bodyObject(request.body);
      const quotaBytes = integerField(body, 'quotaBytes');
      const enabled = booleanField(body, 'enabled');
      const displayName = body.displayName === undefined ? undefined : typeof body.displayName === 'string' ? body.displayName : undefined;
      if (body.displayName !== undefined && displayName === undefined) throw new ApiError(400, 'bad-request', 'displayName must be a string', 'displayName');
      if (quotaBytes === undefined && enabled === undefined && displayName === undefined) {
        throw new ApiError(400, 'bad-request', 'give what to change: quotaBytes, enabled or displayName');
      }
      if (quotaBytes !== undefined) await withField('quotaBytes', () => context.store.accounts.setQuota(account.address, quotaBytes));
      if (displayName !== undefined) await withField('displayName', () => context.store.accounts.setDisplayName(account.address, displayName));
      if (enabled !== undefined) {
        context.store.accounts.setEnabled(account.address, enabled);
        if (!enabled) context.sessions.endAllOf('user', account.address);
      }
      context.logger.info('mailbox changed', { cid: request.cid, address: account.address, ...(quotaBytes !== undefined ? { quotaBytes } : {}), ...(enabled !== undefined ? { enabled } : {}) });
      return { mailbox: findMailbox(context, account.address).item };
    },
  },
  {
    method: 'DELETE',
    path: '/api/admin/mailboxes/:address',
    access: 'admin',
    handle(request, context) {
      const { account } = findMailbox(context, request.params.address!);
      context.store.accounts.remove(account.address);
      context.sessions.endAllOf('user', account.address);
      context.logger.info('mailbox removed', { cid: request.cid, address: account.address });
      return { removed: account.address };
    },
  },
  {
    method: 'POST',
    path: '/api/admin/mailboxes/:address/password',
    access: 'admin',
    async handle(request, context) {
      const { account } = findMailbox(context, request.params.address!);
      const given = request.body === undefined ? undefined : optionalStringField(bodyObject(request.body), 'password', { maxLength: maxPasswordLength });
      const password = given ?? (await generatePassword(account.address));
      await withField('password', () => context.store.accounts.setPassword(account.address, password));
      context.sessions.endAllOf('user', account.address);
      context.logger.info('mailbox password reset', { cid: request.cid, address: account.address, generated: given === undefined });
      return given === undefined ? { password } : {};
    },
  },
  {
    method: 'GET',
    path: '/api/admin/mailboxes/:address/forwarding',
    access: 'admin',
    handle(request, context) {
      const { account } = findMailbox(context, request.params.address!);
      return context.store.forwards.get(account.address);
    },
  },
  {
    method: 'PUT',
    path: '/api/admin/mailboxes/:address/forwarding',
    access: 'admin',
    async handle(request, context) {
      const { account } = findMailbox(context, request.params.address!);
      const { to, keepCopy } = forwardingBody(request.body);
      const forwarding = await withField('to', () => context.store.forwards.set(account.address, { to, keepCopy }));
      context.logger.info('forwarding changed', { cid: request.cid, address: account.address, to: forwarding.to.join(','), keepCopy: forwarding.keepCopy });
      return forwarding;
    },
  },
];
