// Cross-origin access: off unless HOOKGATE_CORS_ORIGINS lists the page's origin. Only a listed
// origin gets any CORS header, credentials included; every other origin gets none, so a browser
// keeps its pages from reading our answers (and from sending preflighted requests at all).
import cors from 'cors';
import type { CORSOptions } from 'graphql-yoga';
import type { NodeHandler } from './server';

const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE'];
const ALLOWED_HEADERS = ['authorization', 'content-type', 'private-token', 'idempotency-key', 'x-graphql-yoga-csrf'];
/** Headers a listed page may read: pagination and back-off. */
const EXPOSED_HEADERS = ['retry-after', 'link', 'x-total', 'x-total-pages', 'x-per-page', 'x-page', 'x-next-page', 'x-prev-page'];
const MAX_AGE_SECONDS = 600;

/** Yoga's `cors` option: the listed origin echoed with credentials, nothing for any other. */
export function graphqlCors(origins: readonly string[]): CORSOptions | ((request: Request) => CORSOptions) {
  if (origins.length === 0) return false;
  return (request) => {
    const origin = request.headers.get('origin');
    if (origin === null || !origins.includes(origin)) return false;
    return { origin: [origin], credentials: true, methods: ['GET', 'POST'], allowedHeaders: ALLOWED_HEADERS, maxAge: MAX_AGE_SECONDS };
  };
}

/**
 * The same policy for every other route (REST), as a handler mounted ahead of them: it adds the
 * headers and answers preflights for listed origins, and passes everything else on. Null when no
 * origin is listed.
 */
export function restCors(origins: readonly string[]): NodeHandler | null {
  if (origins.length === 0) return null;
  const middleware = cors((req, callback) => {
    const origin = req.headers.origin;
    callback(
      null,
      origin !== undefined && origins.includes(origin)
        ? { origin, credentials: true, methods: METHODS, allowedHeaders: ALLOWED_HEADERS, exposedHeaders: EXPOSED_HEADERS, maxAge: MAX_AGE_SECONDS }
        : { origin: false },
    );
  });
  return (req, res) => {
    if (req.headers.origin === undefined) return false;
    return new Promise<boolean>((resolve, reject) => {
      middleware(req, res, (error?: unknown) => (error ? reject(error) : resolve(false)));
      // A preflight is answered (204) by the middleware itself, without calling `next`.
      if (res.writableEnded) resolve(true);
    });
  };
}
