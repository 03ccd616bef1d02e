import { formatBytes, parseBytes } from '../../services/config/index.ts';
import { UserError } from '../../services/core/errors.ts';
import type { Account, Forwarding } from '../../services/store/index.ts';
import { printJson, readPassword, table, UsageError, type CommandGroup } from '../command.ts';

function parseQuota(text: string): number {
  if (/^(none|unlimited)$/i.test(text.trim())) return 0;
  try {
    return parseBytes(text);
  } catch (error) {
    throw new UserError(`quota: ${(error as Error).message}, or 0 for no limit`);
  }
}

function quotaText(bytes: number): string {
  return bytes === 0 ? 'unlimited' : formatBytes(bytes);
}

function forwardingText(address: string, forwarding: Forwarding): string {
  if (forwarding.to.length === 0) return `${address} does not forward; its mail stays in its mailbox\n`;
  return `${address} forwards to ${forwarding.to.join(', ')} (${forwarding.keepCopy ? 'keeping a copy' : 'keeping no copy'})\n`;
}

function accountJson(account: Account) {
  return {
    address: account.address,
    name: account.displayName,
    quotaBytes: account.quotaBytes,
    enabled: account.enabled,
    createdAt: account.createdAt.toISOString(),
  };
}

export const userCommands: CommandGroup = {
  name: 'user',
  summary: 'mail accounts',
  commands: {
    add: {
      usage: 'user add ADDRESS --password-stdin [--quota SIZE] [--name "FULL NAME"]',
      summary: 'create an account; the password is read from standard input',
      options: { 'password-stdin': { type: 'boolean' }, quota: { type: 'string' }, name: { type: 'string' } },
      positionals: [1, 1],
      async run(context) {
        const store = context.openStore();
        const quotaBytes = context.options.quota !== undefined ? parseQuota(context.options.quota as string) : 0;
        // Checked before the password is read, so a typo fails without a prompt.
        store.accounts.checkNewAddress(context.args[0]!);
        const password = await readPassword(context);
        const account = await store.accounts.add({ address: context.args[0]!, password, quotaBytes, displayName: (context.options.name as string | undefined) ?? '' });
        context.io.stdout(`added user ${account.address} (quota ${quotaText(account.quotaBytes)})\n`);
      },
    },
    passwd: {
      usage: 'user passwd ADDRESS --password-stdin',
      summary: 'set a new password, read from standard input',
      options: { 'password-stdin': { type: 'boolean' } },
      positionals: [1, 1],
      async run(context) {
        const store = context.openStore();
        const account = store.accounts.get(context.args[0]!);
        const password = await readPassword(context);
        await store.accounts.setPassword(account.address, password);
        context.io.stdout(`changed the password of ${account.address}\n`);
      },
    },
    list: {
      usage: 'user list [DOMAIN] [--json]',
      summary: 'list accounts, of one domain or of all',
      options: { json: { type: 'boolean' } },
      positionals: [0, 1],
      run(context) {
        const accounts = context.openStore().accounts.list(context.args[0]);
        if (context.options.json) return printJson(context, accounts.map(accountJson));
        if (accounts.length === 0) return context.io.stdout('no users yet; add one with: mailnest user add alice@example.com --password-stdin\n');
        context.io.stdout(
          table(
            ['ADDRESS', 'QUOTA', 'ENABLED', 'NAME'],
            accounts.map((a) => [a.address, quotaText(a.quotaBytes), a.enabled ? 'yes' : 'no', a.displayName]),
          ),
        );
      },
    },
    remove: {
      usage: 'user remove ADDRESS',
      summary: 'remove an account and its mail',
      positionals: [1, 1],
      run({ args, openStore, io }) {
        const account = openStore().accounts.remove(args[0]!);
        io.stdout(`removed user ${account.address}\n`);
      },
    },
    quota: {
      usage: 'user quota ADDRESS SIZE',
      summary: 'set the mailbox quota (examples: 500M, 2G; 0 or none for no limit)',
      positionals: [2, 2],
      run({ args, openStore, io }) {
        const account = openStore().accounts.setQuota(args[0]!, parseQuota(args[1]!));
        io.stdout(`quota of ${account.address} is now ${quotaText(account.quotaBytes)}\n`);
      },
    },
    forward: {
      usage: 'user forward ADDRESS [--to A,B] [--keep|--no-keep] [--clear] [--json]',
      summary: 'show or set where a mailbox forwards its mail (--to replaces the list; --no-keep keeps no copy in the mailbox; --clear stops forwarding)',
      options: { to: { type: 'string', multiple: true }, keep: { type: 'boolean' }, 'no-keep': { type: 'boolean' }, clear: { type: 'boolean' }, json: { type: 'boolean' } },
      positionals: [1, 1],
      run(context) {
        const { options, args, io } = context;
        const to = (options.to as string[] | undefined)?.flatMap((list) => list.split(',')).map((a) => a.trim()).filter((a) => a !== '');
        if (options.keep && options['no-keep']) throw new UsageError('give --keep or --no-keep, not both');
        if (options.clear && (to !== undefined || options.keep || options['no-keep'])) throw new UsageError('--clear stops forwarding; it takes no --to, --keep or --no-keep');
        const store = context.openStore();
        const address = store.accounts.get(args[0]!).address;
        let forwarding = store.forwards.get(address);
        const keepCopy = options.keep ? true : options['no-keep'] ? false : undefined;
        if (options.clear) forwarding = store.forwards.clear(address);
        else if (to !== undefined || keepCopy !== undefined) {
          const next = to ?? forwarding.to;
          if (next.length === 0) throw new UsageError(`${address} forwards nowhere; give the addresses with --to A,B`);
          forwarding = store.forwards.set(address, { to: next, keepCopy: keepCopy ?? forwarding.keepCopy });
        }
        if (options.json) return printJson(context, { address, ...forwarding });
        io.stdout(forwardingText(address, forwarding));
      },
    },
    enable: {
      usage: 'user enable ADDRESS',
      summary: 'allow the account to log in and receive mail again',
      positionals: [1, 1],
      run({ args, openStore, io }) {
        const account = openStore().accounts.setEnabled(args[0]!, true);
        io.stdout(`enabled ${account.address}\n`);
      },
    },
    disable: {
      usage: 'user disable ADDRESS',
      summary: 'refuse logins and new mail for the account, keeping its mail',
      positionals: [1, 1],
      run({ args, openStore, io }) {
        const account = openStore().accounts.setEnabled(args[0]!, false);
        io.stdout(`disabled ${account.address}\n`);
      },
    },
  },
};
