/**
 * The page's static files: the dashboard's own (assets/dashboard/ in the package: HTML, one
 * ES module, one stylesheet — no build step) and uPlot's ES module and stylesheet from its npm
 * package (resolved with createRequire, so whatever node_modules layout the install made).
 * Everything is read once when the server starts; nothing is fetched from the internet.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { ioError } from '../errors.js';

/** One file the server serves. */
export interface Asset {
  body: Buffer;
  type: string;
  etag: string;
}

const TYPES: Record<string, string> = {
  html: 'text/html; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
  png: 'image/png',
};

/** The package's assets/dashboard/ directory (dist/src/dashboard/ → package root). */
export const ASSET_DIR = fileURLToPath(new URL('../../../assets/dashboard/', import.meta.url));

/** URL path → file: the page at `/`, its module and stylesheet, uPlot's. */
function files(): Record<string, string> {
  const require = createRequire(import.meta.url);
  return {
    '/': `${ASSET_DIR}index.html`,
    '/assets/dashboard.js': `${ASSET_DIR}dashboard.js`,
    '/assets/dashboard.css': `${ASSET_DIR}dashboard.css`,
    '/assets/uplot.esm.js': require.resolve('uplot/dist/uPlot.esm.js'),
    '/assets/uplot.min.css': require.resolve('uplot/dist/uPlot.min.css'),
  };
}

/**
 * Reads every asset now. Guarantees: each path of the table maps to its bytes, content type and
 * a strong ETag; a missing file is IO naming it (a broken install fails at start, not per request).
 */
export function loadAssets(): Map<string, Asset> {
  const out = new Map<string, Asset>();
  for (const [path, file] of Object.entries(files())) {
    let body: Buffer;
    try {
      body = readFileSync(file);
    } catch (e) {
      throw ioError('reading the dashboard asset', file, e);
    }
    const ext = file.slice(file.lastIndexOf('.') + 1);
    out.set(path, { body, type: TYPES[ext] ?? 'application/octet-stream', etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"` });
  }
  return out;
}
