// What every network service looks like to the services process: it starts,
// reports its health for /healthz, and stops by closing its listeners and then
// waiting for the work it has in flight.

export type ServiceState = 'starting' | 'running' | 'stopping' | 'stopped' | 'failed';

export interface ServiceHealth {
  state: ServiceState;
  /** Where the service accepts connections, as host:port. */
  listening?: string[];
  detail?: string;
  [key: string]: unknown;
}

export interface Service {
  readonly name: string;
  start(): Promise<void>;
  /** Closes listeners at once, then resolves when work in flight is finished. */
  stop(): Promise<void>;
  health(): ServiceHealth | Promise<ServiceHealth>;
}

/** Formats a listening address the way users type it: [::1]:143, 127.0.0.1:143. */
export function hostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}
