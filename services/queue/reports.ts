// Delivery reports to the envelope sender (RFC 3464, built by dsn.ts): into
// the INBOX of a local sender, past a full quota as Postfix delivers its
// bounces, or queued with a null sender to a remote one. Never to the null
// sender (RFC 5321 §4.5.5: a report is not reported on).
//
// Invariant: `send` answers true only once the report is committed, and
// nothing after the commit can make it answer false (which would store the
// report a second time).

import { Readable } from 'node:stream';
import type { Logger } from '../core/log.ts';
import type { OutboundRow, Store } from '../store/index.ts';
import { receiveMessage, type BodyAnalyzer } from '../store/receive.ts';
import { buildDsn, type ReportedRecipient } from './dsn.ts';
import { readHeaderSection } from './message-file.ts';

export interface ReportOptions {
  store: Store;
  createAnalyzer: () => BodyAnalyzer;
  /** Our name: Reporting-MTA and the MAILER-DAEMON address. */
  hostname: string;
  /** A report for a remote sender was queued: send it. */
  onQueued: () => void;
}

export class DeliveryReports {
  constructor(private readonly options: ReportOptions) {}

  /** Stores one report about `recipients` of `row`'s message; false when it should be tried again later. */
  async send(kind: 'failed' | 'delayed', row: OutboundRow, recipients: ReportedRecipient[], log: Logger, retryUntil?: Date): Promise<boolean> {
    const store = this.options.store;
    if (row.sender === '') {
      log.info('no report: the message had a null sender', { kind, to: recipients.map((r) => r.recipient).join(',') });
      return true;
    }
    let resolution;
    try {
      resolution = store.recipients.resolve(row.sender);
    } catch {
      log.warn('no report: the sender address cannot be used', { sender: row.sender });
      return true;
    }
    const accounts = resolution.kind === 'local' ? resolution.accounts : [];
    if (resolution.kind !== 'remote' && accounts.length === 0) {
      log.warn('no report: the sender is no longer a local user', { sender: row.sender });
      return true;
    }
    try {
      const message = buildDsn({
        kind,
        reportingMta: this.options.hostname,
        sender: row.sender,
        arrivalDate: new Date(row.createdAt),
        lastAttemptDate: new Date(),
        retryUntil,
        subject: row.subject,
        originalHeaders: await readHeaderSection(store.mail.files.absolute(row.file), row.structure),
        recipients,
      });
      // RFC 3464 §2: a report has the null sender; delivered here, it gets the Return-Path of final delivery (RFC 5321 §4.4).
      const local = resolution.kind !== 'remote';
      const result = await receiveMessage(store.mail.files, this.options.createAnalyzer(), Readable.from([message]), local ? { prefix: Buffer.from('Return-Path: <>\r\n') } : {}, {
        commit: (body) =>
          resolution.kind === 'remote'
            ? store.mail.deliverGrouped(body, [], Date.now(), [{ sender: '', recipient: row.sender, origin: 'report' }])
            : // Postfix's way: a report to a local sender is delivered even over quota, or it would be retried forever.
              store.mail.deliverGrouped(body, accounts.map((account) => ({ account, mailbox: 'INBOX', ignoreQuota: true }))),
      });
      if (!result.ok) throw new Error('the report is too large');
    } catch (error) {
      log.warn('could not store the report; trying again later', { kind, to: row.sender, error });
      return false;
    }
    // Stored: nothing below may make the caller store it a second time.
    log.info(kind === 'failed' ? 'bounce report sent' : 'delay report sent', { to: row.sender, about: recipients.map((r) => r.recipient).join(',') });
    if (resolution.kind === 'remote') {
      try {
        this.options.onQueued();
      } catch (error) {
        log.error('could not wake the queue for the report; it goes at the next scan', { error });
      }
    }
    return true;
  }
}
