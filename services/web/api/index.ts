// Every API route, in one list. A route module exports Route[]; add it here.

import type { Route } from '../router.ts';
import { adminAccountRoutes } from './admin-account.ts';
import { aliasRoutes } from './aliases.ts';
import { domainRoutes } from './domains.ts';
import { mailboxRoutes } from './mailboxes.ts';
import { meRoutes } from './me.ts';
import { queueRoutes } from './queue.ts';
import { routingRoutes } from './routing.ts';
import { doctorRoutes } from './doctor.ts';
import { sessionRoutes } from './session.ts';
import { systemRoutes } from './system.ts';
import { setupRoutes } from './setup.ts';

export const routes: Route[] = [
  ...sessionRoutes,
  ...setupRoutes,
  ...domainRoutes,
  ...mailboxRoutes,
  ...aliasRoutes,
  ...queueRoutes,
  ...routingRoutes,
  ...systemRoutes,
  ...adminAccountRoutes,
  ...meRoutes,
  ...doctorRoutes,
];
