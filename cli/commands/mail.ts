import { formatBytes } from '../../services/config/index.ts';
import { UserError } from '../../services/core/errors.ts';
import { systemFlags } from '../../services/store/index.ts';
import { printJson, table, type CommandGroup } from '../command.ts';

const flagNames: [number, string][] = [
  [systemFlags.seen, '\\Seen'],
  [systemFlags.answered, '\\Answered'],
  [systemFlags.flagged, '\\Flagged'],
  [systemFlags.deleted, '\\Deleted'],
  [systemFlags.draft, '\\Draft'],
];

function flagList(flags: number, keywords: string[]): string[] {
  return [...flagNames.filter(([bit]) => flags & bit).map(([, name]) => name), ...keywords];
}

function size(bytes: number): string {
  if (bytes < 1024) return `${bytes}B`;
  if (bytes < 1024 ** 2) return `${(bytes / 1024).toFixed(1)}K`;
  return `${(bytes / 1024 ** 2).toFixed(1)}M`;
}

export const mailboxCommands: CommandGroup = {
  name: 'mailbox',
  summary: "a user's folders",
  commands: {
    list: {
      usage: 'mailbox list USER [--json]',
      summary: "list a user's mailboxes with their message counts and sizes",
      options: { json: { type: 'boolean' } },
      positionals: [1, 1],
      run(context) {
        const store = context.openStore();
        const account = store.accounts.get(context.args[0]!);
        const mailboxes = store.mail.listMailboxes(account.id);
        const subscribed = store.mail.mailboxes.subscriptions(account.id);
        if (context.options.json) {
          return printJson(
            context,
            mailboxes.map((m) => ({ name: m.name, specialUse: m.specialUse, messages: m.messages, unseen: m.unseen, size: m.size, uidValidity: m.uidValidity, uidNext: m.uidNext, subscribed: subscribed.has(m.name), noselect: m.noselect })),
          );
        }
        const { usedBytes, quotaBytes } = store.mail.usage(account.id);
        context.io.stdout(table(['MAILBOX', 'ROLE', 'MESSAGES', 'UNSEEN', 'SIZE'], mailboxes.map((m) => [m.name, m.specialUse ?? '', String(m.messages), String(m.unseen), size(m.size)])));
        context.io.stdout(`used ${size(usedBytes)} of ${quotaBytes ? formatBytes(quotaBytes) : 'unlimited'}\n`);
      },
    },
  },
};

export const messageCommands: CommandGroup = {
  name: 'message',
  summary: 'messages in a mailbox',
  commands: {
    list: {
      usage: 'message list USER [MAILBOX] [--json]',
      summary: 'list the messages of a mailbox (INBOX unless named), oldest first',
      options: { json: { type: 'boolean' } },
      positionals: [1, 2],
      run(context) {
        const store = context.openStore();
        const account = store.accounts.get(context.args[0]!);
        const name = context.args[1] ?? 'INBOX';
        const mailbox = store.mail.findMailbox(account.id, name);
        if (!mailbox) throw new UserError(`${account.address} has no mailbox "${name}"; see: mailnest mailbox list ${account.address}`);
        const messages = store.mail.listMessages(mailbox.id);
        if (context.options.json) {
          return printJson(
            context,
            messages.map((m) => ({
              uid: m.uid,
              from: m.from,
              subject: m.subject,
              date: m.sentAt === null ? null : new Date(m.sentAt).toISOString(),
              received: new Date(m.internalDate).toISOString(),
              size: m.size,
              flags: flagList(m.flags, m.keywords),
              messageId: m.messageId,
            })),
          );
        }
        if (messages.length === 0) return context.io.stdout(`${mailbox.name} of ${account.address} is empty\n`);
        context.io.stdout(
          table(
            ['UID', 'RECEIVED', 'FROM', 'SUBJECT', 'SIZE', 'FLAGS'],
            messages.map((m) => [String(m.uid), new Date(m.internalDate).toISOString().slice(0, 16).replace('T', ' '), m.from.slice(0, 40), m.subject.slice(0, 60), size(m.size), flagList(m.flags, m.keywords).join(' ')]),
          ),
        );
      },
    },
  },
};
