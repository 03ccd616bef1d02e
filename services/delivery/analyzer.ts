// The body analyzer every received message goes through: the MIME scanner
// reads the octets once as they are written, and its structure plus the index
// summary are stored with the message (see services/mime).
//
// The first octets are kept too, copied as they stream in (memory stays
// bounded per delivery):
// - the message's raw header block (up to 64 KiB) goes into the body row, so
//   that FETCH BODY[HEADER...] never opens the file (migration 9);
// - when the whole message fits `deliveryIndexBytes`, what the search index
//   keeps of it (services/store/search-index.ts, migration 8) is computed at
//   the end from that copy and written in the delivery transaction; a larger
//   message is left to the background backfill.

import { MessageScanner, summarize, type MessageStructure } from '../mime/index.ts';
import type { BodyAnalyzer } from '../store/receive.ts';
import { deliveryIndexBytes, searchRecord } from '../store/search-index.ts';

/** Header blocks up to this size are kept in the row; longer ones are read from the file. */
export const headerRowLimit = 64 * 1024;

/** Octets kept at most: one past the header-row limit, or the whole message while it fits the search index's bound. */
const keepBytes = Math.max(headerRowLimit + 1, deliveryIndexBytes);

export function createBodyAnalyzer(): BodyAnalyzer {
  const scanner = new MessageScanner();
  const head: Buffer[] = [];
  let kept = 0;
  let total = 0;
  return {
    write: (chunk) => {
      scanner.write(chunk);
      total += chunk.length;
      // Copied: the caller may reuse its buffer.
      if (kept < keepBytes) {
        const piece = Buffer.from(chunk.subarray(0, keepBytes - kept));
        head.push(piece);
        kept += piece.length;
      }
    },
    end() {
      const structure = scanner.end();
      const octets = Buffer.concat(head, kept);
      head.length = 0;
      const end = structure.root.body;
      // A copy of its own, so that the row's header does not hold the whole kept buffer.
      const header = structure.root.header === 0 && end <= headerRowLimit && end <= kept ? Buffer.from(octets.subarray(0, end)) : undefined;
      const index = total <= deliveryIndexBytes ? searchRecord(octets, structure as MessageStructure) : undefined;
      return { structure, summary: { ...summarize(structure), ...(header ? { header } : {}), ...(index ? { index } : {}) } };
    },
  };
}
