// Local delivery of a received message to accounts, and outside copies into the outbound queue. See README.md.

import type { Logger } from '../core/log.ts';
import type { Account, DeliveryTarget, Delivered, OutboundOrigin, Store } from '../store/index.ts';
import type { ReceivedBody } from '../store/mail.ts';
import { receiveMessage, type BodyAnalyzer, type BodyEdit, type ReceiveOptions } from '../store/receive.ts';

export interface DeliveryPlan {
  accounts: Account[];
  /** Addresses outside, reached through aliases and forwarding. */
  external: string[];
  /** Those of `external` reached through a mailbox's forwarding: queued as origin 'forward' (never signed), whoever sent it. */
  forwarded?: string[];
  /** The envelope sender the outside copies keep. */
  sender: string;
  /** `submission` when a logged-in user sent it (the queue signs it), `forward` for mail from outside. */
  origin: OutboundOrigin;
}

export interface DeliveryReport {
  delivered: Delivered[];
  /** Outside addresses now in the outbound queue. */
  queued: string[];
}

export type DeliveryResult = { ok: true; body: ReceivedBody; report: DeliveryReport } | { ok: false; reason: 'too-large'; bytes: number };

export class LocalDelivery {
  constructor(
    private readonly store: Store,
    private readonly createAnalyzer: () => BodyAnalyzer,
    private readonly logger: Logger,
    /** Called after outside copies were queued, so the queue sends them now. */
    private readonly onQueued: () => void = () => {},
  ) {}

  /**
   * Receives `source` into a durable body, lets `check` refuse or edit it (the
   * content filter's header lines: a new file replaces the first), and stores
   * it for every planned recipient in one transaction. Any failure before
   * the commit leaves nothing behind (no row, no file) and reaches the caller.
   */
  async receive(source: AsyncIterable<Buffer | string>, options: ReceiveOptions, plan: DeliveryPlan, check?: (body: ReceivedBody) => void | BodyEdit | Promise<void | BodyEdit>): Promise<DeliveryResult> {
    const queued = [...new Set(plan.external)];
    const forwarded = new Set(plan.forwarded);
    const copies = queued.map((recipient) => ({ sender: plan.sender, recipient, origin: forwarded.has(recipient) ? ('forward' as const) : plan.origin }));
    const result = await receiveMessage(this.store.mail.files, this.createAnalyzer(), source, options, {
      check,
      analyzer: this.createAnalyzer,
      commit: (body) => this.store.mail.deliverGrouped(body, this.targets(plan.accounts), Date.now(), copies),
    });
    if (!result.ok) return result;
    // Committed: from here on nothing may turn the delivery into a failure the sender would retry.
    if (queued.length) {
      try {
        this.onQueued();
      } catch (error) {
        this.logger.error('could not wake the queue; it sends at its next scan', { error });
      }
    }
    return { ok: true, body: result.body, report: { delivered: result.committed, queued } };
  }

  /** One INBOX copy per account, however many of its addresses were named. */
  private targets(accounts: Account[]): DeliveryTarget[] {
    const seen = new Set<number>();
    const targets: DeliveryTarget[] = [];
    for (const account of accounts) {
      if (seen.has(account.id)) continue;
      seen.add(account.id);
      targets.push({ account, mailbox: 'INBOX' });
    }
    return targets;
  }
}
