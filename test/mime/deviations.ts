// Where Mailnest answers differently from Dovecot 2.3.19 on purpose, message
// by message, with the RFC that justifies it. The golden test checks these
// messages against what is written here instead of against Dovecot, and
// fails if a listed difference disappears (so the list cannot rot).
//
// Two of the cases the golden README calls lenient are NOT differences:
// - 23-boundary-lookalikes: "--abc" ends a part whose boundary is "ab"
//   because RFC 2046 §5.1.1 says so ("NOTE TO IMPLEMENTORS: Boundary string
//   comparisons must compare the boundary value with the beginning of each
//   candidate line. An exact match of the entire candidate line is not
//   required"). We do the same.
// - 25-duplicate-headers: the last Subject/Date/Message-ID and every From.
//   RFC 5322 §3.6 allows one of each, so any choice is a repair; the last
//   instance is the one a DKIM signature covers by default (RFC 6376
//   §5.4.2), and showing every From keeps a forged first From from hiding
//   the real one. We do the same.

import type { ImapValue } from '../../services/mime/index.ts';

/**
 * Raw 8-bit header text that is not UTF-8 (Latin-1, Big5, GB2312, EUC-KR in
 * 2002 mail). Dovecot sends those octets unchanged; their charset is unknown
 * to the client. Mailnest's ImapValue strings are Unicode, so it sends the
 * text decoded as windows-1252 in UTF-8: RFC 3501 §4.3 / RFC 9051 §4.3 say
 * 8-bit text SHOULD only be sent when its charset is identified, and the only
 * charset an IMAP string can be in is UTF-8 (RFC 6532 §3.2, RFC 6855 §3).
 * For these messages the ENVELOPE must equal the golden octets read as
 * windows-1252 (and everything else must equal Dovecot's exactly).
 */
export const rawEightBitEnvelopes = {
  rfc: 'RFC 3501 §4.3, RFC 6532 §3.2',
  paths: [
    'easy-ham-1/02026.e6e094c6110cbff0c3a55e0fc5c9273a.txt',
    'easy-ham-1/02140.ccabcb71ece6c0835518e4c7900ef94b.txt',
    'easy-ham-1/02218.f615f1b7360b9a22a0c9387f285a5af0.txt',
    'easy-ham-1/02274.d25fe5d3adc798112cd281bd89d642db.txt',
    'easy-ham-1/02278.5681f9fd02e38391b917d4623ff9d198.txt',
    'easy-ham-1/02345.52eedf6f431a61908c62a4d561e655fe.txt',
    'easy-ham-2/01138.921e383bac77952cac8d28c91d603d15.txt',
    'spam-1/00035.7ce3307b56dd90453027a6630179282e.txt',
    'spam-1/00072.d519a73b92f487519c2bc5ba45f5eb2c.txt',
    'spam-1/00243.c6e70273fe1cf9e56e26bb6bbeef415d.txt',
    'spam-1/00244.5cac9708afd7f9f00e9bf64eeb127f0a.txt',
    'spam-1/00288.8c8bc71976c3b67d900ebd8eeab8a0f5.txt',
    'spam-1/00330.c5f7346dec1e6fe6ed324d8e78a2b46e.txt',
    'spam-1/00336.92409253178027f58e2c072a7e82791e.txt',
    'spam-1/00338.a595ffbb6cbcf3a5058293051ebaabf4.txt',
    'spam-1/00437.defdb75139dbe5cdd027cbab9f704a27.txt',
    'spam-2/00006.3ca1f399ccda5d897fecb8c57669a283.txt',
    'spam-2/00207.47d129a97b8ce8572c9efb4c18a74192.txt',
    'spam-2/00704.30306e2e506ca198fe8dea2b3c11346a.txt',
    'spam-2/00706.5116018237368c3633823b2d24f8ac86.txt',
    'spam-2/00708.89f1f9108884517148fdbd744e18ec1e.txt',
    'spam-2/00737.af5f503fe444ae773bfeb4652d122349.txt',
    'spam-2/00808.c072069806eb82f9aaf8d21d39789ea6.txt',
    'spam-2/00853.ee1fe2f2d16e8b27be79a670b8597252.txt',
    'spam-2/00876.f61ec69c2872eb398ba3860a13a17b15.txt',
    'spam-2/00909.be44baf9966a96b2154b207cc56fe558.txt',
    'spam-2/00960.ae114c0b717c866b821efe032780a8e5.txt',
    'spam-2/01013.c6cf4f54eda63230389baccc02702034.txt',
    'spam-2/01017.11a80131a2ae31ad0a9969189de3c2bb.txt',
    'spam-2/01064.50715ffeb13446500895836b77fcee09.txt',
    'spam-2/01072.ac604802c74de2ebc445efc827299b96.txt',
    'spam-2/01227.04a4f94c7a73b29cb56bf38c7d526116.txt',
  ],
};

/**
 * message/global is an encapsulated message like message/rfc822 (RFC 6532
 * §3.7), and IMAP4rev2's grammar gives it the envelope, body and line count
 * of one (RFC 9051 §9: media-message = DQUOTE "MESSAGE" DQUOTE SP DQUOTE
 * ("RFC822" / "GLOBAL") DQUOTE). Dovecot 2.3 shows it as an opaque part.
 * So part 1.1 is the body of the encapsulated message ("inner"), and 1.1.MIME
 * its header, where Dovecot gives the whole part and its MIME header.
 */
const globalEnvelope: ImapValue = [null, 'ü', [[null, null, 'ü', 'bücher.example']], [[null, null, 'ü', 'bücher.example']], [[null, null, 'ü', 'bücher.example']], null, null, null, null, null];
export const messageGlobal = {
  rfc: 'RFC 9051 §9 (media-message), RFC 6532 §3.7',
  path: '17-message-global.eml',
  bodystructure: [['message', 'global', null, null, null, '7bit', 46, globalEnvelope, ['text', 'plain', ['charset', 'us-ascii'], null, null, '7bit', 5, 0, null, null, null, null], 3, null, null, null, null], 'mixed', ['boundary', 'g'], null, null, null] as ImapValue,
  body: [['message', 'global', null, null, null, '7bit', 46, globalEnvelope, ['text', 'plain', ['charset', 'us-ascii'], null, null, '7bit', 5, 0], 3], 'mixed'] as ImapValue,
  sections: {
    '1.1': Buffer.from('inner'),
    '1.1.MIME': Buffer.from('From: ü@bücher.example\r\nSubject: ü\r\n\r\n'),
  } as Record<string, Buffer>,
};
