// What the supervisor needs of a logger: one line per event, a message and
// fields. services/core/log.ts's Logger fits it, and so does a test's array;
// firmware/ declares the shape here instead of importing the services' code.

export type EventFields = Record<string, unknown>;

export interface EventLog {
  info(message: string, fields?: EventFields): void;
  warn(message: string, fields?: EventFields): void;
  error(message: string, fields?: EventFields): void;
}
