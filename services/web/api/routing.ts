// Admin: where outside mail goes. GET/PUT/DELETE /api/admin/relay (the
// smarthost; PUT `{ host, port, security, username?, password?, verify? }`),
// GET /api/admin/relay/presets, GET /api/admin/transports,
// PUT/DELETE /api/admin/transports/:domain (`{ destination: 'host:port' }`).
// The queue reads both tables at every attempt, so a change applies to the
// next one; neither is a setting (no markSettingsChanged).
//
// Invariant: the relay password is never in an answer (only whether one is
// set, or why it cannot be read). A PUT with the same user name and no
// password keeps the stored one, so that the host can be edited without
// typing it again.

import { normalizeDomain, parseHostPort, type Relay, type RelaySecurity } from '../../store/index.ts';
import { relayPresets } from '../relay-presets.ts';
import { ApiError, bodyObject, booleanField, integerField, optionalStringField, paging, stringField, type Route } from '../router.ts';
import { pageOfList, withField } from './items.ts';

function relayJson(relay: Relay | undefined) {
  if (!relay) return { relay: null };
  return {
    relay: {
      host: relay.host,
      port: relay.port,
      security: relay.security,
      username: relay.username,
      verify: relay.verify,
      passwordSet: relay.password !== null || relay.passwordProblem !== undefined,
      ...(relay.passwordProblem ? { passwordProblem: relay.passwordProblem } : {}),
    },
  };
}

export const routingRoutes: Route[] = [
  {
    method: 'GET',
    path: '/api/admin/relay',
    access: 'admin',
    handle(_request, context) {
      return relayJson(context.store.relay.get());
    },
  },
  {
    method: 'PUT',
    path: '/api/admin/relay',
    access: 'admin',
    async handle(request, context) {
      const body = bodyObject(request.body);
      const hostText = stringField(body, 'host', { maxLength: 253 }).trim();
      const security = body.security;
      if (security !== 'tls' && security !== 'starttls') throw new ApiError(400, 'bad-request', 'security must be "tls" (implicit TLS, usually port 465) or "starttls" (usually port 587)', 'security');
      const port = integerField(body, 'port', 1, 65535) ?? (security === 'tls' ? 465 : 587);
      const { host } = await withField('host', () => parseHostPort(hostText.includes(':') && !hostText.startsWith('[') ? `[${hostText}]:${port}` : `${hostText}:${port}`));
      const username = optionalStringField(body, 'username', { maxLength: 320 })?.trim() || null;
      let password = optionalStringField(body, 'password', { maxLength: 1024 }) ?? null;
      if (password !== null && username === null) throw new ApiError(400, 'bad-request', 'a relay password needs a user name', 'username');
      if (username !== null && password === null) {
        const stored = context.store.relay.get();
        if (stored?.username === username && stored.password !== null) password = stored.password;
        else throw new ApiError(400, 'bad-request', `give the password for ${username} (for most providers an app password)`, 'password');
      }
      const relay: Relay = { host, port, security: security as RelaySecurity, username, password, verify: booleanField(body, 'verify') ?? true };
      context.store.relay.set(relay);
      context.queue.kick();
      context.logger.info('relay set', { cid: request.cid, host, port, security, login: username ?? '-' });
      return relayJson(context.store.relay.get());
    },
  },
  {
    method: 'DELETE',
    path: '/api/admin/relay',
    access: 'admin',
    handle(request, context) {
      const removed = context.store.relay.clear();
      if (removed) context.logger.info('relay removed', { cid: request.cid });
      context.queue.kick();
      return { removed };
    },
  },
  {
    method: 'GET',
    path: '/api/admin/relay/presets',
    access: 'admin',
    handle() {
      return { presets: relayPresets };
    },
  },
  {
    method: 'GET',
    path: '/api/admin/transports',
    access: 'admin',
    handle(request, context) {
      return pageOfList(context.store.transports.list(), paging(request.query), (t) => `${t.domain} ${t.host}:${t.port}`);
    },
  },
  {
    method: 'PUT',
    path: '/api/admin/transports/:domain',
    access: 'admin',
    async handle(request, context) {
      const destination = stringField(bodyObject(request.body), 'destination', { maxLength: 300 });
      const transport = await withField('destination', () => context.store.transports.set(request.params.domain!, destination));
      context.queue.kick();
      context.logger.info('transport set', { cid: request.cid, domain: transport.domain, host: transport.host, port: transport.port });
      return { transport };
    },
  },
  {
    method: 'DELETE',
    path: '/api/admin/transports/:domain',
    access: 'admin',
    async handle(request, context) {
      const domain = await withField('domain', () => normalizeDomain(request.params.domain!));
      if (!context.store.transports.find(domain)) throw new ApiError(404, 'not-found', `there is no transport for ${domain}`);
      context.store.transports.remove(domain);
      context.logger.info('transport removed', { cid: request.cid, domain });
      return { removed: domain };
    },
  },
];
