// The signer the outbound queue calls for each message it may vouch for (a
// logged-in user's submission, our own reports; the queue never calls it for a
// forward of mail from outside): mail whose From domain is one of ours is
// signed with that domain's keys (made on first use if an older domain has
// none yet); anything else is sent as it is.

import { createReadStream } from 'node:fs';
import { ensureDomainKeys, type DomainKeys } from './keys.ts';
import { LineEndNormalizer } from '../mime/line-ends.ts';
import { signMessage } from './sign.ts';

export type MessageSigner = (message: { path: string; size: number; fromDomain: string | null }) => Promise<Buffer | null>;

export function createSigner(dkimDir: string, isLocalDomain: (domain: string) => boolean): MessageSigner {
  const cache = new Map<string, DomainKeys>();
  return async ({ path, fromDomain }) => {
    if (!fromDomain) return null;
    const domain = fromDomain.toLowerCase();
    if (!isLocalDomain(domain)) return null;
    let keys = cache.get(domain);
    if (!keys) {
      keys = ensureDomainKeys(dkimDir, domain);
      cache.set(domain, keys);
    }
    return Buffer.from(await signMessage(asSent(createReadStream(path, { highWaterMark: 64 * 1024 })), keys), 'latin1');
  };
}

/**
 * The octets as the queue's client puts them on the wire (every bare CR and
 * LF as CRLF): submitted mail is stored so already, and signing what is sent
 * rather than what is stored keeps that true for anything else we sign.
 */
async function* asSent(file: AsyncIterable<Buffer>): AsyncIterable<Buffer> {
  const normalizer = new LineEndNormalizer();
  for await (const chunk of file) yield normalizer.write(chunk);
  yield normalizer.end();
}
