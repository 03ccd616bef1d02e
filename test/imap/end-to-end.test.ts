// Mail delivered over SMTP, read, flagged, moved and deleted over IMAP with imapflow.

import test from 'ava';
import { imapClient } from '../helpers/imap-client.ts';
import { addFamily, startServices } from '../helpers/services.ts';
import { message, sendRaw } from '../helpers/smtp-client.ts';

test('a message delivered over SMTP is read, flagged, moved and deleted over IMAP', async (t) => {
  const env = await startServices(t);
  await addFamily(env.services);
  t.true((await sendRaw(env.ports.smtp!, 'friend@remote.test', ['alice@example.test'], message('Hello over IMAP', 'The body text.'))).ok);

  const client = await imapClient(t, env.ports.imap!);
  const lock = await client.getMailboxLock('INBOX');
  try {
    t.is((client.mailbox as { exists: number }).exists, 1);
    const fetched = await client.fetchOne('1', { envelope: true, source: true, flags: true, bodyStructure: true, uid: true });
    if (!fetched) return t.fail('message 1 not fetched');
    t.is(fetched.envelope!.subject, 'Hello over IMAP');
    t.regex(fetched.source!.toString(), /The body text\./);
    t.regex(fetched.source!.toString(), /^Return-Path: <friend@remote\.test>/);
    t.false(fetched.flags!.has('\\Seen'));
    await client.messageFlagsAdd('1', ['\\Flagged']);
    const flagged = await client.fetchOne('1', { flags: true });
    t.true(flagged && flagged.flags!.has('\\Flagged'));
    const moved = await client.messageMove('1', 'Archive');
    t.truthy(moved);
  } finally {
    lock.release();
  }
  const count = async (mailbox: string) => {
    const status = await client.status(mailbox, { messages: true });
    return status ? status.messages : -1;
  };
  t.is(await count('Archive'), 1);
  t.is(await count('INBOX'), 0);

  const archive = await client.getMailboxLock('Archive');
  try {
    await client.messageDelete('1:*');
  } finally {
    archive.release();
  }
  t.is(await count('Archive'), 0);
});
