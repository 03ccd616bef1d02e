import { hostnameAdvice, loadConfig } from '../../services/config/index.ts';
import { domainRecords, ensureDomainKeys, zoneFile } from '../../services/dkim/index.ts';
import { printJson, table, type CommandGroup } from '../command.ts';

export const domainCommands: CommandGroup = {
  name: 'domain',
  summary: 'the domains this server receives mail for',
  commands: {
    add: {
      usage: 'domain add DOMAIN',
      createsData: true,
      summary: 'add a local domain and make its DKIM keys (IDN names are stored in their xn-- form)',
      positionals: [1, 1],
      run({ args, openStore, io }) {
        const store = openStore();
        const domain = store.domains.add(args[0]!);
        ensureDomainKeys(store.paths.dkim, domain.name);
        io.stdout(`added domain ${domain.name}${domain.displayName !== domain.name ? ` (${domain.displayName})` : ''}; publish its DNS records: mailnest domain dns ${domain.name}\n`);
      },
    },
    list: {
      usage: 'domain list [--json]',
      summary: 'list local domains with their numbers of users and aliases',
      options: { json: { type: 'boolean' } },
      positionals: [0, 0],
      run(context) {
        const domains = context.openStore().domains.list();
        if (context.options.json) {
          return printJson(
            context,
            domains.map((d) => ({ name: d.name, displayName: d.displayName, users: d.users, aliases: d.aliases, createdAt: d.createdAt.toISOString() })),
          );
        }
        if (domains.length === 0) return context.io.stdout('no domains yet; add one with: mailnest domain add example.com\n');
        context.io.stdout(table(['DOMAIN', 'USERS', 'ALIASES'], domains.map((d) => [d.displayName === d.name ? d.name : `${d.name} (${d.displayName})`, String(d.users), String(d.aliases)])));
      },
    },
    dns: {
      usage: 'domain dns DOMAIN [--json]',
      summary: 'print the DNS records to publish: MX, SPF, DKIM, DMARC and the SRV records mail programs use',
      options: { json: { type: 'boolean' } },
      positionals: [1, 1],
      run(context) {
        const store = context.openStore();
        const domain = store.domains.get(context.args[0]!);
        const { config } = loadConfig(store);
        const records = domainRecords(domain.name, config.hostname, ensureDomainKeys(store.paths.dkim, domain.name));
        // The records name the hostname as the MX target: a machine name there is the most common broken install.
        const warnings = [hostnameAdvice(config.hostname, [domain.name])?.message].filter((w): w is string => w !== undefined);
        if (context.options.json) return printJson(context, { domain: domain.name, hostname: config.hostname, warnings, records });
        context.io.stdout(
          warnings.map((w) => `; WARNING: ${w}\n`).join('') +
            `; DNS records for ${domain.name}: publish them at your DNS provider.\n` +
            `; ${config.hostname} (the hostname setting) must also have an A (and AAAA) record with your public address.\n\n` +
            zoneFile(records) +
            '\n',
        );
      },
    },
    remove: {
      usage: 'domain remove DOMAIN',
      summary: 'remove a domain that has no users left (its aliases go with it)',
      positionals: [1, 1],
      run({ args, openStore, io }) {
        const store = openStore();
        const name = store.domains.get(args[0]!).name;
        const { aliasesRemoved } = store.domains.remove(name);
        io.stdout(`removed domain ${name}${aliasesRemoved ? ` and its ${aliasesRemoved} alias destination${aliasesRemoved === 1 ? '' : 's'}` : ''}\n`);
      },
    },
  },
};
