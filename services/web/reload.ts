// A route that stored a setting the running services read only at their
// start (the host name: SMTP banner, certificate, greetings, autoconfig)
// marks the settings changed for the supervisor and has the services process
// reload once its answer is out: the reload stops the web service too, so
// doing it before the answer would cut the answer off. The UI then polls
// GET /api/setup until the box answers again, with the new certificate.

import { markSettingsChanged } from '../core/run-files.ts';
import type { WebContext } from './context.ts';
import type { ApiRequest } from './router.ts';

/** Marks the settings changed and reloads after the answer; false when no reload is at hand (a restart is needed). */
export function reloadAfterAnswer(request: ApiRequest, context: WebContext, reason: string): boolean {
  markSettingsChanged(context.dataDir);
  const reload = context.reload;
  if (!reload) return false;
  request.afterAnswer(() => reload(reason));
  context.logger.info('reload scheduled', { cid: request.cid, reason });
  return true;
}
