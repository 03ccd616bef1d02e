// mbsync (isync), a real two-way synchroniser from Debian: it pulls the
// mailboxes into a local Maildir, then pushes local changes (a new message,
// read and deleted flags) back, and both sides end with the same messages
// and flags.

import test from 'ava';
import { execFile } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDataDir } from '../helpers/data-dir.ts';
import { imapClient } from '../helpers/imap-client.ts';
import { addFamily, startServices } from '../helpers/services.ts';
import { message, sendRaw } from '../helpers/smtp-client.ts';

function mbsync(config: string): Promise<{ code: number; output: string }> {
  return new Promise((resolve, reject) => {
    execFile('mbsync', ['--config', config, '--all', '--verbose'], { timeout: 60_000, encoding: 'utf8' }, (error, stdout, stderr) => {
      if ((error as NodeJS.ErrnoException | null)?.code === 'ENOENT') return reject(new Error('mbsync is not installed: apt-get install isync'));
      resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, output: stdout + stderr });
    });
  });
}

/** Maildir files of a folder: name → flags letters (from the ":2," info). */
function maildir(dir: string): Map<string, { file: string; flags: string; text: string }> {
  const out = new Map<string, { file: string; flags: string; text: string }>();
  for (const sub of ['cur', 'new']) {
    for (const file of readdirSync(join(dir, sub))) {
      const text = readFileSync(join(dir, sub, file), 'utf8');
      const subject = /^Subject: (.*)$/m.exec(text)?.[1]?.trim() ?? file;
      out.set(subject, { file: join(dir, sub, file), flags: /:2,([A-Z]*)$/.exec(file)?.[1] ?? '', text });
    }
  }
  return out;
}

test('mbsync pulls mail and flags into a Maildir and pushes local changes back', async (t) => {
  const env = await startServices(t);
  await addFamily(env.services);
  for (const subject of ['first', 'second', 'third']) {
    t.true((await sendRaw(env.ports.smtp!, 'friend@remote.test', ['alice@example.test'], message(subject, `This is the ${subject} message.`))).ok);
  }
  const client = await imapClient(t, env.ports.imap!);
  const lock = await client.getMailboxLock('INBOX');
  await client.messageFlagsAdd('2', ['\\Flagged']);
  lock.release();

  const local = tempDataDir(t, 'mailnest-maildir-');
  const config = join(local, 'mbsyncrc');
  mkdirSync(join(local, 'mail'));
  writeFileSync(
    config,
    [
      'IMAPAccount mailnest',
      'Host 127.0.0.1',
      `Port ${env.ports.imaps}`,
      'User alice@example.test',
      'Pass sesame-tulip-42',
      'SSLType IMAPS',
      `CertificateFile ${join(env.data, 'tls', 'cert.pem')}`,
      '',
      'IMAPStore remote',
      'Account mailnest',
      '',
      'MaildirStore local',
      `Path ${local}/mail/`,
      `Inbox ${local}/mail/INBOX`,
      'SubFolders Verbatim',
      '',
      'Channel sync',
      'Far :remote:',
      'Near :local:',
      'Patterns INBOX Archive',
      'Create Both',
      'Expunge Both',
      'SyncState *',
      '',
    ].join('\n'),
  );

  const first = await mbsync(config);
  t.is(first.code, 0, first.output);
  const inbox = maildir(join(local, 'mail', 'INBOX'));
  t.deepEqual([...inbox.keys()].sort(), ['first', 'second', 'third']);
  t.is(inbox.get('second')!.flags, 'F', 'the \\Flagged flag came down');
  t.regex(inbox.get('first')!.text, /This is the first message\./);

  // Local changes: read "first", delete "third", add a new message.
  const firstFile = inbox.get('first')!.file;
  renameSync(firstFile, firstFile.replace(/\/new\//, '/cur/').replace(/(:2,[A-Z]*)?$/, ':2,S'));
  const thirdFile = inbox.get('third')!.file;
  renameSync(thirdFile, thirdFile.replace(/\/new\//, '/cur/').replace(/(:2,[A-Z]*)?$/, ':2,T'));
  writeFileSync(join(local, 'mail', 'INBOX', 'new', `${Date.now()}.local.mailnest-test`), message('written offline', 'Composed without a connection.'));

  const second = await mbsync(config);
  t.is(second.code, 0, second.output);

  const check = await client.getMailboxLock('INBOX');
  try {
    // The session learns of the other client's changes at a command boundary (RFC 3501 §7.4.1).
    await client.noop();
    const messages: { subject: string; flags: string[] }[] = [];
    for await (const m of client.fetch('1:*', { envelope: true, flags: true, uid: true })) {
      if (m.envelope) messages.push({ subject: m.envelope.subject ?? '', flags: [...(m.flags ?? [])].filter((f) => f !== '\\Recent').sort() });
    }
    messages.sort((a, b) => a.subject.localeCompare(b.subject));
    t.deepEqual(messages, [
      { subject: 'first', flags: ['\\Seen'] },
      { subject: 'second', flags: ['\\Flagged'] },
      { subject: 'written offline', flags: [] },
    ]);
  } finally {
    check.release();
  }
  const after = maildir(join(local, 'mail', 'INBOX'));
  t.deepEqual([...after.keys()].sort(), ['first', 'second', 'written offline']);
  rmSync(join(local, 'mail'), { recursive: true, force: true });
});
