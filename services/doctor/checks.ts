// The doctor's checks. Each returns CheckOutcomes (store/doctor.ts): pass,
// fail or unknown, with a title that names the problem when there is one, a
// detail of what was found, and a fix in plain words. Section numbers of the
// RFCs stand beside the code that follows them.

import { isIP } from 'node:net';
import { clientSrvRecords, dmarcRecord, domainRecords, type DomainKeys } from '../dkim/index.ts';
import type { CheckOutcome } from '../store/doctor.ts';
import { isPrivateIPv4, probeTcp, reversedIPv4, sameName, type Lookup, type Lookups } from './lookups.ts';
import { checkHost, spfRecords } from './spf.ts';

export interface CheckContext {
  hostname: string;
  /** The relay (smarthost) outgoing mail goes through, when one is set. */
  relay: { host: string; port: number } | undefined;
  lookups: Lookups;
  signal: AbortSignal;
}

const relayHint = 'If your provider cannot, send through a relay instead: set one on the admin page (Relay) or with `mailnest relay set`.';

function outcome(id: string, check: string, result: CheckOutcome['result'], title: string, detail: string, fix = ''): CheckOutcome {
  return { id, check, result, title, detail, fix };
}

function troubleText(lookup: Lookup<unknown>): string {
  return lookup.kind === 'trouble' ? lookup.problem : '';
}

// --- port 25 ---------------------------------------------------------------

export async function checkPort25(context: CheckContext, probe: string, deadlineMs: number): Promise<CheckOutcome> {
  const id = 'port25';
  const split = /^\[?([^\]]+?)\]?:(\d+)$/.exec(probe)!;
  const host = split[1]!;
  const port = Number(split[2]);
  let address = host;
  if (isIP(host) === 0) {
    const found = await context.lookups.a(host);
    if (found.kind !== 'found') {
      return outcome(id, 'port25', 'unknown', `Cannot find the port ${port} probe host ${host}`, found.kind === 'none' ? `${host} has no address in the DNS.` : troubleText(found), `Check the doctor-port25-probe setting (now ${probe}), or the dns-servers setting.`);
    }
    address = found.records[0]!;
  }
  const result = await probeTcp(address, port, deadlineMs, context.signal);
  if (result.open) return outcome(id, 'port25', 'pass', `Outbound port ${port} is open`, `The box opened a connection to ${probe}: it can deliver mail to other servers itself.`);
  if (context.relay) {
    return outcome(id, 'port25', 'pass', `Outbound port ${port} is blocked, and mail goes through the relay`, `The box could not connect to ${probe} (${result.problem}). That does not matter: outgoing mail goes through the relay ${context.relay.host}:${context.relay.port}.`);
  }
  return outcome(
    id,
    'port25',
    'fail',
    `Outbound port ${port} is blocked`,
    `The box could not connect to ${probe} (${result.problem}). Many internet providers block port 25 on home lines, so other mail servers cannot be reached directly and outgoing mail stays in the queue.`,
    `Send through a relay: your provider's or your mail account's outgoing server (port 587 or 465, with your user name and password). Set it on the admin page (Relay) or with \`mailnest relay set\`. Or ask your provider to open port 25.`,
  );
}

// --- the public address and its reverse DNS ---------------------------------

export interface PublicAddress {
  /** The box's public IPv4 address, if it could be learnt. */
  address: string | undefined;
  /** The A records of the hostname. */
  hostnameAddresses: string[];
}

export async function checkPublicAddress(context: CheckContext, askMyAddress: (() => Promise<Lookup<string>>) | undefined, addressName: string): Promise<{ outcome: CheckOutcome; found: PublicAddress }> {
  const id = 'public-address';
  const { hostname } = context;
  const [hostA, mine] = await Promise.all([context.lookups.a(hostname), askMyAddress?.()]);
  const myAddress = mine?.kind === 'found' ? mine.records[0] : undefined;
  const hostnameAddresses = hostA.kind === 'found' ? hostA.records : [];
  const found: PublicAddress = { address: myAddress ?? hostnameAddresses[0], hostnameAddresses };
  const publish = `Publish an A record for ${hostname} with the box's public address${myAddress ? ` (${myAddress})` : ''} at your DNS provider; with an address that changes, use a dynamic DNS service.`;
  if (hostA.kind === 'trouble') return { outcome: outcome(id, 'public-address', 'unknown', `Could not look up ${hostname}`, hostA.problem, 'Check the dns-servers setting and the internet connection.'), found };
  if (hostA.kind === 'none') {
    return { outcome: outcome(id, 'public-address', 'fail', `${hostname} has no address in the DNS`, `The hostname ${hostname} has no A record, so other mail servers cannot find the box: mail for your domains cannot arrive.`, publish), found };
  }
  const privateOnes = hostnameAddresses.filter(isPrivateIPv4);
  if (privateOnes.length) {
    return {
      outcome: outcome(id, 'public-address', 'fail', `${hostname} points at a private address`, `${hostname} resolves to ${privateOnes.join(', ')}, which no one outside your home network can reach.`, publish),
      found: { ...found, address: myAddress },
    };
  }
  if (myAddress && !hostnameAddresses.includes(myAddress)) {
    return {
      outcome: outcome(id, 'public-address', 'fail', `${hostname} does not point at this box`, `${hostname} resolves to ${hostnameAddresses.join(', ')}, but the box's public address is ${myAddress} (from ${addressName}).`, `Change the A record of ${hostname} to ${myAddress} at your DNS provider; with an address that changes, use a dynamic DNS service.`),
      found,
    };
  }
  const how = myAddress ? `the box's public address (from ${addressName})` : 'taken as the public address';
  const note = mine && mine.kind !== 'found' ? ` (${addressName} did not tell the address: ${mine.kind === 'none' ? 'no record' : mine.problem})` : '';
  return { outcome: outcome(id, 'public-address', 'pass', `${hostname} points at the box`, `${hostname} resolves to ${hostnameAddresses.join(', ')}, ${how}${note}.`), found };
}

export async function checkReverseDns(context: CheckContext, found: PublicAddress): Promise<CheckOutcome> {
  const id = 'reverse-dns';
  const { hostname } = context;
  const address = found.address;
  if (!address) return outcome(id, 'reverse-dns', 'unknown', 'Reverse DNS not checked', 'The box\'s public address is not known (see the address finding).', `Publish an A record for ${hostname} first.`);
  // RFC 1035 §3.5: the PTR record of d.c.b.a.in-addr.arpa names the host at a.b.c.d.
  const ptr = await context.lookups.ptr(`${reversedIPv4(address)}.in-addr.arpa`);
  if (ptr.kind === 'trouble') return outcome(id, 'reverse-dns', 'unknown', `Could not look up the reverse DNS of ${address}`, ptr.problem, 'Check the dns-servers setting and the internet connection.');
  const names = ptr.kind === 'found' ? ptr.records : [];
  const forwardConfirmed = found.hostnameAddresses.includes(address);
  const problem =
    names.length === 0
      ? { title: `${address} has no reverse DNS name`, detail: `The address ${address} has no PTR record. Many receivers refuse mail from an address without one.` }
      : !names.some((n) => sameName(n, hostname))
        ? { title: `The reverse DNS of ${address} is not ${hostname}`, detail: `The PTR record of ${address} names ${names.join(', ')}, not ${hostname}. Receivers compare it with the name the box greets with.` }
        : !forwardConfirmed
          ? { title: `The reverse DNS of ${address} is not confirmed by ${hostname}`, detail: `The PTR record names ${hostname}, but ${hostname} resolves to ${found.hostnameAddresses.join(', ') || 'nothing'}, not ${address}.` }
          : undefined;
  if (!problem) return outcome(id, 'reverse-dns', 'pass', `The reverse DNS of ${address} is ${hostname}`, `The PTR record of ${address} names ${hostname}, and ${hostname} resolves back to ${address}.`);
  if (context.relay) return outcome(id, 'reverse-dns', 'pass', `${problem.title}, and mail goes through the relay`, `${problem.detail} That does not matter while outgoing mail goes through the relay ${context.relay.host}.`);
  const fix = !forwardConfirmed && names.some((n) => sameName(n, hostname))
    ? `Point the A record of ${hostname} at ${address}.`
    : `Ask your internet provider to set the reverse DNS (PTR) of ${address} to ${hostname}. ${relayHint}`;
  return outcome(id, 'reverse-dns', 'fail', problem.title, problem.detail, fix);
}

// --- DNSBLs (RFC 5782) ------------------------------------------------------

const delisting: Record<string, string> = {
  'zen.spamhaus.org': 'https://check.spamhaus.org/',
  'bl.spamcop.net': 'https://www.spamcop.net/bl.shtml',
  'b.barracudacentral.org': 'https://www.barracudacentral.org/rbl/removal-request',
};

export async function checkDnsbl(context: CheckContext, found: PublicAddress, zone: string): Promise<CheckOutcome> {
  const id = `dnsbl:${zone}`;
  const address = found.address;
  if (!address) return outcome(id, 'dnsbl', 'unknown', `${zone} not checked`, 'The box\'s public address is not known (see the address finding).', `Publish an A record for ${context.hostname} first.`);
  // RFC 5782 §2.1: the address's octets reversed, under the list's zone; an A record means listed.
  const name = `${reversedIPv4(address)}.${zone}`;
  const answer = await context.lookups.a(name);
  if (answer.kind === 'trouble') return outcome(id, 'dnsbl', 'unknown', `Could not ask ${zone}`, answer.problem, 'Check the dns-servers setting and the internet connection.');
  if (answer.kind === 'none') return outcome(id, 'dnsbl', 'pass', `${address} is not on ${zone}`, `${zone} does not list ${address}.`);
  // §2.3: listings answer in 127.0.0.0/8; Spamhaus answers 127.255.255.x to say it refused the query itself.
  const listings = answer.records.filter((a) => /^127\.0\.\d+\.\d+$/.test(a));
  if (listings.length === 0) {
    return outcome(id, 'dnsbl', 'unknown', `${zone} did not answer the question`, `${zone} answered ${answer.records.join(', ')} for ${address}, which is an error code, not a listing: most lists refuse queries that come through large public resolvers.`, `Use a DNS resolver of your own or your provider's in the dns-servers setting, or remove ${zone} from doctor-dnsbls.`);
  }
  // §2.1: the TXT record at the same name says why.
  const why = await context.lookups.txt(name);
  const reason = why.kind === 'found' ? ` It says: ${why.records.join(' ').slice(0, 300)}` : '';
  const detail = `${zone} lists ${address} (${listings.join(', ')}).${reason}`;
  if (context.relay) return outcome(id, 'dnsbl', 'pass', `${address} is on ${zone}, and mail goes through the relay`, `${detail} Receivers do not see this address while outgoing mail goes through the relay ${context.relay.host}.`);
  const where = delisting[zone] ? `at ${delisting[zone]}` : `on the website of ${zone}`;
  return outcome(
    id,
    'dnsbl',
    'fail',
    `${address} is listed on ${zone}`,
    `${detail} Receivers that use this list refuse mail from the box.`,
    `Ask for removal ${where} (some lists, such as the Spamhaus PBL, list every home address: then send through a relay instead). ${relayHint}`,
  );
}

// --- the records of each local domain -----------------------------------------

export interface DomainContext extends CheckContext {
  domain: string;
  /** The keys Mailnest signs with for this domain, if they are made yet. */
  keys: DomainKeys | undefined;
  /** Where outgoing mail leaves from: the public address, or the relay's addresses. */
  senderAddresses: string[];
}

function publishText(name: string, type: string, value: string): string {
  return `${name} ${type} ${type === 'TXT' ? `"${value}"` : value}`;
}

export async function checkMx(c: DomainContext): Promise<CheckOutcome> {
  const id = `mx:${c.domain}`;
  const mx = await c.lookups.mx(c.domain);
  const publish = `Publish at your DNS provider: ${publishText(`${c.domain}.`, 'MX', `10 ${c.hostname}.`)} (see \`mailnest domain dns ${c.domain}\`).`;
  if (mx.kind === 'trouble') return outcome(id, 'mx', 'unknown', `Could not look up the MX of ${c.domain}`, mx.problem, 'Check the dns-servers setting and the internet connection.');
  if (mx.kind === 'none') return outcome(id, 'mx', 'fail', `${c.domain} has no MX record`, `Without an MX record naming ${c.hostname}, other servers do not know where to deliver mail for ${c.domain}.`, publish);
  const exchanges = [...mx.records].sort((a, b) => a.priority - b.priority).map((r) => r.exchange);
  if (exchanges.some((e) => sameName(e, c.hostname))) return outcome(id, 'mx', 'pass', `The MX of ${c.domain} is ${c.hostname}`, `MX: ${exchanges.join(', ')}.`);
  return outcome(id, 'mx', 'fail', `The MX of ${c.domain} does not point at ${c.hostname}`, `The MX of ${c.domain} names ${exchanges.join(', ')}, so mail for it goes elsewhere.`, `Replace the MX records of ${c.domain}: ${publishText(`${c.domain}.`, 'MX', `10 ${c.hostname}.`)}`);
}

export async function checkSpf(c: DomainContext): Promise<CheckOutcome> {
  const id = `spf:${c.domain}`;
  const txt = await c.lookups.txt(c.domain);
  const suggested = c.relay ? `v=spf1 mx include:<your provider's SPF domain> -all` : 'v=spf1 mx -all';
  if (txt.kind === 'trouble') return outcome(id, 'spf', 'unknown', `Could not look up the SPF record of ${c.domain}`, txt.problem, 'Check the dns-servers setting and the internet connection.');
  const records = txt.kind === 'found' ? spfRecords(txt.records) : [];
  if (records.length === 0) return outcome(id, 'spf', 'fail', `${c.domain} has no SPF record`, `Receivers cannot tell which servers may send mail for ${c.domain}; many treat such mail as suspect.`, `Publish at your DNS provider: ${publishText(`${c.domain}.`, 'TXT', suggested)}.`);
  // RFC 7208 §4.5: more than one record is a permanent error for every receiver.
  if (records.length > 1) return outcome(id, 'spf', 'fail', `${c.domain} has ${records.length} SPF records`, `Records: ${records.map((r) => `"${r}"`).join(', ')}. With more than one, receivers treat SPF as broken (RFC 7208 §4.5).`, 'Merge them into one TXT record that starts with v=spf1.');
  const via = c.relay ? `the relay ${c.relay.host}` : 'the box';
  if (c.senderAddresses.length === 0) return outcome(id, 'spf', 'unknown', `SPF of ${c.domain} published; not checked against ${via}`, `Record: "${records[0]}". The address mail leaves from is not known.`, '');
  const results = await Promise.all(c.senderAddresses.map(async (ip) => ({ ip, result: await checkHost(c.domain, ip, c.lookups) })));
  const passing = results.find((r) => r.result === 'pass');
  if (passing) return outcome(id, 'spf', 'pass', `SPF of ${c.domain} allows ${via}`, `Record: "${records[0]}"; ${passing.ip} passes.`);
  if (results.every((r) => r.result === 'temperror')) return outcome(id, 'spf', 'unknown', `Could not evaluate the SPF record of ${c.domain}`, `Record: "${records[0]}"; a lookup it needs did not answer.`, 'Check the dns-servers setting and the internet connection.');
  const said = results.map((r) => `${r.ip}: ${r.result}`).join(', ');
  const fix = c.relay
    ? `Add your relay provider's SPF to the record (their instructions name an include:, for example ${suggested}).`
    : `Make the record allow the box, for example: ${publishText(`${c.domain}.`, 'TXT', 'v=spf1 mx -all')} (with the MX pointing at ${c.hostname}), or add ip4:${c.senderAddresses[0]}.`;
  return outcome(id, 'spf', 'fail', `SPF of ${c.domain} does not allow ${via}`, `Record: "${records[0]}"; result for ${said}. Receivers may reject or junk mail from ${c.domain}.`, fix);
}

/** RFC 6376 §3.6.1: tag=value pairs separated by semicolons; whitespace inside p= is folding. */
function dkimTags(record: string): Map<string, string> {
  const tags = new Map<string, string>();
  for (const part of record.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0) tags.set(part.slice(0, eq).trim().toLowerCase(), part.slice(eq + 1).replace(/\s+/g, ''));
  }
  return tags;
}

export async function checkDkim(c: DomainContext): Promise<CheckOutcome> {
  const id = `dkim:${c.domain}`;
  if (!c.keys) return outcome(id, 'dkim', 'unknown', `${c.domain} has no DKIM key yet`, 'The keys are made with the domain, or when its first message is sent.', `Run \`mailnest domain dns ${c.domain}\` to make them and see the records to publish.`);
  const expected = domainRecords(c.domain, c.hostname, c.keys).filter((r) => r.name.includes('._domainkey.'));
  const problems: string[] = [];
  const notes: string[] = [];
  const fixes: string[] = [];
  let trouble = 0;
  for (const [index, key] of [c.keys.rsa, c.keys.ed25519].entries()) {
    const name = `${key.selector}._domainkey.${c.domain}`;
    const record = expected[index]!;
    const txt = await c.lookups.txt(name);
    if (txt.kind === 'trouble') {
      trouble++;
      notes.push(`${name}: ${txt.problem}`);
      continue;
    }
    const published = txt.kind === 'found' ? txt.records.filter((r) => /^\s*v\s*=\s*DKIM1\b/i.test(r) || /(^|;)\s*p\s*=/.test(r)) : [];
    const matches = published.some((r) => dkimTags(r).get('p') === key.publicKeyText);
    if (matches) notes.push(`${name} matches the ${key.algorithm} key`);
    else if (published.length === 0 && key === c.keys.ed25519) {
      // RFC 6376 §6.1: a receiver passes the message on the RSA signature; the Ed25519 one is a bonus.
      notes.push(`${name} is not published (the RSA signature is enough, but publish it too)`);
      fixes.push(publishText(record.name, 'TXT', record.value));
    } else {
      problems.push(published.length === 0 ? `${name} is not published` : `${name} holds another key than the one Mailnest signs with`);
      fixes.push(publishText(record.name, 'TXT', record.value));
    }
  }
  const fix = fixes.length ? `Publish at your DNS provider (replacing any older value): ${fixes.join('; ')}. \`mailnest domain dns ${c.domain}\` prints them.` : '';
  if (problems.length) return outcome(id, 'dkim', 'fail', `The DKIM key of ${c.domain} is ${problems.some((p) => p.includes('another key')) ? 'wrong' : 'not published'}`, `${[...problems, ...notes].join('; ')}. Receivers cannot verify the signatures of mail from ${c.domain}.`, fix);
  if (trouble === 2) return outcome(id, 'dkim', 'unknown', `Could not look up the DKIM keys of ${c.domain}`, notes.join('; '), 'Check the dns-servers setting and the internet connection.');
  return outcome(id, 'dkim', 'pass', `The DKIM key of ${c.domain} is published`, `${notes.join('; ')}.`, fix);
}

export async function checkDmarc(c: DomainContext): Promise<CheckOutcome> {
  const id = `dmarc:${c.domain}`;
  const name = `_dmarc.${c.domain}`;
  const suggested = dmarcRecord(c.domain);
  const publish = `Publish at your DNS provider: ${publishText(suggested.name, 'TXT', suggested.value)}.`;
  const txt = await c.lookups.txt(name);
  if (txt.kind === 'trouble') return outcome(id, 'dmarc', 'unknown', `Could not look up the DMARC record of ${c.domain}`, txt.problem, 'Check the dns-servers setting and the internet connection.');
  // RFC 7489 §6.6.3: records that do not start with v=DMARC1 are ignored; more than one means none applies.
  const records = txt.kind === 'found' ? txt.records.filter((r) => /^v\s*=\s*DMARC1\s*(;|$)/.test(r)) : [];
  if (records.length === 0) return outcome(id, 'dmarc', 'fail', `${c.domain} has no DMARC record`, `Without one at ${name}, large receivers (Gmail, Yahoo, Outlook) treat mail from ${c.domain} as less trustworthy, and anyone can pass as it.`, publish);
  if (records.length > 1) return outcome(id, 'dmarc', 'fail', `${c.domain} has ${records.length} DMARC records`, `With more than one at ${name}, receivers apply none (RFC 7489 §6.6.3).`, `Keep one. ${publish}`);
  const policy = /(^|;)\s*p\s*=\s*([a-z]+)/i.exec(records[0]!)?.[2]?.toLowerCase();
  // §6.3: p is required; none, quarantine or reject.
  if (!policy || !['none', 'quarantine', 'reject'].includes(policy)) return outcome(id, 'dmarc', 'fail', `The DMARC record of ${c.domain} has no valid policy`, `Record: "${records[0]}" lacks p=none, p=quarantine or p=reject.`, publish);
  const note = policy === 'none' ? ' p=none only reports; once mail passes, p=quarantine protects the domain.' : '';
  return outcome(id, 'dmarc', 'pass', `${c.domain} has a DMARC record`, `Record: "${records[0]}".${note}`);
}

export async function checkSrv(c: DomainContext): Promise<CheckOutcome> {
  const id = `srv:${c.domain}`;
  const expected = clientSrvRecords(c.domain, c.hostname);
  const answers = await Promise.all(expected.map(async (record) => ({ record, srv: await c.lookups.srv(record.name.replace(/\.$/, '')) })));
  const missing: string[] = [];
  const wrong: string[] = [];
  const troubles: string[] = [];
  const fixes: string[] = [];
  for (const { record, srv } of answers) {
    const name = record.name.replace(/\.$/, '');
    const port = Number(record.value.split(' ')[2]);
    if (srv.kind === 'trouble') troubles.push(srv.problem);
    else if (srv.kind === 'none') {
      missing.push(name);
      fixes.push(publishText(record.name, 'SRV', record.value));
    } else if (srv.records.some((s) => s.name === '' || s.name === '.')) {
      // RFC 6186 §3.4 (RFC 2782): a target of "." says the service is deliberately not offered.
    } else if (!srv.records.some((s) => sameName(s.name, c.hostname) && s.port === port)) {
      wrong.push(`${name} names ${srv.records.map((s) => `${s.name}:${s.port}`).join(', ')}`);
      fixes.push(publishText(record.name, 'SRV', record.value));
    }
  }
  const fix = fixes.length ? `Publish at your DNS provider: ${fixes.join('; ')}.` : '';
  if (missing.length || wrong.length) {
    const detail = [missing.length ? `missing: ${missing.join(', ')}` : '', wrong.length ? `not pointing at ${c.hostname}: ${wrong.join('; ')}` : ''].filter(Boolean).join('; ');
    return outcome(id, 'srv', 'fail', `The mail program records of ${c.domain} are ${wrong.length ? 'wrong' : 'incomplete'}`, `${detail}. Mail programs (RFC 6186) cannot set themselves up from the address alone.`, fix);
  }
  if (troubles.length) return outcome(id, 'srv', 'unknown', `Could not look up the mail program records of ${c.domain}`, troubles.join('; '), 'Check the dns-servers setting and the internet connection.');
  return outcome(id, 'srv', 'pass', `The mail program records of ${c.domain} are published`, `${expected.length} SRV records point at ${c.hostname}.`);
}

