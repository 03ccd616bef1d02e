// Password hashes: scrypt with a per-user random salt, written in the PHC string
// format `$scrypt$ln=15,r=8,p=1$<salt>$<hash>` (base64, no padding). The cost
// parameters travel with each hash, so they can be raised later: `needsRehash`
// says when a stored hash is weaker than today's parameters, and the login path
// re-hashes it with the password it has just verified.
//
// ln=15, r=8 costs 32 MiB and about 0.1 s on a Raspberry Pi 4 per attempt.
//
// Invariant: at most `scryptConcurrency` scrypt computations run at once in this
// process (one); the rest wait in order. scrypt runs on libuv's thread pool,
// which would otherwise run four at once and hold 32 MiB each, and which
// body-file fsyncs share: ten logins at once take 32 MiB, not 320, and leave
// threads for deliveries; the tenth waits about a second on a Raspberry Pi 4,
// once (the login cache in login-cache.ts spares a repeated login the work).
// On a 512 MB board memory is the scarcer of the two. A waiting login holds
// only its closure.
// `scryptActivity` counts the work so that tests can see a cache hit (no run)
// and the bound (the peak), without timing anything.

import { randomBytes, scrypt as scryptCallback, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import { UserError } from '../core/errors.ts';

export interface ScryptParams {
  ln: number;
  r: number;
  p: number;
}

export const currentParams: ScryptParams = { ln: 15, r: 8, p: 1 };
const saltBytes = 16;
const hashBytes = 32;
export const maxPasswordBytes = 1024;

/** How many scrypt computations may run at once (see the invariant above). */
export const scryptConcurrency = 1;

/** What scrypt has done in this process: runs started, running now, the most at once, waiting now. */
export const scryptActivity = { runs: 0, running: 0, peak: 0, waiting: 0 };

const scryptQueue: (() => void)[] = [];

function releaseSlot(): void {
  scryptActivity.running -= 1;
  const next = scryptQueue.shift();
  if (next) next();
}

async function acquireSlot(): Promise<void> {
  if (scryptActivity.running < scryptConcurrency) {
    scryptActivity.running += 1;
  } else {
    scryptActivity.waiting += 1;
    // releaseSlot hands the freed slot to the first in line, in the same turn.
    await new Promise<void>((resolve) => scryptQueue.push(() => {
      scryptActivity.waiting -= 1;
      scryptActivity.running += 1;
      resolve();
    }));
  }
  scryptActivity.runs += 1;
  scryptActivity.peak = Math.max(scryptActivity.peak, scryptActivity.running);
}

async function scrypt(password: string, salt: Buffer, keylen: number, params: ScryptParams): Promise<Buffer> {
  const options: ScryptOptions = { N: 2 ** params.ln, r: params.r, p: params.p, maxmem: 256 * 2 ** params.ln * params.r + 1024 * 1024 };
  await acquireSlot();
  try {
    return await new Promise((resolve, reject) => {
      scryptCallback(password.normalize('NFC'), salt, keylen, options, (error, key) => (error ? reject(error) : resolve(key)));
    });
  } finally {
    releaseSlot();
  }
}

export function checkPasswordText(password: string): void {
  if (password === '') throw new UserError('the password is empty');
  if (Buffer.byteLength(password) > maxPasswordBytes) throw new UserError(`the password is longer than ${maxPasswordBytes} bytes`);
}

export async function hashPassword(password: string, params: ScryptParams = currentParams): Promise<string> {
  checkPasswordText(password);
  const salt = randomBytes(saltBytes);
  const hash = await scrypt(password, salt, hashBytes, params);
  return `$scrypt$ln=${params.ln},r=${params.r},p=${params.p}$${salt.toString('base64url')}$${hash.toString('base64url')}`;
}

interface ParsedHash {
  params: ScryptParams;
  salt: Buffer;
  hash: Buffer;
}

function parseHash(stored: string): ParsedHash | undefined {
  const match = /^\$scrypt\$ln=(\d+),r=(\d+),p=(\d+)\$([A-Za-z0-9_-]+)\$([A-Za-z0-9_-]+)$/.exec(stored);
  if (!match) return undefined;
  const params = { ln: Number(match[1]), r: Number(match[2]), p: Number(match[3]) };
  if (params.ln < 1 || params.ln > 22 || params.r < 1 || params.r > 32 || params.p < 1 || params.p > 16) return undefined;
  const salt = Buffer.from(match[4]!, 'base64url');
  const hash = Buffer.from(match[5]!, 'base64url');
  // scrypt output is a prefix-stable stream: a truncated hash would still match, so its length is fixed.
  if (salt.length < saltBytes || hash.length !== hashBytes) return undefined;
  return { params, salt, hash };
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parsed = parseHash(stored);
  if (!parsed || password === '' || Buffer.byteLength(password) > maxPasswordBytes) return false;
  const candidate = await scrypt(password, parsed.salt, hashBytes, parsed.params);
  return timingSafeEqual(candidate, parsed.hash);
}

export function needsRehash(stored: string, params: ScryptParams = currentParams): boolean {
  const parsed = parseHash(stored);
  if (!parsed) return true;
  return parsed.params.ln < params.ln || parsed.params.r < params.r || parsed.params.p < params.p;
}
