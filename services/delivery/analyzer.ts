// The body analyzer every received message goes through: the MIME scanner
// reads the octets once as they are written, and its structure plus the index
// summary are stored with the message (see services/mime).

import { MessageScanner, summarize } from '../mime/index.ts';
import type { BodyAnalyzer } from '../store/receive.ts';

export function createBodyAnalyzer(): BodyAnalyzer {
  const scanner = new MessageScanner();
  return {
    write: (chunk) => scanner.write(chunk),
    end() {
      const structure = scanner.end();
      return { structure, summary: summarize(structure) };
    },
  };
}
