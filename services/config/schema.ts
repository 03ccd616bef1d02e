// The configuration schema: every setting Mailnest reads, with its type,
// default and meaning. Values come from, in order of precedence: a command-line
// flag for this run (`serve --port-offset 10000`), the settings table
// (`mailnest config set`), the default here. An invalid value stops the start
// with one line naming the setting.

import { isIP } from 'node:net';
import { hostname as osHostname } from 'node:os';
import { UserError } from '../core/errors.ts';
import type { LogLevel } from '../core/log.ts';
import { normalizeAddress } from '../store/address.ts';

export class ConfigError extends UserError {
  constructor(
    readonly key: string,
    problem: string,
  ) {
    super(`setting ${key}: ${problem}`);
    this.name = 'ConfigError';
  }
}

interface SettingType<T> {
  /** What a person may type, for error messages and `config list`. */
  describe: string;
  /** From command-line or `config set` text. Throws Error with a problem description. */
  parse(text: string): T;
  /** From a stored JSON value (or text). */
  accept(value: unknown): T;
  format(value: T): string;
}

export interface Setting<T> {
  key: string;
  description: string;
  type: SettingType<T>;
  default: () => T;
}

function setting<T>(key: string, type: SettingType<T>, defaultValue: T | (() => T), description: string): Setting<T> {
  return { key, type, description, default: typeof defaultValue === 'function' ? (defaultValue as () => T) : () => defaultValue };
}

function integer(min: number, max: number): SettingType<number> {
  const check = (n: number): number => {
    if (!Number.isSafeInteger(n)) throw new Error(`"${n}" is not a whole number`);
    if (n < min || n > max) throw new Error(`${n} is outside ${min}..${max}`);
    return n;
  };
  return {
    describe: `a whole number from ${min} to ${max}`,
    parse(text) {
      if (!/^-?\d+$/.test(text.trim())) throw new Error(`"${text}" is not a whole number`);
      return check(Number(text.trim()));
    },
    accept(value) {
      return typeof value === 'string' ? this.parse(value) : check(value as number);
    },
    format: String,
  };
}

const units: Record<string, number> = { '': 1, b: 1, k: 1024, kb: 1024, m: 1024 ** 2, mb: 1024 ** 2, g: 1024 ** 3, gb: 1024 ** 3, t: 1024 ** 4, tb: 1024 ** 4 };

/** Parses a size such as 50M, 1.5G or 4096; units are powers of 1024. */
export function parseBytes(text: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(text);
  const unit = match ? units[match[2]!.toLowerCase()] : undefined;
  if (!match || unit === undefined) throw new Error(`"${text}" is not a size (examples: 4096, 512K, 50M, 2G)`);
  const bytes = Math.round(Number(match[1]) * unit);
  if (!Number.isSafeInteger(bytes)) throw new Error(`"${text}" is too large`);
  return bytes;
}

export function formatBytes(bytes: number): string {
  for (const [suffix, size] of [['T', 1024 ** 4], ['G', 1024 ** 3], ['M', 1024 ** 2], ['K', 1024]] as const) {
    if (bytes >= size && bytes % size === 0) return `${bytes / size}${suffix}`;
  }
  return String(bytes);
}

function byteSize(min: number, max: number): SettingType<number> {
  const check = (n: number): number => {
    if (!Number.isSafeInteger(n) || n < min || n > max) throw new Error(`${formatBytes(n)} is outside ${formatBytes(min)}..${formatBytes(max)}`);
    return n;
  };
  return {
    describe: `a size from ${formatBytes(min)} to ${formatBytes(max)} (4096, 512K, 50M, 2G)`,
    parse: (text) => check(parseBytes(text)),
    accept(value) {
      return typeof value === 'string' ? this.parse(value) : check(value as number);
    },
    format: formatBytes,
  };
}

const hostnamePattern = /^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/i;

const hostnameType: SettingType<string> = {
  describe: 'a host name such as mail.example.com',
  parse(text) {
    const name = text.trim().toLowerCase();
    if (!hostnamePattern.test(name)) throw new Error(`"${text}" is not a valid host name`);
    return name;
  },
  accept(value) {
    if (typeof value !== 'string') throw new Error(`${JSON.stringify(value)} is not a host name`);
    return this.parse(value);
  },
  format: String,
};

const serverListType: SettingType<string[]> = {
  describe: 'DNS servers as IP or IP:port, separated by commas (empty: the system resolver)',
  parse(text) {
    return this.accept(text.split(',').map((s) => s.trim()).filter(Boolean));
  },
  accept(value) {
    if (typeof value === 'string') return this.parse(value);
    if (!Array.isArray(value)) throw new Error(`${JSON.stringify(value)} is not a list of servers`);
    for (const server of value) {
      const text = String(server);
      const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(text);
      const hostPort = bracketed ? [bracketed[1]!, bracketed[2]] : text.split(':').length === 2 ? text.split(':') : [text, undefined];
      const [host, port] = hostPort as [string, string | undefined];
      if (isIP(host) === 0 || (port !== undefined && !/^\d{1,5}$/.test(port))) throw new Error(`"${text}" is not an IP address or IP:port`);
    }
    return value.map(String);
  },
  format: (list) => list.join(','),
};

const addressListType: SettingType<string[]> = {
  describe: 'IP addresses separated by commas, such as 0.0.0.0,:: or 127.0.0.1',
  parse(text) {
    const list = text.split(',').map((s) => s.trim()).filter(Boolean);
    return this.accept(list);
  },
  accept(value) {
    if (typeof value === 'string') return this.parse(value);
    if (!Array.isArray(value) || value.length === 0) throw new Error('give at least one IP address');
    for (const address of value) {
      if (typeof address !== 'string' || isIP(address) === 0) throw new Error(`"${String(address)}" is not an IP address`);
    }
    return [...new Set(value as string[])];
  },
  format: (list) => list.join(','),
};

/** '' (nobody named) or a mail address, normalised as the store keys it. */
const optionalAddressType: SettingType<string> = {
  describe: 'the address of a user on this box, or nothing',
  parse(text) {
    return text.trim() === '' ? '' : normalizeAddress(text);
  },
  accept(value) {
    if (typeof value !== 'string') throw new Error(`${JSON.stringify(value)} is not an address`);
    return this.parse(value);
  },
  format: String,
};

function oneOf<const T extends string>(choices: readonly T[]): SettingType<T> {
  return {
    describe: `one of ${choices.join(', ')}`,
    parse(text) {
      const value = text.trim() as T;
      if (!choices.includes(value)) throw new Error(`"${text}" is not one of ${choices.join(', ')}`);
      return value;
    },
    accept(value) {
      return this.parse(String(value));
    },
    format: String,
  };
}

const durationUnits: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

export function formatDuration(ms: number): string {
  for (const [suffix, size] of [['d', 86_400_000], ['h', 3_600_000], ['m', 60_000]] as const) {
    if (ms >= size && ms % size === 0) return `${ms / size}${suffix}`;
  }
  return `${Math.round(ms / 1000)}s`;
}

/** A time span such as 30m, 6h or 1d, held in milliseconds; `off` (0) turns the thing off. */
function durationOrOff(minMs: number, maxMs: number): SettingType<number> {
  const check = (ms: number): number => {
    if (ms === 0) return 0;
    if (!Number.isSafeInteger(ms) || ms < minMs || ms > maxMs) throw new Error(`${formatDuration(ms)} is outside ${formatDuration(minMs)}..${formatDuration(maxMs)}`);
    return ms;
  };
  return {
    describe: `a time from ${formatDuration(minMs)} to ${formatDuration(maxMs)} (30m, 6h, 1d), or off`,
    parse(text) {
      if (text.trim().toLowerCase() === 'off') return 0;
      const match = /^\s*(\d+)\s*([smhd])\s*$/i.exec(text);
      if (!match) throw new Error(`"${text}" is not a time (examples: 30m, 6h, 1d)`);
      return check(Number(match[1]) * durationUnits[match[2]!.toLowerCase()]!);
    },
    accept(value) {
      return typeof value === 'string' ? this.parse(value) : check(value as number);
    },
    format: (ms) => (ms === 0 ? 'off' : formatDuration(ms)),
  };
}

/** '' (off) or HOST:PORT, as the port 25 probe takes it. */
const optionalHostPortType: SettingType<string> = {
  describe: 'HOST:PORT, or nothing to turn it off',
  parse(text) {
    const value = text.trim().toLowerCase();
    if (value === '') return '';
    const match = /^(\[[0-9a-f:.]+\]|[^:]+):(\d{1,5})$/.exec(value);
    const host = match?.[1]?.replace(/^\[|\]$/g, '');
    if (!match || !(isIP(host!) !== 0 || hostnamePattern.test(host!)) || Number(match[2]) < 1 || Number(match[2]) > 65535) throw new Error(`"${text}" is not HOST:PORT`);
    return value;
  },
  accept(value) {
    if (typeof value !== 'string') throw new Error(`${JSON.stringify(value)} is not HOST:PORT`);
    return this.parse(value);
  },
  format: String,
};

/** '' (off), NAME (asked through dns-servers) or NAME@SERVER (asked at that DNS server, IP or IP:port). */
const addressNameType: SettingType<string> = {
  describe: 'a DNS name, or NAME@SERVER to ask one DNS server (IP or IP:port), or nothing to turn it off',
  parse(text) {
    const value = text.trim().toLowerCase();
    if (value === '') return '';
    const [name, server, ...rest] = value.split('@');
    if (rest.length || !hostnamePattern.test(name!)) throw new Error(`"${text}" is not NAME or NAME@SERVER`);
    if (server !== undefined) serverListType.accept([server]);
    return value;
  },
  accept(value) {
    if (typeof value !== 'string') throw new Error(`${JSON.stringify(value)} is not a DNS name`);
    return this.parse(value);
  },
  format: String,
};

const zoneListType: SettingType<string[]> = {
  describe: 'DNS zone names separated by commas, such as zen.spamhaus.org,bl.spamcop.net (empty: none)',
  parse(text) {
    return this.accept(text.split(',').map((s) => s.trim()).filter(Boolean));
  },
  accept(value) {
    if (typeof value === 'string') return this.parse(value);
    if (!Array.isArray(value)) throw new Error(`${JSON.stringify(value)} is not a list of DNS names`);
    const names = value.map((v) => String(v).toLowerCase());
    for (const name of names) if (!hostnamePattern.test(name)) throw new Error(`"${name}" is not a DNS name`);
    return [...new Set(names)];
  },
  format: (list) => list.join(','),
};

/** One DNS label (RFC 1035 letters, digits, hyphens): the `<name>` of `<name>.local`. */
const dnsLabelType: SettingType<string> = {
  describe: 'one name of letters, digits and hyphens, such as mailnest (for mailnest.local)',
  parse(text) {
    const label = text.trim().toLowerCase().replace(/\.local\.?$/, '');
    if (!/^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/.test(label)) throw new Error(`"${text}" is not one name of letters, digits and hyphens (at most 63)`);
    return label;
  },
  accept(value) {
    if (typeof value !== 'string') throw new Error(`${JSON.stringify(value)} is not a name`);
    return this.parse(value);
  },
  format: String,
};

function defaultHostname(): string {
  const name = osHostname().toLowerCase();
  return hostnamePattern.test(name) ? name : 'mailnest';
}

export const schema = {
  hostname: setting('hostname', hostnameType, defaultHostname, 'The name this server greets with (SMTP banner, Received headers, TLS certificate).'),
  portOffset: setting('port-offset', integer(0, 60000), 0, 'Added to every standard port: 10000 puts SMTP on 10025 and IMAP on 10143.'),
  listen: setting('listen', addressListType, ['0.0.0.0', '::'], 'The IP addresses every service listens on.'),
  messageSizeLimit: setting('message-size-limit', byteSize(64 * 1024, 1024 ** 3), 50 * 1024 ** 2, 'The largest message accepted over SMTP or IMAP APPEND.'),
  maxRecipients: setting('max-recipients', integer(1, 10000), 100, 'The most recipients one message may have.'),
  dnsServers: setting('dns-servers', serverListType, [] as string[], 'DNS servers for MX lookups of outgoing mail and the sender checks (SPF, DKIM, DMARC) of incoming mail; empty uses the system resolver.'),
  filterDmarcExempt: setting(
    'filter-dmarc-exempt',
    zoneListType,
    [] as string[],
    'Sender (From) domains whose mail failing a DMARC p=reject policy is delivered anyway, with dmarc=fail in Authentication-Results; empty: none.',
  ),
  postmaster: setting(
    'postmaster',
    optionalAddressType,
    '',
    'The user who gets mail for postmaster and abuse@ every domain (and DMARC reports); empty: the first user made on the box.',
  ),
  logLevel: setting('log-level', oneOf(['debug', 'info', 'warn', 'error'] as const satisfies readonly LogLevel[]), 'info', 'How much is logged.'),
  // Connection limits, each applied per service (IMAP, POP3, each SMTP port): high enough that a family behind one router never meets them.
  maxConnectionsPerAddress: setting('max-connections-per-address', integer(1, 10000), 20, 'The most connections one client address (an IPv6 /64) may hold open to one service; more are refused with a temporary error.'),
  maxConnections: setting('max-connections', integer(1, 100000), 200, 'The most connections one service (IMAP, POP3, each SMTP port) holds open in all; more are refused with a temporary error.'),
  // The home-line doctor (services/doctor): what it probes, and how often.
  doctorInterval: setting(
    'doctor-interval',
    durationOrOff(10 * 60_000, 7 * 86_400_000),
    6 * 3_600_000,
    'How often the doctor checks port 25, reverse DNS, the DNSBLs and each domain\'s DNS records (first 30 s after the start); off: only when asked.',
  ),
  doctorPort25Probe: setting('doctor-port25-probe', optionalHostPortType, 'portquiz.net:25', 'HOST:PORT the doctor connects to, to learn whether the line lets mail out on port 25; empty: no probe.'),
  doctorPublicAddressName: setting(
    'doctor-public-address-name',
    addressNameType,
    'myip.opendns.com@208.67.222.222',
    'A DNS name whose A record is the box\'s public address (NAME@SERVER asks that server); empty: the A record of the hostname is taken.',
  ),
  doctorDnsbls: setting('doctor-dnsbls', zoneListType, ['zen.spamhaus.org', 'bl.spamcop.net', 'b.barracudacentral.org'], 'The DNS block lists the doctor looks the public address up in.'),
  mdns: setting('mdns', oneOf(['on', 'off', 'auto'] as const), 'auto', 'Multicast DNS on the LAN (the box answers as <mdns-name>.local and advertises its services); auto: on unless the box listens on loopback only.'),
  mdnsName: setting('mdns-name', dnsLabelType, 'mailnest', 'The name the box claims on the LAN: mailnest answers as mailnest.local (or mailnest-2.local when another host has it).'),
};

export type Schema = typeof schema;
export type SettingName = keyof Schema;
export type Config = { readonly [K in SettingName]: ReturnType<Schema[K]['default']> };

const byKey = new Map<string, SettingName>(Object.entries(schema).map(([name, s]) => [s.key, name as SettingName]));

export function settingKeys(): string[] {
  return [...byKey.keys()];
}

export function findSetting(key: string): Setting<unknown> {
  const name = byKey.get(key);
  if (!name) throw new UserError(`there is no setting "${key}"; the settings are: ${settingKeys().join(', ')}`);
  return schema[name] as Setting<unknown>;
}

/** Parses text typed by a person for a setting; throws ConfigError. */
export function parseSetting(key: string, text: string): unknown {
  const spec = findSetting(key);
  try {
    return spec.type.parse(text);
  } catch (error) {
    throw new ConfigError(key, `${(error as Error).message}; expected ${spec.type.describe}`);
  }
}

export function formatSetting(key: string, value: unknown): string {
  return findSetting(key).type.format(value);
}

export interface ConfigSources {
  /** Stored values by key, as JSON (from the settings table). */
  stored: ReadonlyMap<string, unknown>;
  /** Text values by key from this run's flags. */
  overrides?: Readonly<Record<string, string>>;
}

export type SettingSource = 'flag' | 'stored' | 'default';

/** Builds the configuration; throws ConfigError naming the first bad setting. */
export function resolveConfig(sources: ConfigSources): { config: Config; origin: Record<string, SettingSource> } {
  const config: Record<string, unknown> = {};
  const origin: Record<string, SettingSource> = {};
  for (const [name, spec] of Object.entries(schema) as [SettingName, Setting<unknown>][]) {
    const flag = sources.overrides?.[spec.key];
    try {
      if (flag !== undefined) {
        config[name] = spec.type.parse(flag);
        origin[spec.key] = 'flag';
      } else if (sources.stored.has(spec.key)) {
        config[name] = spec.type.accept(sources.stored.get(spec.key));
        origin[spec.key] = 'stored';
      } else {
        config[name] = spec.default();
        origin[spec.key] = 'default';
      }
    } catch (error) {
      const where = flag !== undefined ? 'from the command line' : 'stored in the database';
      throw new ConfigError(spec.key, `${(error as Error).message} (${where}); expected ${spec.type.describe}`);
    }
  }
  for (const key of Object.keys(sources.overrides ?? {})) findSetting(key);
  return { config: config as Config, origin };
}

/** The value in effect for a setting key. */
export function configValue(config: Config, key: string): unknown {
  const name = byKey.get(key);
  if (!name) findSetting(key);
  return config[name!];
}
