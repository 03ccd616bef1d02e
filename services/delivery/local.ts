// Local delivery of a received message to accounts, and outside copies into the outbound queue. See README.md.

import type { Logger } from '../core/log.ts';
import type { Account, DeliveryTarget, Delivered, Store } from '../store/index.ts';
import { receiveBody, type BodyAnalyzer, type ReceiveOptions, type ReceiveResult } from '../store/receive.ts';
import type { ReceivedBody } from '../store/mail.ts';

export interface DeliveryPlan {
  accounts: Account[];
  /** Addresses outside, reached through aliases. */
  external: string[];
}

export interface DeliveryReport {
  delivered: Delivered[];
  /** Outside addresses now in the outbound queue. */
  queued: string[];
}

export class LocalDelivery {
  constructor(
    private readonly store: Store,
    private readonly createAnalyzer: () => BodyAnalyzer,
    private readonly logger: Logger,
    /** Called after outside copies were queued, so the queue sends them now. */
    private readonly onQueued: () => void = () => {},
  ) {}

  receive(source: AsyncIterable<Buffer | string>, options: ReceiveOptions): Promise<ReceiveResult> {
    return receiveBody(this.store.mail.files, this.createAnalyzer(), source, options);
  }

  /** Stores the body for every planned recipient in one transaction; throws (nothing stored) on failure. */
  deliver(body: ReceivedBody, plan: DeliveryPlan, sender: string): DeliveryReport {
    const seen = new Set<number>();
    const targets: DeliveryTarget[] = [];
    for (const account of plan.accounts) {
      if (seen.has(account.id)) continue;
      seen.add(account.id);
      targets.push({ account, mailbox: 'INBOX' });
    }
    const queued = [...new Set(plan.external)];
    const delivered = this.store.mail.deliver(
      body,
      targets,
      Date.now(),
      queued.map((recipient) => ({ sender, recipient })),
    );
    if (queued.length) this.onQueued();
    return { delivered, queued };
  }

  /** Removes the file of a body that was received but will not be delivered. */
  async discard(body: ReceivedBody): Promise<void> {
    try {
      await this.store.mail.files.remove(body.file.file);
    } catch (error) {
      this.logger.warn('could not remove an undelivered body; the start-up sweep will', { file: body.file.file, error });
    }
  }
}
