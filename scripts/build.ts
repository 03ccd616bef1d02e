// Bundles each entry point into dist/ with esbuild, and the browser side into
// dist/web/ (scripts/lib/build-web.ts). Native and optional
// packages stay external and are loaded from node_modules at run time.

import { build } from 'esbuild';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { buildWeb } from './lib/build-web.ts';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string; dependencies?: Record<string, string> };

const external = ['better-sqlite3', 'onoff', 'playwright-core', 'sockopt'];

await build({
  entryPoints: { mailnest: 'cli/bin.ts' },
  outdir: 'dist',
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  sourcemap: true,
  external,
  define: { MAILNEST_VERSION: JSON.stringify(pkg.version) },
  // CommonJS dependencies (smtp-server, nodemailer) call require(); give the ESM bundle one.
  banner: { js: "import { createRequire as __mailnestCreateRequire } from 'node:module'; const require = __mailnestCreateRequire(import.meta.url);" },
  logLevel: 'warning',
});
console.log('built dist/mailnest.js');

const web = await buildWeb(fileURLToPath(new URL('..', import.meta.url)));
console.log(`built dist/web/ (${web.script}, ${web.stylesheet})`);
