// What the admin and self-service routes share: the JSON of a list page, the
// mailbox item, finding a mailbox or answering 404, reading list parameters.

import { isUserError } from '../../core/errors.ts';
import type { Account, AccountUsage, Page } from '../../store/index.ts';
import { currentHostname } from './setup.ts';
import { clientSettings, type ClientSettings } from '../client-settings.ts';
import type { WebContext } from '../context.ts';
import { ApiError, bodyObject, booleanField } from '../router.ts';

export interface MailboxItem {
  address: string;
  displayName: string;
  domain: string;
  enabled: boolean;
  quotaBytes: number;
  usedBytes: number;
  createdAt: string;
}

export function mailboxItem(account: Account | AccountUsage, usedBytes = 'usedBytes' in account ? account.usedBytes : 0): MailboxItem {
  return {
    address: account.address,
    displayName: account.displayName,
    domain: account.domain,
    enabled: account.enabled,
    quotaBytes: account.quotaBytes,
    usedBytes,
    createdAt: account.createdAt.toISOString(),
  };
}

/** The mailbox with its bytes in use, or 404 naming it. */
export function findMailbox(context: WebContext, address: string): { account: Account; item: MailboxItem } {
  const account = context.store.accounts.find(address);
  if (!account) throw new ApiError(404, 'not-found', `there is no mailbox ${address.slice(0, 320)}; see the list of mailboxes`);
  return { account, item: mailboxItem(account, context.store.mail.usage(account.id).usedBytes) };
}

export function clientSettingsFor(context: WebContext, address: string): ClientSettings {
  return clientSettings(address, currentHostname(context), context.ports);
}

export function pageJson<T, U>(page: Page<T>, toItem: (item: T) => U): Page<U> {
  return { items: page.items.map(toItem), total: page.total, offset: page.offset, limit: page.limit };
}

/** A page of an in-memory list (short tables: transports). */
export function pageOfList<T>(list: readonly T[], request: { query: string; offset: number; limit: number }, text: (item: T) => string): Page<T> {
  const query = request.query.trim().toLowerCase();
  const matching = query === '' ? list : list.filter((item) => text(item).toLowerCase().includes(query));
  return { items: matching.slice(request.offset, request.offset + request.limit), total: matching.length, offset: request.offset, limit: request.limit };
}

/** The body of PUT .../forwarding: `{ to: string[], keepCopy? }`. */
export function forwardingBody(body: unknown): { to: string[]; keepCopy: boolean | undefined } {
  const object = bodyObject(body);
  const to = object.to;
  if (!Array.isArray(to) || to.some((address) => typeof address !== 'string')) {
    throw new ApiError(400, 'bad-request', 'to must be a list of addresses, [] to stop forwarding', 'to');
  }
  if (to.length > 50) throw new ApiError(400, 'bad-request', 'too many addresses', 'to');
  return { to: to as string[], keepCopy: booleanField(object, 'keepCopy') };
}

/** Runs a store change and turns its UserError into a 400 naming `field`, so the form marks the right input. */
export async function withField<T>(field: string, change: () => T | Promise<T>): Promise<T> {
  try {
    return await change();
  } catch (error) {
    if (isUserError(error)) throw new ApiError(400, 'bad-request', error.message, field);
    throw error;
  }
}
