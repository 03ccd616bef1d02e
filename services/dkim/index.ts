// services/dkim: per-domain keys, signing of outgoing mail, and the DNS
// records to publish. See README.md.

export { domainKeys, ensureDomainKeys, type DkimKey, type DomainKeys } from './keys.ts';
export { signMessage, type SignOptions } from './sign.ts';
export { clientSrvRecords, dmarcRecord, domainRecords, zoneFile, type DnsRecord } from './records.ts';
export { createSigner, type MessageSigner } from './signer.ts';
