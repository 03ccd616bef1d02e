// Several messages of nearly 50 MB at once: the server spools them as they
// stream in, so its heap stays bounded (measured in the serve process through
// /healthz while the messages are in flight).

import test from 'ava';
import { Readable } from 'node:stream';
import nodemailer from 'nodemailer';
import { cliOk, startServe } from '../helpers/cli.ts';
import { tempDataDir } from '../helpers/data-dir.ts';

const messageBytes = 48 * 1024 * 1024;

function bigMessage(n: number): Readable {
  const line = Buffer.from(`${'0123456789abcdef'.repeat(4)}${String(n).padStart(10, '0')}\r\n`);
  const header = Buffer.from(`From: s@remote.test\r\nTo: alice@example.test\r\nSubject: big ${n}\r\nMessage-ID: <big-${n}@remote.test>\r\n\r\n`);
  const lines = Math.floor((messageBytes - header.length) / line.length);
  let sent = 0;
  return new Readable({
    read() {
      if (sent === 0) this.push(header);
      const batch = Math.min(1024, lines - sent);
      if (batch <= 0) return void this.push(null);
      this.push(Buffer.concat(Array(batch).fill(line)));
      sent += batch;
    },
  });
}

test('three 48 MB messages received at once keep the server heap bounded', async (t) => {
  const data = tempDataDir(t);
  await cliOk(['domain', 'add', 'example.test'], { data });
  await cliOk(['user', 'add', 'alice@example.test', '--password-stdin'], { data, stdin: 'sesame-tulip-42' });
  const serve = startServe(data, ['--port', 'smtp=0', '--port', 'http=0']);
  t.teardown(() => serve.stop('SIGKILL'));
  const [, smtpPort] = await serve.waitFor(/info smtp listening addr=127\.0\.0\.1:(\d+)/);
  const [, httpPort] = await serve.waitFor(/info web listening addr=127\.0\.0\.1:(\d+)/);

  const heap = async () => ((await (await fetch(`http://127.0.0.1:${httpPort}/healthz`)).json()) as { memory: { heapUsedBytes: number } }).memory.heapUsedBytes;
  const baseline = await heap();
  let peak = baseline;
  let sending = true;
  const sampler = (async () => {
    while (sending) {
      peak = Math.max(peak, await heap());
      await new Promise((r) => setTimeout(r, 50));
    }
  })();

  const send = async (n: number) => {
    const transport = nodemailer.createTransport({ host: '127.0.0.1', port: Number(smtpPort), secure: false, ignoreTLS: true, socketTimeout: 120_000 });
    try {
      return await transport.sendMail({ envelope: { from: 's@remote.test', to: ['alice@example.test'] }, raw: bigMessage(n) });
    } finally {
      transport.close();
    }
  };
  const results = await Promise.allSettled([send(1), send(2), send(3)]);
  sending = false;
  await sampler;
  t.deepEqual(results.map((r) => r.status), ['fulfilled', 'fulfilled', 'fulfilled'], JSON.stringify(results.filter((r) => r.status === 'rejected')));
  const listed = JSON.parse(await cliOk(['message', 'list', 'alice@example.test', '--json'], { data })) as { subject: string; size: number }[];
  t.deepEqual(listed.map((m) => m.subject).sort(), ['big 1', 'big 2', 'big 3']);
  for (const m of listed) t.true(m.size > messageBytes - 100 && m.size < messageBytes + 1024);
  const growthMb = (peak - baseline) / 1024 / 1024;
  t.log(`heap baseline ${(baseline / 1024 / 1024).toFixed(1)} MB, peak ${(peak / 1024 / 1024).toFixed(1)} MB while 144 MB were in flight`);
  t.true(growthMb < 64, `heap grew by ${growthMb.toFixed(1)} MB`);
});
