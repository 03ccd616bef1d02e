// The shape of a CLI command, and the helpers every command shares: option
// parsing with node:util's parseArgs, opening the store of --data, reading a
// password from standard input, printing tables.

import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UserError } from '../services/core/errors.ts';
import { defaultDataDir, Store } from '../services/store/index.ts';

export class UsageError extends UserError {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

type OptionSpecs = NonNullable<ParseArgsConfig['options']>;

export interface Io {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
}

export interface Command {
  /** e.g. 'user add ADDRESS --password-stdin [--quota SIZE]' */
  usage: string;
  summary: string;
  options?: OptionSpecs;
  /** Positional arguments: [min, max]; max Infinity for a list. */
  positionals: [number, number];
  /**
   * True for a command that may start a new box: it makes the data folder and
   * its database when they are missing. Every other command, above all one
   * that only reads, refuses a folder without a database and creates
   * nothing, so a wrong --data is reported instead of showing an empty box.
   */
  createsData?: boolean;
  run(context: CommandContext): Promise<number | void> | number | void;
}

export interface CommandGroup {
  name: string;
  summary: string;
  commands: Record<string, Command>;
}

export interface CommandContext {
  args: string[];
  options: Record<string, string | boolean | string[] | undefined>;
  dataDir: string;
  io: Io;
  openStore(): Store;
}

export const commonOptions: OptionSpecs = {
  data: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
};

export function parseCommandLine(command: Command, argv: string[]): { args: string[]; options: CommandContext['options'] } {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: { ...commonOptions, ...command.options }, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError(`${(error as Error).message.replace(/\. To specify a positional argument.*$/s, '')}; usage: mailnest ${command.usage}`);
  }
  const [min, max] = command.positionals;
  const count = parsed.positionals.length;
  if (!parsed.values.help && (count < min || count > max)) {
    throw new UsageError(`${count < min ? 'missing arguments' : 'too many arguments'}; usage: mailnest ${command.usage}`);
  }
  return { args: parsed.positionals, options: parsed.values as CommandContext['options'] };
}

export function contextFor(command: Command, argv: string[], io: Io, env: NodeJS.ProcessEnv): CommandContext & { close(): void } {
  const { args, options } = parseCommandLine(command, argv);
  const dataDir = (options.data as string | undefined) ?? defaultDataDir(env);
  let store: Store | undefined;
  return {
    args,
    options,
    dataDir,
    io,
    openStore: () => (store ??= Store.open(dataDir, { create: command.createsData === true })),
    close: () => store?.close(),
  };
}

/**
 * Reads a password from standard input: everything up to EOF, less one trailing
 * line ending, so `echo secret | mailnest user add ...` and a file both work.
 */
export async function readPassword(context: CommandContext): Promise<string> {
  if (!context.options['password-stdin']) {
    throw new UsageError('give the password on standard input with --password-stdin (never on the command line)');
  }
  const { stdin } = context.io;
  if (stdin.isTTY) context.io.stderr('Type the password, then press Enter and Ctrl-D:\n');
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stdin) {
    const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string);
    size += buffer.length;
    if (size > 64 * 1024) throw new UserError('standard input is too long for a password');
    chunks.push(buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
  if (text === '') throw new UserError('the password is empty');
  if (/[\r\n]/.test(text)) throw new UserError('the password must be one line');
  return text;
}

/** Prints rows as aligned columns under a header. */
export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd();
  return [line(headers), ...rows.map(line)].join('\n') + '\n';
}

export function printJson(context: CommandContext, value: unknown): void {
  context.io.stdout(JSON.stringify(value, null, 2) + '\n');
}
