// The selected mailbox's view (session/selected.ts): sequence numbers over a
// Uint32Array of UIDs, sequence sets resolved to UID ranges without expanding
// them, and expunges applied in one compaction.

import test from 'ava';
import { parseSequenceSet } from '../src/protocol/sequence.ts';
import { SelectedMailbox } from '../src/session/selected.ts';
import { uidSetSize } from '../src/uid-set.ts';
import { selectedClient, user } from './helpers/server.ts';

function view(uids: number[]): SelectedMailbox {
  return new SelectedMailbox(null, 'INBOX', false, 1, 1, uids, []);
}

test('seq→UID by index, UID→seq by binary search', (t) => {
  const v = view([3, 7, 8, 20]);
  t.is(v.uidAt(2), 7);
  t.is(v.seqOf(20), 4);
  t.is(v.seqOf(9), 0);
  t.is(v.lastUid, 20);
});

test('sequence sets: *, reversed ranges, n:* past the end, strict bounds', (t) => {
  const v = view([3, 7, 8, 20]);
  const seq = (text: string, strict = true) => v.resolveSequence(parseSequenceSet(text, true), null, strict);
  t.deepEqual(seq('2:3'), [[7, 8]]);
  t.deepEqual(seq('3:2'), [[7, 8]]);
  t.deepEqual(seq('*'), [[20, 20]]);
  t.deepEqual(seq('9:*'), [[20, 20]]);
  t.deepEqual(seq('1,4'), [[3, 3], [20, 20]]);
  t.throws(() => seq('5'));
  t.deepEqual(seq('5', false), []);
  const uid = (text: string) => v.resolveUids(parseSequenceSet(text, true), null);
  t.deepEqual(uid('100:*'), [[20, 100]]);
  t.deepEqual(uid('*'), [[20, 20]]);
  t.deepEqual(uid('$'), []);
  t.deepEqual(view([]).resolveUids(parseSequenceSet('1:*', false), null), []);
});

test('100,000 messages: 1:* is one range, and a batch of expunges is one compaction', (t) => {
  const uids = Array.from({ length: 100_000 }, (_, i) => i + 1);
  const v = view(uids);
  t.deepEqual(v.resolveSequence(parseSequenceSet('1:*', false), null, true), [[1, 100_000]]);
  const expunged: [number, number][] = [];
  for (let uid = 10; uid <= 100_000; uid += 1000) expunged.push([uid, uid]);
  const seqs = v.remove(expunged);
  t.is(seqs.length, 100);
  t.is(seqs[0], 99_010);
  t.is(seqs[99], 10);
  t.is(v.count, 99_900);
  t.is(v.uidAt(10), 11);
  t.is(v.seqOf(100_000), 99_900);
  t.is(uidSetSize(v.allUids()), 99_900);
  v.append([100_001, 100_005]);
  t.is(v.uidAt(v.count), 100_005);
  t.throws(() => v.append([100_003]));
});

test('the backend is asked for UID ranges, never lists of UIDs', async (t) => {
  const { client, backend } = await selectedClient(t, 50);
  backend.calls.length = 0;
  await client.command('a1', 'FETCH 1:* (FLAGS)');
  await client.command('a2', 'UID FETCH 10:20,30:* (FLAGS)');
  t.deepEqual(backend.calls.filter((call) => call.startsWith('fetch')), ['fetch 1:50', 'fetch 10:20,30:50']);
  t.is(backend.mailbox(user, 'INBOX').messages.length, 50);
});
