// AUTHENTICATE PLAIN (RFC 3501 §6.2.2, RFC 4616), with the initial response on
// the command line (SASL-IR, RFC 4959) or after an empty "+" challenge.
// A barrier command: the line after it is the client's SASL response, not a
// command. "*" cancels (answered BAD, RFC 3501 §6.2.2).

import { bad, no } from '../errors.ts';
import { ParseError } from '../protocol/parser.ts';
import { authenticate } from './login.ts';
import { defineCommand } from './types.ts';

function decodePlain(base64: string): { authzid: string; authcid: string; password: string } {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(base64) || base64.length % 4 !== 0) throw bad('The SASL response is not base64');
  const parts = Buffer.from(base64, 'base64').toString('utf8').split('\0');
  if (parts.length !== 3 || parts[1] === '') throw bad('The PLAIN response must be authzid NUL authcid NUL password');
  return { authzid: parts[0]!, authcid: parts[1]!, password: parts[2]! };
}

export const authenticateCommand = defineCommand({
  name: 'AUTHENTICATE',
  states: ['not-authenticated'],
  parse(args) {
    const mechanism = args.atom('mechanism').toUpperCase();
    const initial = args.atEnd() ? undefined : args.atom('initial response');
    args.end();
    return { mechanism, initial };
  },
  async run(session, { mechanism, initial }, { tag }) {
    if (mechanism !== 'PLAIN') throw no(`Unsupported authentication mechanism ${mechanism.slice(0, 20)}`, 'CANNOT');
    if (!session.secure) throw no('Authentication is disabled before TLS; use STARTTLS first', 'PRIVACYREQUIRED');
    let response = initial;
    if (response === undefined) {
      await session.send([Buffer.from('+ \r\n')]);
      let line: Buffer | null;
      try {
        line = await session.reader.takeLine();
      } catch (error) {
        if (error instanceof ParseError) throw bad('The SASL response is too long');
        throw error;
      }
      if (line === null) return { handled: true };
      response = line.toString('latin1').trim();
    }
    if (response === '*') throw bad('Authentication cancelled');
    // SASL-IR: "=" is an empty initial response (RFC 4959 §3).
    const { authzid, authcid, password } = decodePlain(response === '=' ? '' : response);
    return authenticate(session, tag, 'PLAIN', authcid, password, authzid === '' || authzid === authcid ? undefined : authzid);
  },
});
