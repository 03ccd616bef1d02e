// The body analyzer every received message goes through: the MIME scanner
// reads the octets once as they are written, and its structure plus the index
// summary are stored with the message (see services/mime).
//
// It also keeps a copy of the first `deliveryIndexBytes` octets while they
// stream in; when the whole message fits, what the search index keeps of it
// (services/store/search-index.ts) is computed at the end from that copy and
// written in the delivery transaction. A larger message drops the copy at once
// (memory stays bounded per delivery) and is left to the background backfill.

import { MessageScanner, summarize, type MessageStructure } from '../mime/index.ts';
import type { BodyAnalyzer } from '../store/receive.ts';
import { deliveryIndexBytes, searchRecord } from '../store/search-index.ts';

export function createBodyAnalyzer(): BodyAnalyzer {
  const scanner = new MessageScanner();
  let kept: Buffer[] | undefined = [];
  let keptBytes = 0;
  return {
    write(chunk) {
      scanner.write(chunk);
      if (!kept) return;
      keptBytes += chunk.length;
      // The chunk may be reused by the caller after write(): keep a copy.
      if (keptBytes > deliveryIndexBytes) kept = undefined;
      else kept.push(Buffer.from(chunk));
    },
    end() {
      const structure = scanner.end();
      const summary = summarize(structure);
      if (kept) {
        const octets = Buffer.concat(kept, keptBytes);
        kept = undefined;
        return { structure, summary: { ...summary, index: searchRecord(octets, structure as MessageStructure) } };
      }
      return { structure, summary };
    },
  };
}
