// The authentication stage: SPF (RFC 7208) taken at MAIL FROM, DKIM (RFC
// 6376), ARC (RFC 8617) and DMARC (RFC 7489) verified at DATA, with mailauth,
// for mail from outside only (a logged-in user's mail is not checked). Every
// lookup goes through the resolver of the `dns-servers` setting, each bounded;
// a lookup that fails gives temperror or none, never a lost or held message.

import { createReadStream, openSync, readSync, closeSync } from 'node:fs';
import { arc } from 'mailauth/lib/arc/index.js';
import { dkimVerify } from 'mailauth/lib/dkim/verify.js';
import { dmarc } from 'mailauth/lib/dmarc/index.js';
import { spf } from 'mailauth/lib/spf/index.js';
import type { FilterInput, FilterStage, FilterVerdict } from './index.ts';

/** What mailauth calls for DNS: `resolve(name, type)` with Node's answers and error codes. */
export type AuthResolver = (name: string, type: string) => Promise<unknown>;

export interface SpfOutcome {
  result: string;
  /** The resinfo part, `spf=pass smtp.mailfrom=...`. */
  info: string;
  /** The domain SPF passed for (DMARC alignment), if it passed. */
  domain?: string | undefined;
}

/** How long the SPF check at MAIL FROM may take, and separately the DKIM, ARC and DMARC checks at DATA. */
export const spfDeadlineMs = 3000;
export const dataDeadlineMs = 4000;

function withDeadline<T>(work: Promise<T>, ms: number, fallback: () => T): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<T>((resolve) => {
    timer = setTimeout(() => resolve(fallback()), ms);
  });
  return Promise.race([work.catch(() => fallback()), late]).finally(() => clearTimeout(timer));
}

const plainAddress = (address: string) => address.replace(/^::ffff:(?=\d+\.)/, '');

/** Keeps a value from the outside inside an RFC 8601 pvalue: no white space, semicolons or parentheses. */
const token = (text: string) => text.replace(/[^\x21-\x7e]|[;()"\\]/g, '') || 'unknown';

/** RFC 7208 §2.4: the check at MAIL FROM (the HELO identity for the null sender). */
export async function checkSpf(resolver: AuthResolver, client: { address: string; helo: string; sender: string; hostname: string }): Promise<SpfOutcome> {
  const helo = client.helo || plainAddress(client.address);
  const work = spf({ sender: client.sender || `postmaster@${helo}`, ip: plainAddress(client.address), helo, mta: client.hostname, resolver }).then((r) => ({
    result: r.status.result,
    info: r.info,
    domain: r.status.result === 'pass' ? r.domain : undefined,
  }));
  const domain = token(client.sender ? client.sender.slice(client.sender.lastIndexOf('@') + 1) : helo);
  const mailfrom = client.sender ? `smtp.mailfrom=${domain}` : `smtp.helo=${domain}`;
  return withDeadline(work, spfDeadlineMs, () => ({ result: 'temperror', info: `spf=temperror (DNS did not answer in time) ${mailfrom}` }));
}

export interface AuthenticationSettings {
  resolver: AuthResolver;
  /** Domains (RFC5322.From) whose DMARC p=reject failures are delivered anyway: the `filter-dmarc-exempt` setting. */
  dmarcExempt: () => readonly string[];
}

/** The header section of the message as received: to find Authentication-Results headers claiming our name. */
const maxHeaderBytes = 1024 * 1024;

function readHeader(input: FilterInput): { text: string; start: number } {
  const start = input.messageStart;
  const length = Math.min(Math.max(0, input.structure.root.body - start), maxHeaderBytes);
  const buffer = Buffer.alloc(length);
  const fd = openSync(input.path, 'r');
  try {
    readSync(fd, buffer, 0, length, start);
  } finally {
    closeSync(fd);
  }
  return { text: buffer.toString('latin1'), start };
}

/**
 * RFC 8601 §5: Authentication-Results fields that name our authserv-id came
 * from outside (we add ours after this check) and are forged; their byte
 * ranges in the file, each a whole field with its folded lines.
 */
export function forgedAuthResults(header: string, offset: number, hostname: string): [number, number][] {
  const ranges: [number, number][] = [];
  const fields = /^Authentication-Results[ \t]*:((?:[^\n]*\n)(?:[ \t][^\n]*\n)*)/gim;
  for (const match of header.matchAll(fields)) {
    // The authserv-id is the first token, before `;` (comments ignored).
    const id = match[1]!.replace(/\([^)]*\)/g, ' ').trim().split(/[;\s]/)[0]!.toLowerCase();
    if (id === hostname.toLowerCase()) ranges.push([offset + match.index!, offset + match.index! + match[0].length]);
  }
  return ranges;
}

export function authenticationStage(settings: AuthenticationSettings): FilterStage {
  return async (input: FilterInput, verdict: FilterVerdict) => {
    if (input.user) return;
    const header = readHeader(input);
    verdict.removeRanges.push(...forgedAuthResults(header.text, header.start, input.hostname));
    const spfOutcome = input.spf ?? (await checkSpf(settings.resolver, { address: input.clientAddress, helo: input.helo, sender: input.sender, hostname: input.hostname }));
    const checks = async () => {
      const stream = createReadStream(input.path, { start: input.messageStart });
      const dkim = await dkimVerify(stream, { resolver: settings.resolver, sender: input.sender });
      const arcResult = await arc(dkim.arc, { resolver: settings.resolver });
      const dmarcResult = dkim.headerFrom
        ? await dmarc({
            headerFrom: dkim.headerFrom,
            spfDomains: spfOutcome.domain ? [spfOutcome.domain] : [],
            dkimDomains: dkim.results.filter((r) => r.status.result === 'pass').map((r) => ({ id: r.id, domain: r.signingDomain, aligned: r.status.aligned, underSized: r.status.underSized })),
            arcResult,
            resolver: settings.resolver,
          })
        : undefined;
      return { dkim, arcResult, dmarcResult };
    };
    const outcome = await withDeadline(checks(), dataDeadlineMs, () => undefined);
    const parts: string[] = [];
    if (!outcome) {
      verdict.authResults.push('dkim=temperror (DNS did not answer in time)', spfOutcome.info, 'dmarc=temperror');
      verdict.rules.push('AUTH_TIMEOUT');
      return;
    }
    const { dkim, arcResult, dmarcResult } = outcome;
    parts.push(...(dkim.results.length ? dkim.results.map((r) => r.info) : ['dkim=none']));
    parts.push(spfOutcome.info);
    if (arcResult?.info) parts.push(arcResult.info);
    if (dmarcResult?.info) parts.push(dmarcResult.info);
    verdict.authResults.push(...parts.map((part) => part.replace(/\r?\n[ \t]*/g, ' ')));
    const dmarcStatus = dmarcResult?.status?.result;
    if (dmarcStatus) verdict.rules.push(`DMARC_${dmarcStatus.toUpperCase()}`);
    if (dmarcStatus === 'fail' && dmarcResult?.policy === 'reject') {
      const domain = (dmarcResult.domain ?? '').toLowerCase();
      const exempt = settings.dmarcExempt().some((d) => domain === d || domain.endsWith(`.${d}`));
      if (exempt) {
        verdict.rules.push('DMARC_REJECT_EXEMPT');
        return;
      }
      verdict.refusal = { code: 550, enhanced: '5.7.1', text: `Message rejected: it fails the DMARC policy (p=reject) of ${domain}, neither SPF nor DKIM authenticates it for that domain` };
    }
  };
}
