// The first-boot wizard's routes (setup.ts holds the state machine):
// GET /api/setup, POST/GET /api/setup/claim, POST /api/setup/admin-password,
// PUT /api/setup/identity, POST /api/setup/complete.
// In state complete every route but GET /api/setup answers 409 setup-complete
// (the router checks setupStates before anything else).

import { parseSetting } from '../../config/index.ts';
import { isUserError } from '../../core/errors.ts';
import { reloadAfterAnswer } from '../reload.ts';
import { answer, ApiError, bodyObject, optionalStringField, stringField, type ApiRequest, type Route } from '../router.ts';
import { clearCookie, readCookie, setCookie } from '../sessions.ts';
import { claimCookie } from '../setup.ts';
import type { WebContext } from '../context.ts';

const claimable = ['unclaimed', 'claimed'] as const;
const wizard = ['claimed'] as const;

/** The host name as stored (the wizard may have changed it since the start), else the one in effect. */
export function currentHostname(context: WebContext): string {
  const stored = context.store.settings.get('hostname');
  return typeof stored === 'string' && stored !== '' ? stored : context.config.hostname;
}

/** The `hostname` field checked as the setting would be (400 with field hostname), lower-cased. */
export function hostnameField(body: Record<string, unknown>): string {
  const hostname = stringField(body, 'hostname', { maxLength: 253 }).trim().toLowerCase();
  try {
    return parseSetting('hostname', hostname) as string;
  } catch (error) {
    if (isUserError(error)) throw new ApiError(400, 'bad-hostname', error.message, 'hostname');
    throw error;
  }
}

/**
 * Stores the host name; when it differs from the one in effect, the services
 * reload after the answer (certificate, banners, greetings). True when they do.
 */
export function storeHostname(request: ApiRequest, context: WebContext, hostname: string): boolean {
  context.store.settings.set('hostname', hostname);
  if (hostname === context.config.hostname) return false;
  return reloadAfterAnswer(request, context, `hostname changed to ${hostname}`);
}

export const setupRoutes: Route[] = [
  {
    method: 'GET',
    path: '/api/setup',
    access: 'public',
    handle(request, context) {
      const { sha256, names, validTo } = context.tls;
      return context.setup.describe(request.session, readCookie(request.headers, claimCookie), currentHostname(context), { sha256, names, validTo });
    },
  },
  {
    method: 'POST',
    path: '/api/setup/claim',
    access: 'public',
    setupStates: claimable,
    handle(request, context) {
      const body = bodyObject(request.body);
      const code = optionalStringField(body, 'code', { maxLength: 64 });
      if (code !== undefined) {
        const made = context.setup.claimByCode(code, request.client);
        return answer(200, { claimed: true, csrfToken: made.session.csrfToken }, { 'set-cookie': [made.cookie, clearCookie(claimCookie)] });
      }
      if (body.method === 'button') {
        const waiting = context.setup.waitForButton(request.client);
        const seconds = Math.ceil((waiting.expiresAt - Date.now()) / 1000);
        return answer(202, { waiting: true, expiresAt: new Date(waiting.expiresAt).toISOString() }, { 'set-cookie': setCookie(claimCookie, waiting.id, seconds) });
      }
      throw new ApiError(400, 'bad-request', 'give the setup code as {"code": "XXXX-XXXX"}, or {"method": "button"} to claim with the box\'s button', 'code');
    },
  },
  {
    method: 'GET',
    path: '/api/setup/claim',
    access: 'public',
    setupStates: claimable,
    handle(request, context) {
      const result = context.setup.poll(readCookie(request.headers, claimCookie));
      switch (result.kind) {
        case 'waiting':
          return answer(202, { waiting: true, expiresAt: new Date(result.expiresAt).toISOString() });
        case 'claimed':
          return answer(200, { claimed: true, csrfToken: result.session.csrfToken }, { 'set-cookie': [result.cookie, clearCookie(claimCookie)] });
        case 'expired':
          throw new ApiError(410, 'expired', 'nobody pressed the button in time; start again and press the button on the box when asked', undefined, { 'set-cookie': clearCookie(claimCookie) });
        case 'contested':
          throw new ApiError(409, 'contested', 'more than one browser was waiting for the button, so none was let in; close the other setup pages and try again, or use the setup code', undefined, { 'set-cookie': clearCookie(claimCookie) });
        default:
          throw new ApiError(404, 'not-waiting', 'this browser is not waiting for the button; start the claim again');
      }
    },
  },
  {
    method: 'POST',
    path: '/api/setup/admin-password',
    access: 'admin',
    setupStates: wizard,
    async handle(request, context) {
      const password = stringField(bodyObject(request.body), 'password', { maxLength: 1024 });
      try {
        await context.store.admin.setPassword(password);
      } catch (error) {
        if (isUserError(error)) throw new ApiError(400, 'weak-password', error.message, 'password');
        throw error;
      }
      context.logger.info('admin password set', { cid: request.cid, by: 'setup' });
      return { adminPassword: true };
    },
  },
  {
    method: 'PUT',
    path: '/api/setup/identity',
    access: 'admin',
    setupStates: wizard,
    handle(request, context) {
      const body = bodyObject(request.body);
      const hostname = hostnameField(body);
      const domain = stringField(body, 'domain', { maxLength: 253 }).trim();
      let added: string;
      try {
        added = (context.store.domains.find(domain) ?? context.store.domains.add(domain)).name;
      } catch (error) {
        if (isUserError(error)) throw new ApiError(400, 'bad-domain', error.message, 'domain');
        throw error;
      }
      // Stored after the domain, so that a refused domain changes nothing.
      const reloading = storeHostname(request, context, hostname);
      context.logger.info('setup identity', { cid: request.cid, hostname, domain: added, reloading });
      // Reloading: the web service stops once this answer is out; the UI polls GET /api/setup until it answers, with the new certificate.
      return { hostname, domain: added, reloading, ...(reloading || hostname === context.config.hostname ? {} : { restartNeeded: true }) };
    },
  },
  {
    method: 'POST',
    path: '/api/setup/complete',
    access: 'admin',
    setupStates: wizard,
    handle(_request, context) {
      context.setup.complete('web');
      return { state: 'complete' };
    },
  },
];
