// One line per event, logfmt-style: time, level, the service, a message, then
// key=value fields. A connection id travels as a field (`cid`), so one session
// can be followed with grep. Fields whose names suggest a secret are redacted
// here, so that no call site can leak a password by accident.

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type LogFields = Record<string, unknown>;

const levelRank: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };
const secretField = /pass|secret|token|credential/i;

export interface LogSink {
  write(line: string): void;
}

export class Logger {
  constructor(
    private readonly sink: LogSink,
    private readonly threshold: LogLevel = 'info',
    private readonly service = '',
    private readonly base: LogFields = {},
  ) {}

  child(service: string, fields: LogFields = {}): Logger {
    return new Logger(this.sink, this.threshold, service || this.service, { ...this.base, ...fields });
  }

  with(fields: LogFields): Logger {
    return new Logger(this.sink, this.threshold, this.service, { ...this.base, ...fields });
  }

  debug(msg: string, fields?: LogFields): void {
    this.log('debug', msg, fields);
  }
  info(msg: string, fields?: LogFields): void {
    this.log('info', msg, fields);
  }
  warn(msg: string, fields?: LogFields): void {
    this.log('warn', msg, fields);
  }
  error(msg: string, fields?: LogFields): void {
    this.log('error', msg, fields);
  }

  enabled(level: LogLevel): boolean {
    return levelRank[level] >= levelRank[this.threshold];
  }

  log(level: LogLevel, msg: string, fields?: LogFields): void {
    if (!this.enabled(level)) return;
    let line = `${new Date().toISOString()} ${level} ${this.service || '-'} ${quote(msg)}`;
    const all = fields ? { ...this.base, ...fields } : this.base;
    for (const [key, value] of Object.entries(all)) {
      if (value === undefined) continue;
      line += ` ${key}=${secretField.test(key) ? '[redacted]' : quote(render(value))}`;
    }
    this.sink.write(line + '\n');
  }
}

function render(value: unknown): string {
  if (value instanceof Error) return value.message;
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  if (value === null) return 'null';
  return JSON.stringify(value) ?? String(value);
}

/** Quotes a value when it holds spaces, quotes, '=' or control characters, so each line stays one event. */
function quote(text: string): string {
  if (text !== '' && !/[\s"=\\\x00-\x1f\x7f]/.test(text)) return text;
  return JSON.stringify(text);
}

export function consoleLogger(level: LogLevel = 'info'): Logger {
  return new Logger({ write: (line) => process.stdout.write(line) }, level);
}

/** A logger that keeps its lines, for tests and for commands that report them later. */
export function memoryLogger(level: LogLevel = 'debug'): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  return { logger: new Logger({ write: (line) => lines.push(line.trimEnd()) }, level), lines };
}

export const silentLogger = new Logger({ write: () => {} }, 'error');
