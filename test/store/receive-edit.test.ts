// receiveMessage with a check that may edit the body (the content filter's
// headers): the first file stays a draft in tmp/ and is never synced or named
// by a row; an edit is written once, durably, and the draft goes; no edit
// promotes the draft itself; a refusal leaves nothing behind.

import test from 'ava';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { createBodyAnalyzer } from '../../services/delivery/analyzer.ts';
import { Store } from '../../services/store/index.ts';
import { receiveMessage, type BodyEdit } from '../../services/store/receive.ts';
import { tempDataDir } from '../helpers/data-dir.ts';
import { sample } from '../helpers/mail.ts';

function setup(t: Parameters<typeof tempDataDir>[0]) {
  const dir = tempDataDir(t);
  const store = Store.open(dir);
  t.teardown(() => store.close());
  const bodies = () => readdirSync(join(dir, 'messages'), { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
  const drafts = () => readdirSync(join(dir, 'tmp'));
  return { store, bodies, drafts };
}

async function receive(store: Store, check: (path: string) => BodyEdit | undefined | never) {
  let seenInTmp = false;
  const result = await receiveMessage(store.mail.files, createBodyAnalyzer(), Readable.from([Buffer.from(sample(1))]), {}, {
    analyzer: createBodyAnalyzer,
    check: (body) => {
      const path = store.mail.files.absolute(body.file.file);
      seenInTmp = path.includes(`${join('/', 'tmp', '')}`);
      return check(path);
    },
    commit: (body) => body.file.file,
  });
  return { result, seenInTmp };
}

test('an edit is written once as the durable file; the draft it was made from goes', async (t) => {
  const { store, bodies, drafts } = setup(t);
  const added = Buffer.from('Authentication-Results: mx.example.test; none\r\n');
  const { result, seenInTmp } = await receive(store, () => ({ insertAt: 0, insert: added, drop: [] }));
  t.true(seenInTmp, 'the check reads the draft in tmp/');
  t.true(result.ok);
  if (!result.ok) return;
  t.false(result.committed.startsWith('..'), 'the row names a file under messages/');
  t.deepEqual(drafts(), [], 'no draft is left');
  t.is(bodies().length, 1);
  t.deepEqual(readFileSync(store.mail.files.absolute(result.committed)), Buffer.concat([added, Buffer.from(sample(1))]));
});

test('without an edit the draft itself becomes the durable file', async (t) => {
  const { store, bodies, drafts } = setup(t);
  const { result } = await receive(store, () => undefined);
  t.true(result.ok);
  if (!result.ok) return;
  t.false(result.committed.startsWith('..'));
  t.deepEqual(drafts(), []);
  t.deepEqual(readFileSync(store.mail.files.absolute(result.committed)), Buffer.from(sample(1)));
  t.is(bodies().length, 1);
});

test('a refusal by the check leaves neither the draft nor a body', async (t) => {
  const { store, bodies, drafts } = setup(t);
  await t.throwsAsync(
    receive(store, () => {
      throw new Error('refused');
    }),
    { message: 'refused' },
  );
  t.deepEqual(drafts(), []);
  t.deepEqual(bodies(), []);
});
