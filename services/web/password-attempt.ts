// One password check under the sign-in throttle (throttle.ts), shared by the
// sign-in and both "change my password" routes, so that a wrong current
// password on a password change costs what a wrong sign-in costs.

import { addressKey } from '../core/connection-limits.ts';
import type { WebContext } from './context.ts';
import type { ApiRequest } from './router.ts';
import { slowDown } from './setup.ts';

/**
 * Refuses with 429 while the client (its /64) or the name must wait; runs
 * `verify`; a wrong password (undefined) counts against both and is an auth
 * event with `reason`, a right one clears the name's count. Returns what
 * `verify` found, undefined for a wrong password: the caller says so.
 */
export async function passwordAttempt<T>(
  request: ApiRequest,
  context: WebContext,
  who: { /** the throttle's name key (lower case) */ name: string; /** as typed, for the auth event */ username: string; reason: string; slowDown: string },
  verify: () => Promise<T | undefined>,
): Promise<T | undefined> {
  const keys = [`client:${addressKey(request.client)}`, `name:${who.name}`];
  const wait = context.loginThrottle.waitMsAny(keys);
  if (wait > 0) throw slowDown(wait, who.slowDown);
  const found = await verify();
  if (found === undefined) {
    for (const key of keys) context.loginThrottle.failed(key);
    context.authEvents.failed({ service: 'web', username: who.username, remoteAddress: request.client, reason: who.reason });
    return undefined;
  }
  context.loginThrottle.succeeded(keys[1]!);
  return found;
}
