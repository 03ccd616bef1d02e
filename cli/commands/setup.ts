// `mailnest setup`: the first-boot wizard's state from the shell.
// - status: unclaimed | claimed | complete, and the setup code while the box
//   is not set up (only someone with a shell on the box can read it, like the
//   console that shows it);
// - claim: stands in for the box's button (development, boards without one):
//   writes <data>/run/button-press, which the running server acts on;
// - admin-password: sets the web admin password, for an owner who set the box
//   up with the CLI; a box with a domain and a mailbox is then complete.

import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { X509Certificate } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { UserError } from '../../services/core/errors.ts';
import { buttonPressPath, readSetupCode, setupCodePath, writeButtonPress } from '../../services/web/setup.ts';
import type { Store } from '../../services/store/index.ts';
import { printJson, readPassword, type CommandContext, type CommandGroup } from '../command.ts';

function certificateSha256(dataDir: string): string | undefined {
  try {
    return new X509Certificate(readFileSync(join(dataDir, 'tls', 'cert.pem'))).fingerprint256;
  } catch {
    return undefined;
  }
}

function steps(store: Store): { adminPassword: boolean; domain: boolean; mailbox: boolean } {
  return {
    adminPassword: store.admin.isSet(),
    domain: store.domains.list().length > 0,
    mailbox: store.db.prepare('SELECT EXISTS (SELECT 1 FROM accounts)').pluck().get() === 1,
  };
}

/** Waits (bounded) for the running server to take the press file; false when nobody did. */
async function pressTaken(path: string, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!existsSync(path)) return true;
    await sleep(100);
  }
  return !existsSync(path);
}

export const setupCommands: CommandGroup = {
  name: 'setup',
  summary: 'the first-boot wizard: its state, the button, the admin password',
  commands: {
    status: {
      usage: 'setup status [--json]',
      summary: 'whether the box is unclaimed, claimed or set up (and the setup code until it is)',
      options: { json: { type: 'boolean' } },
      positionals: [0, 0],
      run(context: CommandContext) {
        const store = context.openStore();
        const state = store.setup.get();
        const code = state === 'complete' ? undefined : readSetupCode(context.dataDir);
        const sha256 = certificateSha256(context.dataDir);
        const done = steps(store);
        if (context.options.json) return printJson(context, { state, ...(code ? { code } : {}), certificate: sha256 ? { sha256 } : null, steps: done });
        const lines = [`state: ${state}`];
        if (state !== 'complete') lines.push(code ? `setup code: ${code}` : 'setup code: none yet (mailnest serve makes one when it starts)');
        if (sha256) lines.push(`certificate sha256: ${sha256}`);
        lines.push(`admin password: ${done.adminPassword ? 'set' : 'not set'}`, `mail domain: ${done.domain ? 'yes' : 'none'}`, `mailbox: ${done.mailbox ? 'yes' : 'none'}`);
        if (state === 'unclaimed') lines.push('', 'Open https://<the box>/setup in a browser, then type the setup code or choose the button (mailnest setup claim stands in for it).');
        context.io.stdout(lines.join('\n') + '\n');
      },
    },
    claim: {
      usage: 'setup claim',
      summary: "press the box's button: the one browser waiting on the setup page claims the box",
      positionals: [0, 0],
      async run(context: CommandContext) {
        const store = context.openStore();
        if (store.setup.get() === 'complete') throw new UserError('this box is already set up: there is nothing to claim');
        const before = store.setup.changedAt();
        writeButtonPress(context.dataDir, 'cli');
        const path = buttonPressPath(context.dataDir);
        if (!(await pressTaken(path, 5000))) {
          rmSync(path, { force: true });
          throw new UserError('no running Mailnest took the press; start it (mailnest serve or make run), open the setup page, choose the button, then run this again');
        }
        if (store.setup.changedAt() !== before && store.setup.get() === 'claimed') {
          context.io.stdout('pressed: the browser that was waiting has claimed the box\n');
          return;
        }
        context.io.stdout('pressed, but no single browser was waiting, so nobody claimed the box (the server log says why); on the setup page choose the button, then run this again\n');
        return 1;
      },
    },
    'admin-password': {
      usage: 'setup admin-password --password-stdin',
      summary: 'set the password of the web admin ("admin"); a box with a domain and a mailbox is then set up',
      options: { 'password-stdin': { type: 'boolean' } },
      positionals: [0, 0],
      async run(context: CommandContext) {
        const password = await readPassword(context);
        const store = context.openStore();
        await store.admin.setPassword(password);
        const ended = store.webSessions.deleteAdminSessions();
        const lines = ['admin password set; sign in to the web interface as "admin"'];
        if (ended) lines.push(`signed out ${ended} admin session${ended === 1 ? '' : 's'}`);
        if (store.setup.get() !== 'complete') {
          const done = steps(store);
          if (done.domain && done.mailbox && store.setup.move(['unclaimed', 'claimed'], 'complete')) {
            rmSync(setupCodePath(context.dataDir), { force: true });
            store.webSessions.deleteSetupSessions();
            lines.push('the box has a domain and a mailbox: setup is complete, the setup wizard is closed');
          } else lines.push('setup is not complete yet: add a domain and a mailbox (mailnest domain add, mailnest user add), or finish the wizard in the browser');
        }
        context.io.stdout(lines.join('\n') + '\n');
      },
    },
  },
};
