// Fuzzing the parser and the command loop over real sockets: random octets,
// mutated valid commands, and valid scripts cut into random chunks. For each
// input the server must answer (a tagged response, or an untagged BAD when no
// tag can be read), never report an internal error, keep answering the next
// connection, and stay within bounded time and memory. The generator is
// seeded, so a failure is reproducible from the seed in its message.

import test from 'ava';
import { CommandReader, type ReaderEntry } from '../src/protocol/reader.ts';
import { ArgReader } from '../src/protocol/args.ts';
import { parseFetchItems } from '../src/fetch/items.ts';
import { parseSearchProgram } from '../src/search/query.ts';
import { SelectedMailbox } from '../src/session/selected.ts';
import { ParseError } from '../src/protocol/parser.ts';
import { CommandError } from '../src/errors.ts';
import { RawClient } from './helpers/raw-client.ts';
import { message, startServer, user } from './helpers/server.ts';

function random(seed: number) {
  let state = seed >>> 0 || 1;
  return () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 4294967296;
  };
}

const commands = [
  'NOOP',
  'CAPABILITY',
  'SELECT INBOX',
  'EXAMINE "INBOX"',
  'FETCH 1:* (FLAGS UID RFC822.SIZE)',
  'FETCH 1 (BODY.PEEK[HEADER.FIELDS (FROM SUBJECT)]<0.20> BODYSTRUCTURE ENVELOPE)',
  'UID FETCH 1:* (BODY[1.MIME] MODSEQ) (CHANGEDSINCE 1)',
  'STORE 1 +FLAGS.SILENT (\\Seen $Work)',
  'UID STORE 1:* (UNCHANGEDSINCE 5) -FLAGS (\\Flagged)',
  'SEARCH OR FROM alice (NOT SEEN) UID 1:* SINCE 1-Jan-2020',
  'UID SEARCH RETURN (MIN MAX COUNT SAVE) CHARSET UTF-8 TEXT "hello"',
  'SORT (REVERSE ARRIVAL SUBJECT) UTF-8 ALL',
  'LIST (SUBSCRIBED RECURSIVEMATCH) "" ("*" %) RETURN (CHILDREN STATUS (MESSAGES))',
  'LSUB "" *',
  'STATUS INBOX (MESSAGES UIDNEXT HIGHESTMODSEQ)',
  'CREATE "Fuzz/&AOQ-"',
  'RENAME Fuzz Fuzz2',
  'DELETE Fuzz2',
  'COPY 1 Trash',
  'UID MOVE 1 Archive',
  'EXPUNGE',
  'UID EXPUNGE 1:5',
  'ENABLE CONDSTORE QRESYNC UTF8=ACCEPT',
  'ID ("name" "fuzz")',
  'NAMESPACE',
  'GETQUOTAROOT INBOX',
  'CHECK',
  'UNSELECT',
  'CLOSE',
  'APPEND INBOX (\\Seen) "01-Jan-2024 00:00:00 +0000" {11+}\r\nhello world',
  'LOGIN {5+}\r\nalice secret',
];
// Tokens that mean something to the parser, for mutations.
const pieces = ['(', ')', '[', ']', '"', '\\', '{', '}', '{5}', '{0+}', '~{3+}', '*', '%', '$', ':', ',', '<0.5>', ' ', '  ', 'NIL', 'UID', 'BODY[', '\x00', '\xff', '\t', '4294967296', '0', '-1', 'ü'];

function mutate(next: () => number, text: string): string {
  let out = text;
  const edits = 1 + Math.floor(next() * 4);
  for (let i = 0; i < edits; i++) {
    const at = Math.floor(next() * (out.length + 1));
    const kind = next();
    if (kind < 0.35) out = out.slice(0, at) + pieces[Math.floor(next() * pieces.length)] + out.slice(at);
    else if (kind < 0.6) out = out.slice(0, at) + out.slice(at + 1 + Math.floor(next() * 5));
    else if (kind < 0.8) out = out.slice(0, at) + out.slice(at).replace(/\d+/, String(Math.floor(next() * 200)));
    else out = out.slice(0, at) + String.fromCharCode(Math.floor(next() * 256)) + out.slice(at);
  }
  return out;
}

function randomBytes(next: () => number): string {
  const length = Math.floor(next() * 80);
  let out = '';
  for (let i = 0; i < length; i++) out += String.fromCharCode(next() < 0.7 ? 0x20 + Math.floor(next() * 95) : Math.floor(next() * 256));
  return out;
}

/** Literal sizes the input announces without sending the octets; the filler satisfies them so the sentinel is read as a command. */
function filler(input: string): string {
  let total = 0;
  for (const match of input.matchAll(/\{(\d+)\+?\}/g)) total += Number(match[1]);
  return total > 0 && total < 100_000 ? ' '.repeat(Math.min(total, 5000)) + '\r\n' : '';
}

const wellFormed = /^(\* .*|\+ .*|\+|[!-~]+ (OK|NO|BAD)( .*)?)$/s;

async function exchange(client: RawClient, input: string, next: () => number): Promise<string[]> {
  // Cut the input into random pieces, as a network would.
  const bytes = Buffer.from(input + '\r\n', 'latin1');
  let i = 0;
  while (i < bytes.length) {
    const n = 1 + Math.floor(next() * 40);
    client.write(bytes.subarray(i, i + n));
    i += n;
  }
  const responses: string[] = [];
  for (let attempt = 0; attempt < 3; attempt++) {
    client.write(`${attempt === 0 ? '' : filler(input) || ' '.repeat(200) + '\r\n'}DONE\r\nzz${attempt} NOOP\r\n`);
    for (;;) {
      let response: string;
      try {
        response = await client.readResponse(1500);
      } catch (error) {
        if (client.closed) return responses;
        if (/timed out/.test((error as Error).message)) break;
        throw error;
      }
      responses.push(response);
      if (response.startsWith(`zz${attempt} `)) return responses;
    }
  }
  throw new Error(`no answer to the sentinel after ${JSON.stringify(input)}; got ${JSON.stringify(responses)}`);
}

test('random and mutated commands: every input is answered, nothing breaks the server', async (t) => {
  t.timeout(120_000);
  const { port, backend, events } = await startServer(t, { maxLineLength: 2000, maxLiteralSize: 1000, maxCommandSize: 4000, appendLimit: 20_000, preAuthTimeoutMs: 5000 });
  for (let i = 0; i < 5; i++) backend.deliver(user, 'INBOX', message(`fuzz ${i}`), i % 2 ? ['\\Seen'] : []);
  const seed = 20260501;
  const next = random(seed);
  const inputs = 300;
  const heapBefore = process.memoryUsage().heapUsed;
  for (let n = 0; n < inputs; n++) {
    const client = await RawClient.connect(t, port);
    if (next() < 0.7) {
      await client.login();
      if (next() < 0.7) await client.command('s0', 'SELECT INBOX');
    }
    const roll = next();
    const base = commands[Math.floor(next() * commands.length)]!;
    const input = roll < 0.2 ? randomBytes(next) : roll < 0.9 ? `t${n} ${mutate(next, base)}` : `t${n} ${base}`;
    const responses = await exchange(client, input, next);
    for (const response of responses) {
      t.regex(response, wellFormed, `seed ${seed} input ${n}: ${JSON.stringify(input)}`);
      t.false(response.includes('[SERVERBUG]'), `seed ${seed} input ${n}: ${JSON.stringify(input)} → ${response}`);
    }
    if (!client.closed) {
      // At least one answer besides the sentinel's for a tagged, non-empty input.
      const answered = responses.some((line) => /^(t\d+ (OK|NO|BAD)|\* BAD)/.test(line) || line.startsWith('+'));
      if (input.trim() !== '' && !/\b(IDLE|DONE)\b/i.test(input)) t.true(answered || responses.length > 1, `seed ${seed} input ${n}: ${JSON.stringify(input)} got ${JSON.stringify(responses)}`);
    }
    client.socket.destroy();
  }
  t.deepEqual(events.filter((event) => event.name === 'sessionError'), []);
  // The server still serves a fresh connection.
  const last = await RawClient.connect(t, port);
  await last.login();
  t.is((await last.command('x', 'NOOP')).tagged, 'x OK NOOP completed');
  const grown = process.memoryUsage().heapUsed - heapBefore;
  t.true(grown < 200 * 1024 * 1024, `heap grew by ${grown} octets`);
});

test('the reader and argument schemas on 20,000 mutated inputs: only ParseError, and every line is answered', (t) => {
  const next = random(424242);
  const view = new SelectedMailbox(null, 'INBOX', false, 1, 1, [1, 2, 5, 9], []);
  let answered = 0;
  let lines = 0;
  for (let n = 0; n < 20_000; n++) {
    const entries: ReaderEntry[] = [];
    const reader = new CommandReader(
      {
        deliver: (entry) => entries.push(entry),
        continuation: () => Promise.resolve(),
        hasRoom: () => true,
        allowLiteral8: () => true,
        isBarrier: () => false,
        pauseInput: () => {},
        resumeInput: () => {},
      },
      { maxLineLength: 300, maxLiteralSize: 100, maxCommandSize: 1000, appendLimit: 1000 },
    );
    const base = commands[Math.floor(next() * commands.length)]!;
    const input = next() < 0.2 ? randomBytes(next) : `t ${mutate(next, base)}`;
    const data = Buffer.from(input.replace(/\r?\n/g, ' ') + '\r\n', 'latin1');
    for (let i = 0; i < data.length; ) {
      const size = 1 + Math.floor(next() * 20);
      reader.push(data.subarray(i, i + size));
      i += size;
    }
    const complete = !/\{\d+\+?\}\s*$/.test(input) && input.replace(/[\r\n]/g, '').trim() !== '';
    if (complete) {
      lines++;
      if (entries.length > 0) answered++;
    }
    // Every delivered command goes through the argument schemas that can read it.
    for (const entry of entries) {
      if (entry.type !== 'command') continue;
      try {
        const args = new ArgReader(entry.command.args, { utf8: false, searchRes: true });
        if (/FETCH$/.test(entry.command.name)) {
          args.sequenceSet('set');
          parseFetchItems(args);
        } else if (entry.command.name === 'SEARCH') {
          parseSearchProgram(args, { view, saved: null, usesModseq: false });
        } else {
          while (!args.atEnd()) args.astringBytes('x');
        }
      } catch (error) {
        if (!(error instanceof ParseError) && !(error instanceof CommandError)) t.fail(`${JSON.stringify(input)}: ${(error as Error).stack}`);
      }
    }
  }
  t.is(answered, lines);
});

const script = [
  'a1 LOGIN alice@example.test secret',
  'a2 SELECT INBOX',
  'a3 FETCH 1:* (UID FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])',
  'a4 STORE 1 +FLAGS (\\Flagged)',
  'a5 APPEND INBOX {11}\r\nhello world',
  'a6 SEARCH RETURN (COUNT) ALL',
  'a7 UID FETCH 2:* (BODY[TEXT]<0.5>)',
  'a8 IDLE\r\nDONE',
  'a9 LIST "" *',
  'b1 LOGOUT',
].join('\r\n') + '\r\n';

test('a valid script cut into random chunks gets the same answers as sent whole', async (t) => {
  t.timeout(60_000);
  const transcripts: string[] = [];
  for (let round = 0; round < 25; round++) {
    const { port, backend } = await startServer(t);
    for (let i = 0; i < 3; i++) backend.deliver(user, 'INBOX', message(`m${i}`), [], new Date(Date.UTC(2024, 0, 1 + i)));
    const client = await RawClient.connect(t, port);
    const next = random(1000 + round);
    const bytes = Buffer.from(script, 'latin1');
    let i = 0;
    while (i < bytes.length) {
      // round 0 sends everything at once
      const n = round === 0 ? bytes.length : 1 + Math.floor(next() * 30);
      client.write(bytes.subarray(i, i + n));
      i += n;
      if (round % 3 === 1) await new Promise((resolve) => setImmediate(resolve));
    }
    const lines: string[] = [];
    for (let j = 0; j < 200 && !lines.includes('b1 OK LOGOUT completed'); j++) lines.push((await client.readResponse()).replace(/(UIDVALIDITY|APPENDUID) \d+/g, '$1 n'));
    transcripts.push(lines.join('\n'));
    t.is(transcripts[round], transcripts[0], `round ${round}`);
  }
  t.regex(transcripts[0]!, /a5 OK \[APPENDUID n 4\]/);
  t.regex(transcripts[0]!, /a8 OK IDLE completed/);
});
