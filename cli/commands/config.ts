// `mailnest config`: the stored settings (services/config). Every change of a
// stored setting touches <data>/run/settings-changed, so that a supervisor
// waiting on a bad setting tries again; `config list` also shows, while a
// server runs, the values it uses (run/config.json; services/core/run-files.ts).

import { configValue, findSetting, formatSetting, loadConfig, resetSetting, schema, storeSetting } from '../../services/config/index.ts';
import { markSettingsChanged, readRunConfig } from '../../services/core/run-files.ts';
import { printJson, table, UsageError, type CommandGroup } from '../command.ts';

/** A value from run/config.json as `config list` prints values; one this Mailnest cannot read is shown as JSON. */
function formatInEffect(key: string, value: unknown): string {
  try {
    return formatSetting(key, value);
  } catch {
    return JSON.stringify(value);
  }
}

export const configCommands: CommandGroup = {
  name: 'config',
  summary: 'settings (stored in the database; `serve` flags override them for one run)',
  commands: {
    get: {
      usage: 'config get KEY',
      summary: 'print the value in effect',
      positionals: [1, 1],
      run({ args, openStore, io }) {
        const key = args[0]!;
        findSetting(key);
        const { config } = loadConfig(openStore());
        io.stdout(formatSetting(key, configValue(config, key)) + '\n');
      },
    },
    set: {
      usage: 'config set KEY VALUE',
      createsData: true,
      summary: 'store a value; it takes effect at the next start',
      positionals: [2, 2],
      run({ args, openStore, io, dataDir }) {
        const value = storeSetting(openStore(), args[0]!, args[1]!);
        markSettingsChanged(dataDir);
        io.stdout(`${args[0]} = ${formatSetting(args[0]!, value)} (takes effect when Mailnest next starts)\n`);
      },
    },
    unset: {
      usage: 'config unset KEY',
      createsData: true,
      summary: 'forget the stored value, so the default applies',
      positionals: [1, 1],
      run({ args, openStore, io, dataDir }) {
        const removed = resetSetting(openStore(), args[0]!);
        if (removed) markSettingsChanged(dataDir);
        io.stdout(removed ? `${args[0]} is back to its default\n` : `${args[0]} had no stored value\n`);
      },
    },
    reset: {
      usage: 'config reset --all',
      createsData: true,
      summary: 'forget every stored setting (the factory reset; accounts and mail are kept)',
      options: { all: { type: 'boolean' } },
      positionals: [0, 0],
      run({ options, openStore, io, dataDir }) {
        if (!options.all) throw new UsageError('config reset forgets every stored setting; confirm with --all (to reset one, use config unset KEY)');
        const count = openStore().settings.clear();
        if (count > 0) markSettingsChanged(dataDir);
        io.stdout(`forgot ${count} stored setting${count === 1 ? '' : 's'}; defaults apply from the next start\n`);
      },
    },
    list: {
      usage: 'config list [--json]',
      summary: 'every setting with its value, where the value comes from, what it means, and, while Mailnest runs, the value it uses',
      options: { json: { type: 'boolean' } },
      positionals: [0, 0],
      run(context) {
        const { config, origin } = loadConfig(context.openStore());
        // A running server may use other values (`serve --KEY VALUE`, `--port-offset`): it says which in run/config.json.
        const running = readRunConfig(context.dataDir);
        const rows = (Object.keys(schema) as (keyof typeof schema)[]).map((name) => {
          const key = schema[name].key;
          const inEffect = running && Object.hasOwn(running.settings, key) ? running.settings[key] : undefined;
          return {
            key,
            value: config[name],
            text: formatSetting(key, config[name]),
            source: origin[key]!,
            description: schema[name].description,
            inEffect: inEffect ?? null,
            inEffectText: inEffect === undefined ? '' : `${formatInEffect(key, inEffect)}${running!.sources[key] === 'flag' ? ' (flag)' : ''}`,
          };
        });
        if (context.options.json) {
          return printJson(
            context,
            rows.map(({ text: _text, inEffectText: _inEffectText, ...row }) => row),
          );
        }
        if (!running) {
          context.io.stdout(table(['KEY', 'VALUE', 'SOURCE', 'MEANING'], rows.map((r) => [r.key, r.text, r.source, r.description])));
          return;
        }
        context.io.stdout(table(['KEY', 'VALUE', 'SOURCE', 'IN EFFECT', 'MEANING'], rows.map((r) => [r.key, r.text, r.source, r.inEffectText, r.description])));
        context.io.stdout(`\nIN EFFECT: what the Mailnest serving this folder (pid ${running.pid}, started ${running.startedAt}) uses; VALUE applies from its next start.\n`);
      },
    },
  },
};
