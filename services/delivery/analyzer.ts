// The body analyzer every received message goes through: the MIME scanner
// reads the octets once as they are written, and its structure plus the index
// summary are stored with the message (see services/mime). The first octets
// are kept too, so that the message's raw header block (up to 64 KiB) goes into
// the body row and FETCH BODY[HEADER...] never opens the file.

import { MessageScanner, summarize } from '../mime/index.ts';
import type { BodyAnalyzer } from '../store/receive.ts';

/** Header blocks up to this size are kept in the row; longer ones are read from the file. */
export const headerRowLimit = 64 * 1024;

export function createBodyAnalyzer(): BodyAnalyzer {
  const scanner = new MessageScanner();
  const head: Buffer[] = [];
  let kept = 0;
  return {
    write: (chunk) => {
      scanner.write(chunk);
      // Copied: the caller may reuse its buffer. Only up to one byte past the limit is needed.
      if (kept <= headerRowLimit) {
        const piece = Buffer.from(chunk.subarray(0, headerRowLimit + 1 - kept));
        head.push(piece);
        kept += piece.length;
      }
    },
    end() {
      const structure = scanner.end();
      const end = structure.root.body;
      const header = structure.root.header === 0 && end <= headerRowLimit && end <= kept ? Buffer.concat(head, kept).subarray(0, end) : undefined;
      return { structure, summary: { ...summarize(structure), ...(header ? { header } : {}) } };
    },
  };
}
