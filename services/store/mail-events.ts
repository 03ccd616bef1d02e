// In-process change notifications. Every committed change to a mailbox emits
// one event after its transaction commits, carrying the mailbox's new
// HIGHESTMODSEQ; listeners (IMAP IDLE sessions) then read the changes from the
// store by modseq, so a missed or merged event loses nothing.

import { EventEmitter } from 'node:events';

export type MailChangeKind = 'append' | 'flags' | 'expunge' | 'mailbox';

export interface MailChange {
  accountId: number;
  mailboxId: number;
  modseq: number;
  kind: MailChangeKind;
}

export class MailEvents {
  private readonly emitter = new EventEmitter();

  constructor() {
    // One listener per IMAP session; a family's phones and laptops add up.
    this.emitter.setMaxListeners(0);
  }

  emit(change: MailChange): void {
    this.emitter.emit('change', change);
    this.emitter.emit(`account:${change.accountId}`, change);
  }

  /** Calls `listener` for changes in one account's mailboxes; returns the unsubscribe function. */
  onAccount(accountId: number, listener: (change: MailChange) => void): () => void {
    this.emitter.on(`account:${accountId}`, listener);
    return () => this.emitter.off(`account:${accountId}`, listener);
  }

  onAny(listener: (change: MailChange) => void): () => void {
    this.emitter.on('change', listener);
    return () => this.emitter.off('change', listener);
  }
}
