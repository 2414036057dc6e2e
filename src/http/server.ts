// The one HTTP server: routes each request to GraphQL, a REST dialect, or the operational endpoints.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { OutageLog } from '../db/availability';
import type { Logger } from '../logger';
import { type HttpMetrics, routeLabel } from './metrics';
import { sendJson } from './respond';

/** A mounted handler; `false` means "not mine" so the next one is tried. */
export type NodeHandler = (req: IncomingMessage, res: ServerResponse) => Promise<boolean> | boolean;

export interface ServerOptions {
  logger: Logger;
  metrics: HttpMetrics;
  /** Checks that the database answers; a rejection makes /healthz return 503. */
  checkHealth: () => Promise<void>;
  handlers: NodeHandler[];
  /** Node's request and header timeouts (answered 408) and how often it checks them; tests shorten them. */
  timeouts?: { requestMs: number; headersMs: number; checkIntervalMs?: number };
}

const DEFAULT_TIMEOUTS = { requestMs: 30_000, headersMs: 15_000, checkIntervalMs: 1_000 };

export function createHttpServer(options: ServerOptions): Server {
  const { logger, metrics } = options;
  const handlers: NodeHandler[] = [healthAndMetrics(options), ...options.handlers];
  const timeouts = { ...DEFAULT_TIMEOUTS, ...options.timeouts };
  const server = createServer(
    {
      requestTimeout: timeouts.requestMs,
      headersTimeout: timeouts.headersMs,
      connectionsCheckingInterval: timeouts.checkIntervalMs,
      keepAliveTimeout: 5_000,
    },
    (req, res) => {
      const started = process.hrtime.bigint();
      res.on('finish', () => {
        const pathname = (req.url ?? '/').split('?')[0] ?? '/';
        const seconds = Number(process.hrtime.bigint() - started) / 1e9;
        metrics.observeRequest(req.method ?? 'GET', routeLabel(pathname), res.statusCode, seconds);
      });
      void dispatch(handlers, req, res).catch((error: unknown) => {
        // A client that goes away mid-request is routine (a closed tab, a timeout of its own).
        if (clientWentAway(req, error)) {
          logger.debug({ method: req.method, path: req.url?.split('?')[0], code: (error as NodeJS.ErrnoException).code }, 'request aborted by the client');
          res.destroy();
          return;
        }
        // Handlers map their own errors; reaching this means a bug, never the client's fault.
        logger.error({ err: error, method: req.method, path: req.url?.split('?')[0] }, 'unhandled request error');
        if (!res.headersSent) sendJson(res, 500, { message: '500 Internal Server Error' });
        else res.destroy();
      });
    },
  );
  server.on('clientError', (error: NodeJS.ErrnoException, socket) => {
    // The statuses Node itself would send: 408 for a request or header timeout, 431 for oversized headers.
    const status =
      error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? '408 Request Timeout'
        : error.code === 'HPE_HEADER_OVERFLOW'
          ? '431 Request Header Fields Too Large'
          : '400 Bad Request';
    // A reset connection has no one to answer.
    if (error.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
  });
  return server;
}

/** True when `error` comes from the client closing its connection before its request was read. */
function clientWentAway(req: IncomingMessage, error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | null)?.code;
  return (req.destroyed && !req.complete) || code === 'ECONNRESET' || code === 'ERR_STREAM_PREMATURE_CLOSE';
}

async function dispatch(handlers: NodeHandler[], req: IncomingMessage, res: ServerResponse): Promise<void> {
  for (const handler of handlers) {
    if (await handler(req, res)) return;
  }
  sendJson(res, 404, { message: '404 Not Found' });
}

function healthAndMetrics(options: ServerOptions): NodeHandler {
  // Probes come every few seconds: an outage is one warning and one line when it ends.
  const outage = new OutageLog(options.logger, 'health check');
  return async (req, res) => {
    const pathname = (req.url ?? '/').split('?')[0];
    if (pathname === '/healthz') {
      try {
        await options.checkHealth();
        outage.recovered();
        sendJson(res, 200, { status: 'ok' });
      } catch (error) {
        outage.failed(error);
        sendJson(res, 503, { status: 'unavailable', message: 'database is not answering' });
      }
      return true;
    }
    if (pathname === '/metrics') {
      const body = await options.metrics.registry.metrics();
      res.writeHead(200, { 'content-type': options.metrics.registry.contentType });
      res.end(body);
      return true;
    }
    return false;
  };
}
