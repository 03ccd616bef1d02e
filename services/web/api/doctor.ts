// The home-line doctor on the admin page (services/doctor): its last findings,
// and a run on demand. Both answer at once from the database; the UI polls
// GET while `running` is true.

import { ApiError, type Route } from '../router.ts';
import type { DoctorControl, WebContext } from '../context.ts';

function doctorOf(context: WebContext): DoctorControl {
  if (!context.doctor) throw new ApiError(503, 'doctor-unavailable', 'the doctor does not run in this process; it runs inside mailnest serve (or run mailnest doctor)');
  return context.doctor;
}

export const doctorRoutes: Route[] = [
  {
    method: 'GET',
    path: '/api/admin/doctor',
    access: 'admin',
    handle: (_request, context) => doctorOf(context).report(),
  },
  {
    method: 'POST',
    path: '/api/admin/doctor/run',
    access: 'admin',
    handle(_request, context) {
      const doctor = doctorOf(context);
      // Not awaited: the run takes seconds (DNS deadlines); its findings replace the last ones when it is over.
      void doctor.runNow();
      return doctor.report();
    },
  },
];
