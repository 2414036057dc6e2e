// The one HTTP server: routes each request to GraphQL, a REST dialect, or the operational endpoints.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Logger } from '../logger';
import { routeLabel, type HttpMetrics } from './metrics';
import { sendJson } from './respond';

/** A mounted handler; `false` means "not mine" so the next one is tried. */
export type NodeHandler = (req: IncomingMessage, res: ServerResponse) => Promise<boolean> | boolean;

export interface ServerOptions {
  logger: Logger;
  metrics: HttpMetrics;
  /** Checks that the database answers; a rejection makes /healthz return 503. */
  checkHealth: () => Promise<void>;
  handlers: NodeHandler[];
}

export function createHttpServer(options: ServerOptions): Server {
  const { logger, metrics } = options;
  const handlers: NodeHandler[] = [healthAndMetrics(options), ...options.handlers];
  const server = createServer({ requestTimeout: 30_000, headersTimeout: 15_000, keepAliveTimeout: 5_000 }, (req, res) => {
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      const pathname = (req.url ?? '/').split('?')[0] ?? '/';
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      metrics.observeRequest(req.method ?? 'GET', routeLabel(pathname), res.statusCode, seconds);
    });
    void dispatch(handlers, req, res).catch((error: unknown) => {
      // Handlers map their own errors; reaching this means a bug, never the client's fault.
      logger.error({ err: error, method: req.method, path: req.url?.split('?')[0] }, 'unhandled request error');
      if (!res.headersSent) sendJson(res, 500, { message: '500 Internal Server Error' });
      else res.destroy();
    });
  });
  server.on('clientError', (error: NodeJS.ErrnoException, socket) => {
    // The statuses Node itself would send: 408 for a request or header timeout, 431 for oversized headers.
    const status = error.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? '408 Request Timeout'
      : error.code === 'HPE_HEADER_OVERFLOW' ? '431 Request Header Fields Too Large'
      : '400 Bad Request';
    if (socket.writable) socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
  });
  return server;
}

async function dispatch(handlers: NodeHandler[], req: IncomingMessage, res: ServerResponse): Promise<void> {
  for (const handler of handlers) {
    if (await handler(req, res)) return;
  }
  sendJson(res, 404, { message: '404 Not Found' });
}

function healthAndMetrics(options: ServerOptions): NodeHandler {
  return async (req, res) => {
    const pathname = (req.url ?? '/').split('?')[0];
    if (pathname === '/healthz') {
      try {
        await options.checkHealth();
        sendJson(res, 200, { status: 'ok' });
      } catch (error) {
        options.logger.warn({ err: error }, 'health check failed');
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
