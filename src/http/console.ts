// Serves the Hookgate Console (the single-page app built into dist/console by `npm install`):
// the page at /console and its hashed assets at /console/assets/*, all from this process.
import { readdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { NodeHandler } from './server';

export const CONSOLE_PATH = '/console';
export const CONSOLE_DIST = fileURLToPath(new URL('../../dist/console/', import.meta.url));

const CONTENT_TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
};

interface Built {
  index: Buffer;
  /** Only these names are served: a request can never reach another file. */
  assets: Map<string, { body: Buffer; type: string }>;
}

export interface ConsoleOptions {
  /** The `frame-ancestors` sources: who may show the console in an iframe. */
  frameAncestors: string;
  dist?: string;
}

export function consoleHandler(options: ConsoleOptions): NodeHandler {
  const dist = options.dist ?? CONSOLE_DIST;
  // The page talks to /graphql only and loads nothing from elsewhere; the policy says so too.
  const policy = [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "connect-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    `frame-ancestors ${options.frameAncestors}`,
  ].join('; ');
  let built: Promise<Built> | undefined;
  return async (req, res) => {
    const pathname = (req.url ?? '/').split('?')[0] ?? '/';
    if (pathname !== CONSOLE_PATH && !pathname.startsWith(`${CONSOLE_PATH}/`)) return false;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('Method Not Allowed');
      return true;
    }
    built ??= load(dist).catch((error: unknown) => {
      built = undefined;
      throw error;
    });
    let files: Built;
    try {
      files = await built;
    } catch {
      res.writeHead(503, { 'content-type': 'text/plain' }).end('The console is not built: run `npm run console:build`.\n');
      return true;
    }
    const asset = pathname.startsWith(`${CONSOLE_PATH}/assets/`) ? files.assets.get(pathname.slice(`${CONSOLE_PATH}/assets/`.length)) : undefined;
    if (asset) {
      // Names carry a content hash: a changed file is a new name.
      res.writeHead(200, {
        'content-type': asset.type,
        'content-length': asset.body.length,
        'cache-control': 'public, max-age=31536000, immutable',
        'x-content-type-options': 'nosniff',
      });
      res.end(req.method === 'HEAD' ? undefined : asset.body);
      return true;
    }
    if (pathname.startsWith(`${CONSOLE_PATH}/assets/`)) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('Not Found');
      return true;
    }
    res.writeHead(200, {
      'content-type': 'text/html; charset=utf-8',
      'content-length': files.index.length,
      'cache-control': 'no-cache',
      'content-security-policy': policy,
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer',
    });
    res.end(req.method === 'HEAD' ? undefined : files.index);
    return true;
  };
}

async function load(dist: string): Promise<Built> {
  const index = await readFile(`${dist}index.html`);
  const assets = new Map<string, { body: Buffer; type: string }>();
  for (const name of await readdir(`${dist}assets`)) {
    const type = CONTENT_TYPES[name.slice(name.lastIndexOf('.'))];
    if (type) assets.set(name, { body: await readFile(`${dist}assets/${name}`), type });
  }
  return { index, assets };
}
