// The outbound queue and where outgoing mail goes: `queue`, `relay` (the
// smarthost) and `transport` (a fixed server for a domain). A running server
// reads these tables at every attempt, and `queue retry` is picked up at its
// next look at the queue (within 15 s).

import { UserError } from '../../services/core/errors.ts';
import { readHeaderSection } from '../../services/queue/message-file.ts';
import { parseHostPort, type Relay, type RelaySecurity } from '../../services/store/index.ts';
import { printJson, readPassword, table, UsageError, type CommandContext, type CommandGroup } from '../command.ts';

function queueId(text: string): number {
  if (!/^\d+$/.test(text)) throw new UsageError(`"${text}" is not a queue id; see mailnest queue list`);
  return Number(text);
}

function age(since: number, now = Date.now()): string {
  const minutes = Math.max(0, Math.round((now - since) / 60_000));
  if (minutes < 60) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  return hours < 48 ? `${hours}h${String(minutes % 60).padStart(2, '0')}m` : `${Math.floor(hours / 24)}d${hours % 24}h`;
}

function ids(context: CommandContext): number[] | undefined {
  if (context.options.all) {
    if (context.args.length) throw new UsageError('give either --all or queue ids, not both');
    return undefined;
  }
  if (context.args.length === 0) throw new UsageError('give the queue ids (see mailnest queue list), or --all');
  return context.args.map(queueId);
}

export const queueCommands: CommandGroup = {
  name: 'queue',
  summary: 'mail waiting to be sent to other servers',
  commands: {
    list: {
      usage: 'queue list [--json]',
      summary: 'list the recipients still to be sent to, with their last error',
      options: { json: { type: 'boolean' } },
      positionals: [0, 0],
      run(context) {
        const rows = context.openStore().outbound.list();
        if (context.options.json) {
          return printJson(
            context,
            rows.map((r) => ({
              id: r.id,
              sender: r.sender,
              recipient: r.recipient,
              size: r.size,
              subject: r.subject,
              attempts: r.attempts,
              queuedAt: new Date(r.createdAt).toISOString(),
              nextAttemptAt: new Date(r.nextAttemptAt).toISOString(),
              lastError: r.lastError,
            })),
          );
        }
        if (rows.length === 0) return context.io.stdout('the queue is empty\n');
        context.io.stdout(
          table(
            ['ID', 'AGE', 'TRIES', 'FROM', 'TO', 'LAST ERROR'],
            rows.map((r) => [String(r.id), age(r.createdAt), String(r.attempts), r.sender || '<>', r.recipient, r.lastError ?? (r.attempts ? '' : 'not tried yet')]),
          ),
        );
      },
    },
    show: {
      usage: 'queue show ID',
      summary: 'one queued message: its envelope, state and headers',
      positionals: [1, 1],
      async run({ args, openStore, io }) {
        const store = openStore();
        const row = store.outbound.get(queueId(args[0]!));
        const header = (await readHeaderSection(store.mail.files.absolute(row.file), row.structure)).toString('utf8');
        io.stdout(
          [
            `id:           ${row.id}`,
            `from:         ${row.sender || '<>'}`,
            `to:           ${row.recipient}`,
            `size:         ${row.size} bytes`,
            `queued:       ${new Date(row.createdAt).toISOString()} (${age(row.createdAt)} ago)`,
            `attempts:     ${row.attempts}`,
            `next attempt: ${new Date(row.nextAttemptAt).toISOString()}`,
            `last error:   ${row.lastError ?? '-'}`,
            '',
            header.replace(/\r?\n$/, '').replace(/\r\n/g, '\n'),
            '',
          ].join('\n'),
        );
      },
    },
    retry: {
      usage: 'queue retry ID... | --all',
      summary: 'try again now instead of waiting for the next retry',
      options: { all: { type: 'boolean' } },
      positionals: [0, Infinity],
      run(context) {
        const changed = context.openStore().outbound.retryNow(ids(context));
        context.io.stdout(`${changed} recipient${changed === 1 ? '' : 's'} will be tried again within 15 seconds (if Mailnest is running)\n`);
      },
    },
    delete: {
      usage: 'queue delete ID... | --all',
      summary: 'give up on recipients without telling the sender',
      options: { all: { type: 'boolean' } },
      positionals: [0, Infinity],
      run(context) {
        const store = context.openStore();
        const wanted = ids(context);
        if (wanted) for (const id of wanted) store.outbound.get(id);
        const removed = store.outbound.remove(wanted ?? store.outbound.list().map((r) => r.id));
        context.io.stdout(`deleted ${removed} recipient${removed === 1 ? '' : 's'} from the queue\n`);
      },
    },
  },
};

function describeRelay(relay: Relay): string {
  const login = relay.username ? `, login ${relay.username}` : ', no login';
  return `${relay.host}:${relay.port} (${relay.security === 'tls' ? 'implicit TLS' : 'STARTTLS'}${login}${relay.verify ? '' : ', certificate not checked'})`;
}

export const relayCommands: CommandGroup = {
  name: 'relay',
  summary: "the smarthost: your provider's server that sends mail on for you",
  commands: {
    set: {
      usage: 'relay set HOST[:PORT] [--user NAME --password-stdin] [--tls | --starttls] [--no-verify]',
      createsData: true,
      summary: 'send all outside mail through HOST (port 587 with STARTTLS unless told otherwise; 465 is implicit TLS)',
      options: { user: { type: 'string' }, 'password-stdin': { type: 'boolean' }, tls: { type: 'boolean' }, starttls: { type: 'boolean' }, 'no-verify': { type: 'boolean' } },
      positionals: [1, 1],
      async run(context) {
        const { options, io } = context;
        if (options.tls && options.starttls) throw new UsageError('choose --tls (implicit TLS, usually port 465) or --starttls (usually 587), not both');
        const { host, port } = parseHostPort(context.args[0]!, options.tls ? 465 : 587);
        const security: RelaySecurity = options.tls || (!options.starttls && port === 465) ? 'tls' : 'starttls';
        const user = options.user as string | undefined;
        if (user !== undefined && user.trim() === '') throw new UserError('the relay user name is empty');
        if (user === undefined && options['password-stdin']) throw new UsageError('--password-stdin needs --user');
        const password = user !== undefined ? await readPassword(context) : null;
        const relay: Relay = { host, port, security, username: user ?? null, password, verify: !options['no-verify'] };
        context.openStore().relay.set(relay);
        io.stdout(`outside mail now goes through ${describeRelay(relay)}\n`);
      },
    },
    show: {
      usage: 'relay show [--json]',
      summary: 'the smarthost in use, if any (never the password)',
      options: { json: { type: 'boolean' } },
      positionals: [0, 0],
      run(context) {
        const relay = context.openStore().relay.get();
        const password = (r: Relay) => (r.passwordProblem ? '(unreadable)' : r.password === null ? null : '(set)');
        if (context.options.json) return printJson(context, relay ? { ...relay, password: password(relay) } : null);
        context.io.stdout(relay ? `${describeRelay(relay)}\n` : 'no relay: outside mail goes straight to each domain’s mail servers (MX)\n');
        if (relay?.passwordProblem) context.io.stderr(`mailnest: ${relay.passwordProblem}\n`);
      },
    },
    clear: {
      usage: 'relay clear',
      summary: 'stop using the smarthost: send straight to each domain’s mail servers',
      positionals: [0, 0],
      run({ openStore, io }) {
        const cleared = openStore().relay.clear();
        io.stdout(cleared ? 'relay removed: outside mail goes straight to each domain’s mail servers (MX)\n' : 'no relay was set; nothing changed\n');
      },
    },
  },
};

export const transportCommands: CommandGroup = {
  name: 'transport',
  summary: 'a fixed server for the mail of one domain',
  commands: {
    set: {
      usage: 'transport set DOMAIN HOST[:PORT]',
      createsData: true,
      summary: 'send mail for DOMAIN to HOST (port 25 unless given), whatever its MX records or the relay say',
      positionals: [2, 2],
      run({ args, openStore, io }) {
        const transport = openStore().transports.set(args[0]!, args[1]!);
        io.stdout(`mail for ${transport.domain} now goes to ${transport.host}:${transport.port}\n`);
      },
    },
    list: {
      usage: 'transport list [--json]',
      summary: 'the domains with a fixed server',
      options: { json: { type: 'boolean' } },
      positionals: [0, 0],
      run(context) {
        const transports = context.openStore().transports.list();
        if (context.options.json) return printJson(context, transports);
        if (transports.length === 0) return context.io.stdout('no transports\n');
        context.io.stdout(table(['DOMAIN', 'SERVER'], transports.map((x) => [x.domain, `${x.host}:${x.port}`])));
      },
    },
    remove: {
      usage: 'transport remove DOMAIN',
      summary: 'route the domain normally again (relay or MX)',
      positionals: [1, 1],
      run({ args, openStore, io }) {
        openStore().transports.remove(args[0]!);
        io.stdout(`removed the transport for ${args[0]}\n`);
      },
    },
  },
};
