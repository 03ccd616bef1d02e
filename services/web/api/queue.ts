// Admin: the outbound queue. GET /api/admin/queue (paged, searched by
// sender, recipient, subject or id), POST /api/admin/queue/:id/retry,
// POST /api/admin/queue/retry (all), DELETE /api/admin/queue/:id (gives up
// on that recipient without telling the sender, as `mailnest queue delete`).

import type { OutboundRow } from '../../store/index.ts';
import type { WebContext } from '../context.ts';
import { ApiError, paging, type Route } from '../router.ts';
import { pageJson } from './items.ts';

function iso(time: number | null): string | null {
  return time === null ? null : new Date(time).toISOString();
}

function queueItem(row: OutboundRow) {
  return {
    id: row.id,
    sender: row.sender,
    recipient: row.recipient,
    subject: row.subject,
    size: row.size,
    origin: row.origin,
    attempts: row.attempts,
    createdAt: iso(row.createdAt),
    nextAttemptAt: iso(row.nextAttemptAt),
    lastAttemptAt: iso(row.lastAttemptAt),
    lastError: row.lastError,
  };
}

function queueId(context: WebContext, text: string): number {
  const id = /^\d{1,15}$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(id)) throw new ApiError(400, 'bad-request', `"${text.slice(0, 40)}" is not a queue id`, 'id');
  try {
    context.store.outbound.get(id);
  } catch {
    throw new ApiError(404, 'not-found', `there is no queued message ${id}; it may have been sent or deleted meanwhile`);
  }
  return id;
}

export const queueRoutes: Route[] = [
  {
    method: 'GET',
    path: '/api/admin/queue',
    access: 'admin',
    handle(request, context) {
      return pageJson(context.store.outbound.page(paging(request.query)), queueItem);
    },
  },
  {
    method: 'POST',
    path: '/api/admin/queue/retry',
    access: 'admin',
    handle(request, context) {
      const retried = context.queue.retry();
      context.logger.info('queue retried', { cid: request.cid, rows: retried });
      return { retried };
    },
  },
  {
    method: 'POST',
    path: '/api/admin/queue/:id/retry',
    access: 'admin',
    handle(request, context) {
      const id = queueId(context, request.params.id!);
      const retried = context.queue.retry([id]);
      context.logger.info('queue retried', { cid: request.cid, id });
      return { retried };
    },
  },
  {
    method: 'DELETE',
    path: '/api/admin/queue/:id',
    access: 'admin',
    handle(request, context) {
      const id = queueId(context, request.params.id!);
      const removed = context.store.outbound.remove([id]);
      context.logger.info('queue row deleted', { cid: request.cid, id });
      return { removed };
    },
  },
];
