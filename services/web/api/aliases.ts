// Admin: aliases. GET/POST /api/admin/aliases (POST `{ source, destinations }`
// adds destinations, making the alias when new), DELETE
// /api/admin/aliases/:source (`?destination=` removes only that one).
// The list answers the rows someone made; `builtIn` beside it names the role
// addresses (postmaster@, abuse@) that reach the owner without a row, on the
// first page only.

import { ApiError, bodyObject, paging, stringField, type Route } from '../router.ts';
import { pageJson, withField } from './items.ts';

export const aliasRoutes: Route[] = [
  {
    method: 'GET',
    path: '/api/admin/aliases',
    access: 'admin',
    handle(request, context) {
      const request_ = paging(request.query);
      const page = pageJson(context.store.aliases.page(request_), (alias) => alias);
      const query = request_.query.trim().toLowerCase();
      const builtIn =
        request_.offset === 0
          ? context.store.recipients
              .builtInAliases()
              .filter((alias) => query === '' || alias.source.includes(query) || alias.destinations.some((d) => d.includes(query)))
              .slice(0, request_.limit)
          : [];
      return { ...page, builtIn };
    },
  },
  {
    method: 'POST',
    path: '/api/admin/aliases',
    access: 'admin',
    handle(request, context) {
      const body = bodyObject(request.body);
      const source = stringField(body, 'source', { maxLength: 320 });
      const destinations = body.destinations;
      if (!Array.isArray(destinations) || destinations.length === 0 || destinations.length > 100 || destinations.some((d) => typeof d !== 'string')) {
        throw new ApiError(400, 'bad-request', 'destinations must be a list of one to 100 addresses', 'destinations');
      }
      // Its UserError (unknown domain, a destination that reaches nobody...) says which address is wrong.
      const { alias, added } = context.store.aliases.add(source, destinations as string[]);
      context.logger.info('alias changed', { cid: request.cid, source: alias.source, added: added.join(',') });
      return { alias, added };
    },
  },
  {
    method: 'DELETE',
    path: '/api/admin/aliases/:source',
    access: 'admin',
    async handle(request, context) {
      const source = request.params.source!;
      const destination = request.query.get('destination') ?? undefined;
      const alias = await withField('source', () => context.store.aliases.get(source));
      if (!alias) throw new ApiError(404, 'not-found', `there is no alias ${source.slice(0, 320)}`);
      const removed = await withField('destination', () => context.store.aliases.remove(alias.source, destination));
      context.logger.info('alias removed', { cid: request.cid, source: alias.source, ...(destination ? { destination } : {}) });
      return { removed };
    },
  },
];
