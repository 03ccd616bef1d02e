// Admin: the mail domains. GET/POST /api/admin/domains,
// DELETE /api/admin/domains/:name, GET /api/admin/domains/:name/dns (the
// answer of `mailnest domain dns --json`).

import { hostnameAdvice } from '../../config/index.ts';
import { domainRecords, ensureDomainKeys } from '../../dkim/index.ts';
import type { Domain } from '../../store/index.ts';
import type { WebContext } from '../context.ts';
import { ApiError, bodyObject, paging, stringField, type Route } from '../router.ts';
import { pageJson, withField } from './items.ts';
import { currentHostname } from './setup.ts';

function domainItem(domain: Domain) {
  return { name: domain.name, displayName: domain.displayName, users: domain.users, aliases: domain.aliases, createdAt: domain.createdAt.toISOString() };
}

function findDomain(context: WebContext, name: string): Domain {
  const domain = context.store.domains.find(name);
  if (!domain) throw new ApiError(404, 'not-found', `there is no domain ${name.slice(0, 253)}`);
  return domain;
}

export const domainRoutes: Route[] = [
  {
    method: 'GET',
    path: '/api/admin/domains',
    access: 'admin',
    handle(request, context) {
      return pageJson(context.store.domains.page(paging(request.query)), domainItem);
    },
  },
  {
    method: 'POST',
    path: '/api/admin/domains',
    access: 'admin',
    async handle(request, context) {
      const name = stringField(bodyObject(request.body), 'name', { maxLength: 253 });
      const domain = await withField('name', () => context.store.domains.add(name));
      ensureDomainKeys(context.store.paths.dkim, domain.name);
      context.logger.info('domain added', { cid: request.cid, domain: domain.name });
      return { domain: domainItem(domain) };
    },
  },
  {
    method: 'DELETE',
    path: '/api/admin/domains/:name',
    access: 'admin',
    handle(request, context) {
      const domain = findDomain(context, request.params.name!);
      if (domain.users > 0) {
        throw new ApiError(409, 'domain-has-mailboxes', `the domain ${domain.name} still has ${domain.users} mailbox${domain.users === 1 ? '' : 'es'}; remove them first`);
      }
      const { aliasesRemoved } = context.store.domains.remove(domain.name);
      context.logger.info('domain removed', { cid: request.cid, domain: domain.name });
      return { removed: domain.name, aliasesRemoved };
    },
  },
  {
    method: 'GET',
    path: '/api/admin/domains/:name/dns',
    access: 'admin',
    handle(request, context) {
      const domain = findDomain(context, request.params.name!);
      const hostname = currentHostname(context);
      const records = domainRecords(domain.name, hostname, ensureDomainKeys(context.store.paths.dkim, domain.name));
      const warnings = [hostnameAdvice(hostname, [domain.name])?.message].filter((w): w is string => w !== undefined);
      return { domain: domain.name, hostname, warnings, records };
    },
  },
];
