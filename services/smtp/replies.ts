// SMTP replies with the enhanced status code we choose (RFC 3463, RFC 5248).
//
// smtp-server derives the enhanced code of a handler's error from its basic
// code alone (554 → 5.6.0), which is wrong for, say, a relay refusal (554
// 5.7.1) or a full disk (452 4.3.1). `installEnhancedCodeOverride` teaches its
// connection to use an enhanced code that the reply text already starts with,
// when its class matches the basic code; `smtpError` builds such errors.

import { SMTPConnection } from 'smtp-server/lib/smtp-connection.js';

const enhancedPrefix = /^([245])\.(\d{1,3})\.(\d{1,3}) (.*)$/s;

export interface SmtpReplyError extends Error {
  responseCode: number;
}

export function smtpError(code: number, enhanced: string, text: string): SmtpReplyError {
  const error = new Error(`${enhanced} ${text}`) as SmtpReplyError;
  error.responseCode = code;
  return error;
}

let installed = false;

export function installEnhancedCodeOverride(): void {
  if (installed) return;
  installed = true;
  type Send = (this: SMTPConnection, code: number, data?: string | string[], context?: string | false) => void;
  type Derive = (this: SMTPConnection, code: number, context?: string | false) => string;
  const prototype = SMTPConnection.prototype as unknown as { send: Send; _getEnhancedStatusCode: Derive };
  const send = prototype.send;
  const derive = prototype._getEnhancedStatusCode;
  prototype.send = function (this: SMTPConnection, code: number, data?: string | string[], context?: string | false) {
    const match = typeof data === 'string' ? enhancedPrefix.exec(data) : null;
    if (!match || match[1] !== String(code)[0]) return send.call(this, code, data, context);
    const chosen = `${match[1]}.${match[2]}.${match[3]}`;
    const self = this as unknown as { _getEnhancedStatusCode: Derive };
    self._getEnhancedStatusCode = function (this: SMTPConnection, c: number, ctx?: string | false) {
      const derived = derive.call(this, c, ctx);
      return derived ? chosen : derived;
    };
    try {
      send.call(this, code, match[4], context);
    } finally {
      delete (self as { _getEnhancedStatusCode?: Derive })._getEnhancedStatusCode;
    }
  };
}
