import { printJson, table, type CommandGroup } from '../command.ts';

export const aliasCommands: CommandGroup = {
  name: 'alias',
  summary: 'addresses that forward to users or elsewhere (@domain is a catch-all)',
  commands: {
    add: {
      usage: 'alias add SOURCE DESTINATION [DESTINATION...]',
      summary: 'make SOURCE (an address or @domain) deliver to each DESTINATION',
      positionals: [2, Infinity],
      run({ args, openStore, io }) {
        const [source, ...destinations] = args;
        const { alias, added } = openStore().aliases.add(source!, destinations);
        if (added.length === 0) io.stdout(`${alias.source} already points at ${destinations.join(', ')}; nothing changed\n`);
        else io.stdout(`${alias.source} → ${alias.destinations.join(', ')}\n`);
      },
    },
    list: {
      usage: 'alias list [DOMAIN] [--json]',
      summary: "list aliases, of one domain or of all, with the built-in postmaster@ and abuse@ that reach the box's owner",
      options: { json: { type: 'boolean' } },
      positionals: [0, 1],
      run(context) {
        const store = context.openStore();
        const aliases = [
          ...store.aliases.list(context.args[0]).map((a) => ({ ...a, builtIn: false })),
          ...store.recipients.builtInAliases(context.args[0]).map((a) => ({ ...a, builtIn: true })),
        ].sort((a, b) => (a.source < b.source ? -1 : a.source > b.source ? 1 : 0));
        if (context.options.json) return printJson(context, aliases);
        if (aliases.length === 0) return context.io.stdout('no aliases yet\n');
        context.io.stdout(table(['ALIAS', 'DESTINATIONS'], aliases.map((a) => [a.source, `${a.destinations.join(', ')}${a.builtIn ? ' (built in)' : ''}`])));
        if (aliases.some((a) => a.builtIn)) {
          context.io.stdout("built in: postmaster@ and abuse@ reach the box's owner (the postmaster setting, else the first user); `mailnest alias add ADDRESS DESTINATION` points one elsewhere\n");
        }
      },
    },
    remove: {
      usage: 'alias remove SOURCE [DESTINATION]',
      summary: 'remove an alias, or one destination of it',
      positionals: [1, 2],
      run({ args, openStore, io }) {
        const store = openStore();
        store.aliases.remove(args[0]!, args[1]);
        io.stdout(args[1] === undefined ? `removed alias ${args[0]}\n` : `removed ${args[1]} from alias ${args[0]}\n`);
      },
    },
  },
};
