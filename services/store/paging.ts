// Paged, searchable listing: what every long list (mailboxes, aliases, the
// queue, domains) takes and answers, so the admin panel never loads a whole
// table. The search is a case-insensitive substring (SQLite's lower() folds
// ASCII only; addresses are stored lower-case, so that is what matters).
//
// Invariants:
// - limit is 1..maxPageLimit; offset is 0..; both whole numbers.
// - total counts every row matching the search, so a page knows how many follow.

import { UserError } from '../core/errors.ts';

export const defaultPageLimit = 50;
export const maxPageLimit = 200;
/** A search longer than any address is no search anyone types. */
export const maxQueryLength = 320;

export interface PageRequest {
  query?: string;
  offset?: number;
  limit?: number;
}

export interface Page<T> {
  items: T[];
  total: number;
  offset: number;
  limit: number;
}

export interface CheckedPage {
  /** Lower-cased and trimmed; '' matches everything. */
  query: string;
  offset: number;
  limit: number;
}

export function checkPage(request: PageRequest = {}): CheckedPage {
  const query = (request.query ?? '').trim().toLowerCase();
  if (query.length > maxQueryLength) throw new UserError(`the search is too long (at most ${maxQueryLength} characters)`);
  const offset = request.offset ?? 0;
  const limit = request.limit ?? defaultPageLimit;
  if (!Number.isSafeInteger(offset) || offset < 0) throw new UserError('offset must be a whole number, 0 or more');
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > maxPageLimit) throw new UserError(`limit must be a whole number from 1 to ${maxPageLimit}`);
  return { query, offset, limit };
}

/** SQL true when any of `columns` contains the search (a bound parameter named :query). */
export function containsQuery(columns: string[]): string {
  return `(:query = '' OR ${columns.map((column) => `instr(lower(${column}), :query) > 0`).join(' OR ')})`;
}
