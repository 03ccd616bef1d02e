// The entry point bundled into dist/mailnest.js and run by bin/mailnest.

import { main } from './main.ts';
import type { Io } from './command.ts';

const io: Io = {
  stdout: (text) => void process.stdout.write(text),
  stderr: (text) => void process.stderr.write(text),
  stdin: process.stdin,
};

// Everything this process (and the serve process the supervisor spawns)
// creates is for its owner only: the data folder holds password hashes, keys
// and mail (services/store/data-folder.ts). Nothing Mailnest writes is meant
// for other users of the machine.
process.umask(0o077);

// Wait for stdout to drain before exiting, so piped output is complete.
main(process.argv.slice(2), io).then((status) => {
  process.exitCode = status;
  if (process.stdout.writableLength === 0) process.exit(status);
  else process.stdout.once('drain', () => process.exit(status));
});
