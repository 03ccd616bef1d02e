// services/mdns: the box found by name on the LAN (mailnest.local) and its
// services found by DNS-SD. See README.md.

import type { Logger } from '../core/log.ts';
import type { PortName } from '../core/ports.ts';
import type { Service, ServiceHealth } from '../core/service.ts';
import { isLoopback, linksFor, mdnsEnabled, type MdnsMode } from './links.ts';
import type { Advert, Link } from './records.ts';
import { MdnsResponder } from './responder.ts';

export type { MdnsMode } from './links.ts';

export interface MdnsOptions {
  mode: MdnsMode;
  /** The label wanted (`mdns-name`). */
  label: string;
  /** The `listen` setting: what is advertised follows it. */
  listen: readonly string[];
  /** Where each service listens (standard port + offset). */
  port: (name: PortName) => number;
  logger: Logger;
  /** Tests and odd boxes: the links to answer on (default: from `listen` and the interfaces). */
  links?: () => Link[];
}

/**
 * What the box advertises (RFC 6763 §7, service names as registered with IANA).
 * Not `_smtp._tcp`: port 25 is where other servers deliver (found through MX
 * records), and a client that finds it by browsing would submit without
 * authentication; clients submit on 587/465 (RFC 6409, RFC 8314).
 */
export function advertsFor(port: (name: PortName) => number): Advert[] {
  const web = ['path=/'];
  return [
    { type: '_http._tcp', port: port('http'), txt: web },
    { type: '_https._tcp', port: port('https'), txt: web },
    { type: '_submission._tcp', port: port('submission'), txt: [] },
    { type: '_submissions._tcp', port: port('submissions'), txt: [] },
    { type: '_imap._tcp', port: port('imap'), txt: [] },
    { type: '_imaps._tcp', port: port('imaps'), txt: [] },
    { type: '_pop3._tcp', port: port('pop3'), txt: [] },
    { type: '_pop3s._tcp', port: port('pop3s'), txt: [] },
  ];
}

export class MdnsService implements Service {
  readonly name = 'mdns';
  private responder: MdnsResponder | undefined;
  private phase: 'stopped' | 'running' = 'stopped';
  private off: string | undefined;

  constructor(private readonly options: MdnsOptions) {}

  /**
   * Never fails the start: mDNS is a convenience beside the mail services, and a
   * box whose port 5353 is taken still delivers mail. The reason shows in health.
   */
  async start(): Promise<void> {
    this.phase = 'running';
    const { mode, listen, logger } = this.options;
    if (!mdnsEnabled(mode, listen)) {
      this.off = mode === 'off' ? 'mdns is off (setting mdns)' : 'listening on loopback only: nothing to advertise on a LAN (setting mdns=auto)';
      logger.debug('mdns not started', { reason: this.off });
      return;
    }
    const responder = new MdnsResponder({
      label: this.options.label,
      adverts: advertsFor(this.options.port),
      links: this.options.links ?? (() => linksFor(listen)),
      logger,
    });
    this.responder = responder;
    try {
      await responder.start();
    } catch (error) {
      logger.warn('mdns could not start; the box is not found by name on the LAN', { error: (error as Error).message });
    }
  }

  async stop(): Promise<void> {
    this.phase = 'stopped';
    await this.responder?.stop();
  }

  health(): ServiceHealth {
    const responder = this.responder;
    const name = responder?.name ?? null;
    const loopbackOnly = this.options.listen.every(isLoopback);
    const detail = this.off ?? (responder?.state === 'waiting-for-address' && loopbackOnly ? 'listening on loopback only, which is never advertised: set listen to a LAN address or 0.0.0.0' : responder?.detail);
    const httpPort = this.options.port('http');
    return {
      state: this.phase,
      /** off | starting | waiting-for-address | probing | announced | failed | stopped */
      responder: responder?.state ?? 'off',
      name,
      url: name ? `http://${name}${httpPort === 80 ? '' : `:${httpPort}`}/` : null,
      addresses: responder?.addresses ?? [],
      ...(detail ? { detail } : {}),
    };
  }
}
