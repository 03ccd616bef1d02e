// ID (RFC 2971): the client says who it is (logged), the server answers with
// the `id` option's fields. Valid in every state.

import { ParseError } from '../protocol/parser.ts';
import { ResponseBuilder } from '../protocol/encode.ts';
import { anyState, defineCommand } from './types.ts';

export const idCommand = defineCommand({
  name: 'ID',
  states: anyState,
  parse(args) {
    const fields: Record<string, string | null> = {};
    const list = args.optionalList();
    if (list) {
      // RFC 2971 §3.3: at most 30 pairs.
      let pairs = 0;
      while (!list.atEnd()) {
        const key = list.string('ID field name').bytes.toString('utf8');
        const value = list.nstring('ID field value');
        if (++pairs > 30) throw new ParseError('ID allows at most 30 fields');
        fields[key.slice(0, 64)] = value === null ? null : value.slice(0, 256);
      }
    } else if (args.atom('ID parameter').toUpperCase() !== 'NIL') {
      throw new ParseError('ID takes a list or NIL');
    }
    args.end();
    return fields;
  },
  async run(session, fields) {
    if (Object.keys(fields).length > 0) session.log('info', 'client id', { id: JSON.stringify(fields) });
    const response = new ResponseBuilder().raw('* ID (');
    Object.entries(session.options.id).forEach(([key, value], i) => {
      if (i > 0) response.raw(' ');
      response.string(key).raw(' ').string(value);
    });
    await session.send(response.raw(')').end());
  },
});
