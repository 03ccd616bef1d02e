// Admin: GET /api/admin/system, the system page: uptime, disk use and
// health, temperature, memory, service states, the LED and the supervisor's
// state. It is the same health data the firmware uses: the services'
// health report (what /healthz answers) and run/supervisor.json, which the
// firmware supervisor writes and the health report carries as `supervisor`
// (firmware/report.ts describes its fields). Services code never imports the
// firmware, so the report is read here as plain JSON, every field checked.
//
// Without a supervisor (serve run by hand, tests) `supervisor` is null and the
// sensor fields come from this process alone (memory, uptime). A report not
// updated for staleAfterMs is marked `stale`: the supervisor writes one at
// each sensor reading, so an old one means it no longer runs.

import { freemem, totalmem, uptime } from 'node:os';
import type { Route } from '../router.ts';

const staleAfterMs = 5 * 60_000;

type Json = Record<string, unknown>;

function object(value: unknown): Json | null {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Json) : null;
}

function number(value: unknown): number | null {
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}

function string(value: unknown): string | null {
  return typeof value === 'string' ? value : null;
}

export function systemReport(health: Json, now = Date.now()) {
  const supervisor = object(health.supervisor);
  const sensors = object(supervisor?.sensors);
  const services = object(health.services) ?? {};
  const memory = object(health.memory);
  const sensorMemory = object(sensors?.memory);
  const updated = string(supervisor?.updated);
  const updatedAt = updated ? Date.parse(updated) : NaN;
  return {
    status: string(health.status),
    version: string(health.version),
    hostname: string(health.hostname),
    uptime: { boxSeconds: Math.round(uptime()), servicesSeconds: number(health.uptimeSeconds) },
    memory: {
      totalBytes: number(sensorMemory?.totalBytes) ?? totalmem(),
      availableBytes: number(sensorMemory?.availableBytes) ?? freemem(),
      servicesRssBytes: number(memory?.rssBytes),
    },
    temperatureC: number(sensors?.temperatureC),
    load: object(sensors?.load),
    throttling: object(sensors?.throttling),
    disk: {
      data: object(sensors?.data),
      disks: Array.isArray(sensors?.disks) ? sensors.disks.map(object).filter((d): d is Json => d !== null) : [],
      smart: Array.isArray(sensors?.smart) ? sensors.smart.map(object).filter((d): d is Json => d !== null) : null,
      /** ok, nearly-full or read-only, as the supervisor reports the data disk. */
      storage: object(health.storage),
      database: object(health.store),
    },
    services: Object.entries(services).map(([name, value]) => {
      const service = object(value);
      return { name, state: string(service?.state) ?? 'unknown', ...(string(service?.detail) ? { detail: string(service?.detail) } : {}) };
    }),
    led: string(supervisor?.led),
    setupDone: typeof health.setupDone === 'boolean' ? health.setupDone : null,
    supervisor: supervisor
      ? {
          state: string(supervisor.state),
          reasons: Array.isArray(supervisor.reasons) ? supervisor.reasons.filter((r): r is string => typeof r === 'string') : [],
          hardware: string(supervisor.hardware),
          restarts: number(object(supervisor.services)?.restarts),
          lastRestart: object(object(supervisor.services)?.lastRestart),
          watchdog: object(supervisor.watchdog),
          failure: object(supervisor.failure),
          updated,
          stale: Number.isFinite(updatedAt) ? now - updatedAt > staleAfterMs : true,
        }
      : null,
  };
}

export const systemRoutes: Route[] = [
  {
    method: 'GET',
    path: '/api/admin/system',
    access: 'admin',
    async handle(_request, context) {
      return systemReport((await context.health()) as unknown as Json);
    },
  },
];
