// IDLE (RFC 2177): "+ idling" first, then changes to the selected mailbox as
// they happen (expunges included: IDLE is a command in progress), until the
// client sends DONE.
//
// A barrier command: the reader parses nothing after IDLE until it ends, and
// hands the next line to IDLE. DONE ends it with OK, and the reader goes on
// with whatever followed DONE in the same packet. Any other line (iOS sends a
// new tagged IDLE where DONE was expected) ends the IDLE with BAD and is then
// read as the next command, so nothing the client sent is lost.

import { bad } from '../errors.ts';
import { ParseError } from '../protocol/parser.ts';
import { authenticatedStates, defineCommand } from './types.ts';

export const idleCommand = defineCommand({
  name: 'IDLE',
  states: authenticatedStates,
  parse(args) {
    args.end();
  },
  async run(session) {
    await session.send([Buffer.from('+ idling\r\n')]);
    // Tell what happened before the IDLE began.
    if (session.selected) await session.syncSelected({ expunges: true });
    const line = session.reader.takeLine().then((value) => ({ line: value }));
    for (;;) {
      const change = session.nextChange();
      const winner = await Promise.race([line, change.promise.then(() => null)]).catch((error: unknown) => {
        change.cancel();
        if (error instanceof ParseError) throw bad('Expected DONE');
        throw error;
      });
      if (winner === null) {
        if (session.isClosed) return { handled: true };
        if (session.selected) await session.syncSelected({ expunges: true });
        continue;
      }
      change.cancel();
      if (winner.line === null) return { handled: true };
      if (winner.line.toString('latin1').trim().toUpperCase() === 'DONE') return;
      session.reader.unshiftLine(winner.line);
      throw bad('Expected DONE; IDLE ended');
    }
  },
});
