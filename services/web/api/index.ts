// Every API route, in one list. A route module exports Route[]; add it here.

import type { Route } from '../router.ts';
import { doctorRoutes } from './doctor.ts';
import { sessionRoutes } from './session.ts';
import { setupRoutes } from './setup.ts';

export const routes: Route[] = [...sessionRoutes, ...setupRoutes, ...doctorRoutes];
