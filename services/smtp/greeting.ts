// The greeting without smtp-server's fixed pause.
//
// smtp-server's `SMTPConnection.init` waits 100 ms before it sends the 220
// greeting, to catch "early talkers" (clients that send before the greeting,
// refused with 421 "You talk too soon"). The wait is per connection and
// fixed: a client that sends one message per connection (as Postfix's
// smtp-source, and most servers from outside, do) gets at most ten a second
// per connection, whatever the store can do; Postfix's smtpd has no such
// pause (its pregreet test lives in postscreen, off by default). Spam
// checks belong to the policy stage, which can add a pause of its own for
// clients it does not trust.
//
// `installPromptGreeting` replaces `init` with the same steps minus the
// timer: listeners, the maxClients check, then `connectionReady` (onConnect,
// then the greeting). A client's bytes are read only in a later turn of the
// event loop, after `_ready` was set, so "You talk too soon" no longer
// happens. Written against smtp-server 3.21.6 (package.json pins it); check
// `init` in dist/cjs/smtp-connection.js again before an upgrade.

import { SMTPConnection } from 'smtp-server/lib/smtp-connection.js';

interface ConnectionInternals {
  _setListeners(callback: () => void): void;
  _server: { options: { maxClients?: number }; connections: Set<unknown> };
  name: string;
  send(code: number, data: string, context?: string | false): void;
  connectionReady(next?: () => void): void;
}

let installed = false;

export function installPromptGreeting(): void {
  if (installed) return;
  installed = true;
  const prototype = SMTPConnection.prototype as unknown as { init: (this: ConnectionInternals) => void };
  prototype.init = function (this: ConnectionInternals) {
    this._setListeners(() => {
      if (this._server.options.maxClients && this._server.connections.size > this._server.options.maxClients) {
        return this.send(421, `${this.name} Too many connected clients, try again in a moment`, false);
      }
      this.connectionReady();
    });
  };
}
