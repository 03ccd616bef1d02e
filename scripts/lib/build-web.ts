// Bundles the browser side (web-ui/) into dist/web/: index.html naming
// /assets/app-HASH.js and /assets/app-HASH.css, and a .gz and .br beside
// every asset, so that services/web sends them precompressed and cached for a
// year (the hash in the name changes whenever the content does).

import { build } from 'esbuild';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { brotliCompressSync, constants as zlib, gzipSync } from 'node:zlib';

export interface WebBuild {
  script: string;
  stylesheet: string;
}

export async function buildWeb(repo: string, outdir = join(repo, 'dist', 'web')): Promise<WebBuild> {
  const assets = join(outdir, 'assets');
  // Old hashed files would pile up build after build.
  rmSync(outdir, { recursive: true, force: true });
  mkdirSync(assets, { recursive: true });
  const result = await build({
    absWorkingDir: repo,
    entryPoints: { app: 'web-ui/main.tsx' },
    outdir: assets,
    entryNames: '[name]-[hash]',
    bundle: true,
    platform: 'browser',
    target: ['chrome109', 'firefox115', 'safari15'],
    format: 'esm',
    minify: true,
    jsx: 'automatic',
    jsxImportSource: 'preact',
    // qrcode's browser build is chosen by its package.json "browser" field; no Node shims are wanted.
    mainFields: ['browser', 'module', 'main'],
    define: { 'process.env.NODE_ENV': '"production"' },
    legalComments: 'linked',
    metafile: true,
    logLevel: 'warning',
  });
  const outputs = Object.keys(result.metafile.outputs).map((file) => basename(file));
  const script = outputs.find((name) => /^app-[A-Z0-9]+\.js$/.test(name));
  const stylesheet = outputs.find((name) => /^app-[A-Z0-9]+\.css$/.test(name));
  if (!script || !stylesheet) throw new Error(`web build: expected app-HASH.js and app-HASH.css, got ${outputs.join(', ')}`);

  for (const name of outputs) {
    const file = join(assets, name);
    const content = readFileSync(file);
    writeFileSync(`${file}.gz`, gzipSync(content, { level: 9 }));
    writeFileSync(`${file}.br`, brotliCompressSync(content, { params: { [zlib.BROTLI_PARAM_QUALITY]: 11, [zlib.BROTLI_PARAM_SIZE_HINT]: content.length } }));
  }

  const template = readFileSync(join(repo, 'web-ui', 'index.html'), 'utf8');
  const html = template.replace('%SCRIPT%', `/assets/${script}`).replace('%STYLESHEET%', `/assets/${stylesheet}`);
  if (html.includes('%')) throw new Error('web build: web-ui/index.html has a placeholder left');
  writeFileSync(join(outdir, 'index.html'), html);
  return { script, stylesheet };
}
