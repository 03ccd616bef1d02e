// ENABLE (RFC 5161): turns on CONDSTORE, QRESYNC (which implies CONDSTORE,
// RFC 7162 §3.2.3) and UTF8=ACCEPT (RFC 6855). Valid only before a mailbox is
// selected; the ENABLED response names what this command turned on, and
// names nobody asked for or that are unknown are ignored.

import { enableable } from '../session/capabilities.ts';
import { defineCommand } from './types.ts';

export const enableCommand = defineCommand({
  name: 'ENABLE',
  states: ['authenticated'],
  parse(args) {
    const names: string[] = [];
    while (!args.atEnd()) names.push(args.atom('capability').toUpperCase());
    if (names.length === 0) args.atom('capability');
    return names;
  },
  async run(session, names) {
    const known = enableable(session.options);
    const enabled: string[] = [];
    for (const name of new Set(names)) {
      if (!known.has(name)) continue;
      if (name === 'CONDSTORE' && !session.condstore) {
        session.condstore = true;
        enabled.push(name);
      } else if (name === 'QRESYNC' && !session.qresync) {
        session.qresync = true;
        session.condstore = true;
        enabled.push(name);
      } else if (name === 'UTF8=ACCEPT' && !session.utf8) {
        session.utf8 = true;
        enabled.push(name);
      }
    }
    await session.untagged(`ENABLED${enabled.map((name) => ' ' + name).join('')}`);
  },
});
