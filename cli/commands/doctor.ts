import { loadConfig } from '../../services/config/index.ts';
import { defaultTimings, doctorReport, runChecks } from '../../services/doctor/index.ts';
import { printJson, type Command } from '../command.ts';

const marks = { ok: 'ok', warning: 'WARNING', alarm: 'ALARM', unknown: 'unknown' } as const;

export const doctorCommand: Command = {
  usage: 'doctor [--json]',
  summary: 'check the home line and the DNS now (port 25, reverse DNS, DNSBLs, MX, SPF, DKIM, DMARC, SRV); exit status 1 when something is in alarm',
  options: { json: { type: 'boolean' } },
  positionals: [0, 0],
  async run(context) {
    const store = context.openStore();
    const { config } = loadConfig(store);
    // The same run as the services' own: it is recorded, so it counts toward an alarm (a second failure in a row).
    const done = await runChecks(store, config, defaultTimings, new AbortController().signal);
    if (!done) throw new Error('the doctor run did not finish');
    const report = doctorReport(store, false);
    const alarm = report.findings.some((f) => f.status === 'alarm');
    if (context.options.json) {
      printJson(context, report);
    } else {
      const lines: string[] = [];
      for (const f of report.findings) {
        lines.push(`${marks[f.status].padEnd(7)}  ${f.title}${f.failures > 1 ? ` (failed ${f.failures} times in a row)` : ''}`);
        if (f.status !== 'ok') {
          lines.push(`         ${f.detail}`);
          if (f.fix) lines.push(`         What to do: ${f.fix}`);
        }
      }
      const counts = (['alarm', 'warning', 'unknown'] as const).map((s) => [s, report.findings.filter((f) => f.status === s).length] as const).filter(([, n]) => n > 0);
      lines.push('', counts.length ? counts.map(([s, n]) => `${n} ${s === 'alarm' ? 'in alarm' : s === 'warning' ? `warning${n === 1 ? '' : 's'}` : 'not checked'}`).join(', ') : 'everything is fine');
      if (report.findings.some((f) => f.status === 'warning')) lines.push('A warning becomes an alarm when the check fails again at the next run.');
      context.io.stdout(lines.join('\n') + '\n');
    }
    return alarm ? 1 : 0;
  },
};
