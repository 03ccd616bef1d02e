// What every API handler is given: the store and the rest of the services
// process, behind one object, so that handlers import no process code.

import type { Config } from '../config/index.ts';
import type { AuthEvents } from '../core/auth-events.ts';
import type { Logger } from '../core/log.ts';
import type { DoctorReport } from '../doctor/index.ts';
import type { PortName } from '../core/ports.ts';
import type { Store } from '../store/index.ts';
import type { HealthReport } from './index.ts';
import type { Sessions } from './sessions.ts';
import type { SetupMachine } from './setup.ts';
import type { FailureThrottle } from './throttle.ts';

export interface CertificateInfo {
  /** SHA-256 of the DER certificate, as colon-separated upper-case hex pairs ('AB:CD:...'). */
  sha256: string;
  names: string[];
  validTo: string;
  source: string;
}

/** The queue, as handlers may use it. */
export interface QueueControl {
  /** Look at the table now (after a change). */
  kick(): void;
  /** Makes the given copies (or all) due now and kicks; returns how many. */
  retry(ids?: readonly number[]): number;
}

/** The home-line doctor (services/doctor): its last findings, and a run on demand. */
export interface DoctorControl {
  /** From the database: one statement, never waits for a run. */
  report(): DoctorReport;
  /** Starts a run unless one is under way; resolves when it is over (never rejects). */
  runNow(): Promise<void>;
}

export interface WebContext {
  store: Store;
  /** The settings this run started with (a changed setting is in the store; some take effect at the next start). */
  config: Config;
  queue: QueueControl;
  health(): Promise<HealthReport>;
  doctor: DoctorControl | undefined;
  authEvents: AuthEvents;
  logger: Logger;
  tls: CertificateInfo;
  /** The ports clients reach, by service (the offset applied, port 0 resolved). */
  ports: Record<PortName, number>;
  setup: SetupMachine;
  sessions: Sessions;
  /** Failed sign-ins, per client address and per name (api/session.ts). */
  loginThrottle: FailureThrottle;
  dataDir: string;
  /**
   * Reloads the services process with the stored settings (reload.ts:
   * reloadAfterAnswer); undefined when the web service runs without one.
   */
  reload: ((reason: string) => void) | undefined;
}
