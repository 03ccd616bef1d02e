// In-process change notifications. Every committed change to a mailbox emits
// one event after its transaction commits, carrying the mailbox's new
// HIGHESTMODSEQ; listeners (IMAP IDLE sessions) then read the changes from the
// store by modseq, so a missed or merged event loses nothing.
//
// emit() never throws: it runs after a commit, and a caller that saw an error
// there could take the committed change for a failed one (and remove the body
// a row now names). A listener's error goes to `onListenerError`.

export type MailChangeKind = 'append' | 'flags' | 'expunge' | 'mailbox';

export interface MailChange {
  accountId: number;
  mailboxId: number;
  modseq: number;
  kind: MailChangeKind;
}

type Listener = (change: MailChange) => void;

export class MailEvents {
  private readonly any = new Set<Listener>();
  /** One set per account with listeners: one listener per IMAP session. */
  private readonly byAccount = new Map<number, Set<Listener>>();
  /** Where a listener's exception goes (the services process logs it). */
  onListenerError: (error: unknown) => void = () => {};

  emit(change: MailChange): void {
    for (const listener of [...this.any, ...(this.byAccount.get(change.accountId) ?? [])]) {
      try {
        listener(change);
      } catch (error) {
        this.onListenerError(error);
      }
    }
  }

  /** Calls `listener` for changes in one account's mailboxes; returns the unsubscribe function. */
  onAccount(accountId: number, listener: Listener): () => void {
    let listeners = this.byAccount.get(accountId);
    if (!listeners) this.byAccount.set(accountId, (listeners = new Set()));
    // Wrapped, so that the same function registered twice is two subscriptions, as with an EventEmitter.
    const entry: Listener = (change) => listener(change);
    listeners.add(entry);
    return () => {
      listeners.delete(entry);
      if (listeners.size === 0 && this.byAccount.get(accountId) === listeners) this.byAccount.delete(accountId);
    };
  }

  onAny(listener: Listener): () => void {
    const entry: Listener = (change) => listener(change);
    this.any.add(entry);
    return () => this.any.delete(entry);
  }
}
