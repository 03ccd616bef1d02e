// bin/mailnest: the one command-line tool. `mailnest GROUP COMMAND [ARGS]`, or
// `mailnest serve`. Errors meant for a person print one line and exit 1; usage
// mistakes exit 2; anything else is a bug and prints its stack.

import { isUserError } from '../services/core/errors.ts';
import { contextFor, UsageError, type Command, type CommandGroup, type Io } from './command.ts';
import { aliasCommands } from './commands/alias.ts';
import { configCommands } from './commands/config.ts';
import { doctorCommand } from './commands/doctor.ts';
import { domainCommands } from './commands/domain.ts';
import { firmwareCommand } from './commands/firmware.ts';
import { mailboxCommands, messageCommands } from './commands/mail.ts';
import { queueCommands, relayCommands, transportCommands } from './commands/queue.ts';
import { serveCommand } from './commands/serve.ts';
import { setupCommands } from './commands/setup.ts';
import { userCommands } from './commands/user.ts';
import { version } from './version.ts';

const groups: CommandGroup[] = [domainCommands, userCommands, aliasCommands, mailboxCommands, messageCommands, queueCommands, relayCommands, transportCommands, configCommands, setupCommands];
const topLevel: Record<string, Command> = { serve: serveCommand, firmware: firmwareCommand, doctor: doctorCommand };

function usage(): string {
  const lines = ['usage: mailnest COMMAND [ARGS] [--data DIR]', '', 'Commands:'];
  const entries: [string, string][] = [
    ['serve', serveCommand.summary],
    ['firmware', firmwareCommand.summary],
    ['doctor', doctorCommand.summary],
  ];
  for (const group of groups) for (const command of Object.values(group.commands)) entries.push([command.usage.replace(/ \[--json\]| --password-stdin.*| \[--.*$/, ''), command.summary]);
  const width = Math.max(...entries.map(([u]) => u.length));
  for (const [u, s] of entries) lines.push(`  ${u.padEnd(width)}  ${s}`);
  lines.push(
    '',
    'Every command takes --data DIR (default: $MAILNEST_DATA, else ./var).',
    'Passwords are read from standard input with --password-stdin, never from the command line.',
    'List commands take --json. `mailnest COMMAND --help` explains one command.',
  );
  return lines.join('\n') + '\n';
}

function commandHelp(command: Command): string {
  return `usage: mailnest ${command.usage}\n\n${command.summary}\n`;
}

function findCommand(argv: string[]): { command: Command; rest: string[] } {
  const [first, second, ...rest] = argv;
  if (first === undefined) throw new UsageError(`no command given; run mailnest --help`);
  const top = topLevel[first];
  if (top) return { command: top, rest: argv.slice(1) };
  const group = groups.find((g) => g.name === first);
  if (!group) throw new UsageError(`unknown command "${first}"; run mailnest --help`);
  const command = second === undefined ? undefined : group.commands[second];
  if (!command) {
    throw new UsageError(`${second === undefined ? `mailnest ${first} needs a command` : `unknown command "${first} ${second}"`}: ${Object.keys(group.commands).map((c) => `${first} ${c}`).join(', ')}`);
  }
  return { command, rest };
}

export async function main(argv: string[], io: Io, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  if (argv.length === 0 || argv[0] === '--help' || argv[0] === '-h' || argv[0] === 'help') {
    io.stdout(usage());
    return argv.length === 0 ? 2 : 0;
  }
  if (argv[0] === '--version' || argv[0] === 'version') {
    io.stdout(`mailnest ${version}\n`);
    return 0;
  }
  let context: ReturnType<typeof contextFor> | undefined;
  try {
    const { command, rest } = findCommand(argv);
    context = contextFor(command, rest, io, env);
    if (context.options.help) {
      io.stdout(commandHelp(command));
      return 0;
    }
    const status = await command.run(context);
    return typeof status === 'number' ? status : 0;
  } catch (error) {
    if (error instanceof UsageError) {
      io.stderr(`mailnest: ${error.message}\n`);
      return 2;
    }
    if (isUserError(error)) {
      io.stderr(`mailnest: ${error.message}\n`);
      return 1;
    }
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'SQLITE_BUSY') {
      io.stderr('mailnest: the database is busy (another command holds it); try again\n');
      return 1;
    }
    if (code === 'EACCES' || code === 'EROFS' || code === 'ENOSPC' || code === 'SQLITE_READONLY' || code === 'SQLITE_CANTOPEN' || code === 'SQLITE_FULL') {
      io.stderr(`mailnest: ${(error as Error).message} (check the data folder ${context?.dataDir ?? ''} and its disk)\n`);
      return 1;
    }
    io.stderr(`mailnest: internal error: ${(error as Error).stack ?? String(error)}\n`);
    return 70;
  } finally {
    context?.close();
  }
}
