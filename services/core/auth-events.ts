// Failed and successful logins from every protocol service (IMAP, POP3,
// submission), in one place: the ban service (Fail2ban's job) will listen here.

import { EventEmitter } from 'node:events';

export interface AuthFailure {
  service: string;
  username: string;
  remoteAddress: string;
  reason: string;
}

export class AuthEvents {
  private readonly emitter = new EventEmitter();
  failures = 0;

  failed(event: AuthFailure): void {
    this.failures += 1;
    this.emitter.emit('failure', event);
  }

  onFailure(listener: (event: AuthFailure) => void): () => void {
    this.emitter.on('failure', listener);
    return () => this.emitter.off('failure', listener);
  }
}
