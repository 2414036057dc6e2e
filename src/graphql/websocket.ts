// GraphQL over WebSocket (`graphql-transport-ws`, the protocol of graphql-ws, Apollo's GraphQLWsLink
// and urql) on /graphql. Wired as The Guild documents for Yoga: every operation goes through
// `yoga.getEnveloped`, so the limits, error masking and context of HTTP apply unchanged.
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { type ExecutionArgs, GraphQLError } from 'graphql';
import type { OperationResult } from 'graphql-ws';
import { useServer } from 'graphql-ws/use/ws';
import type { YogaServerInstance } from 'graphql-yoga';
import { WebSocketServer } from 'ws';
import type { PrismaClient } from '../generated/prisma/client';
import type { Logger } from '../logger';
import { authenticateBearer } from './bearer';
import type { GraphQLContext, GraphQLServices } from './context';
import { type PersistedRules, persistedDocument } from './persisted-operations';
import { GRAPHQL_PATH, LIMITS, type ServerContext } from './yoga';

export interface GraphQLWebSocketOptions {
  yoga: YogaServerInstance<ServerContext, GraphQLContext>;
  services: GraphQLServices;
  prisma: PrismaClient;
  logger: Logger;
  /** `documentId` (or Apollo's `extensions.persistedQuery`) and persisted-only mode, as over HTTP. */
  persisted: PersistedRules;
}

export interface GraphQLWebSocket {
  /** Closes every socket with 1001 (Going Away) and stops accepting new ones. */
  close(): Promise<void>;
}

/** What a connection keeps between protocol callbacks. */
type ConnectionState = {
  /** The `Authorization` value the connection was accepted with; checked again per operation. */
  authorization?: string;
  /** One per running operation, aborted when it completes or the socket closes (ends subscriptions). */
  operations?: Map<string, AbortController>;
};

type ConnectionParams = Record<string, unknown> | undefined;

/** The enveloped execute/subscribe travel in `rootValue`, as in Yoga's documented wiring. */
interface EnvelopedRoot {
  execute: (args: ExecutionArgs) => unknown;
  subscribe: (args: ExecutionArgs) => unknown;
}

export function attachGraphQLWebSocket(server: Server, options: GraphQLWebSocketOptions): GraphQLWebSocket {
  const { yoga, services, prisma, logger, persisted } = options;
  // The same body limit as HTTP: a bigger message closes the socket with 1009 (Message Too Big).
  const wss = new WebSocketServer({ noServer: true, maxPayload: LIMITS.maxBodyBytes });

  const disposable = useServer<ConnectionParams, ConnectionState>(
    {
      // Never put an internal error's message in a close reason.
      isProd: true,
      // graphql-ws's default is 3 s between opening the socket and `connection_init`; a busy
      // client (or a loaded machine) can miss that, and a retrying client only adds load.
      connectionInitWaitTimeout: 10_000,
      // Returning false closes with 4403 Forbidden before any operation is accepted.
      onConnect: async (ctx) => {
        const authorization = bearerHeader(ctx.connectionParams) ?? ctx.extra.request.headers.authorization;
        const { actor } = await authenticateBearer(services, authorization);
        if (!actor) return false;
        ctx.extra.authorization = authorization;
        ctx.extra.operations = new Map();
        return true;
      },
      onSubscribe: async (ctx, id, payload) => {
        const controller = new AbortController();
        // Checked again for every operation, as HTTP does per request: a revoked token stops here.
        const auth = await authenticateBearer(services, ctx.extra.authorization);
        const context: GraphQLContext = {
          ...auth,
          services,
          prisma,
          origin: requestOrigin(ctx.extra.request.headers.host),
          signal: controller.signal,
        };
        const enveloped = yoga.getEnveloped({ req: ctx.extra.request, webSocket: context, params: payload });
        let document: ExecutionArgs['document'];
        try {
          document = enveloped.parse(persistedDocument(persisted, payload, auth.actor?.isAdmin === true));
          const errors = enveloped.validate(enveloped.schema, document);
          if (errors.length > 0) return errors;
        } catch (error) {
          // Persisted-operation refusals, syntax errors and armor's limits (it throws from parse and
          // validate) are the client's to see, as over HTTP; anything else is ours and closes the socket with 4500.
          if (error instanceof GraphQLError) return [error];
          throw error;
        }
        // Only an operation that will run gets an onComplete (which aborts it); refused ones above do not.
        ctx.extra.operations?.set(id, controller);
        const root: EnvelopedRoot = { execute: enveloped.execute, subscribe: enveloped.subscribe };
        return {
          schema: enveloped.schema,
          operationName: payload.operationName,
          document,
          variableValues: payload.variables,
          contextValue: await enveloped.contextFactory(),
          rootValue: root,
        };
      },
      execute: (args) => (args.rootValue as EnvelopedRoot).execute(args) as OperationResult,
      subscribe: (args) => (args.rootValue as EnvelopedRoot).subscribe(args) as OperationResult,
      onComplete: (ctx, id) => {
        ctx.extra.operations?.get(id)?.abort();
        ctx.extra.operations?.delete(id);
      },
      onClose: (ctx) => {
        for (const controller of ctx.extra.operations?.values() ?? []) controller.abort();
        ctx.extra.operations?.clear();
      },
    },
    wss,
  );

  const onUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    if ((request.url ?? '/').split('?')[0] !== GRAPHQL_PATH) {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    wss.handleUpgrade(request, socket, head, (ws) => wss.emit('connection', ws, request));
  };
  server.on('upgrade', onUpgrade);
  wss.on('error', (error) => logger.error({ err: error }, 'GraphQL WebSocket server error'));

  return {
    close: async () => {
      server.off('upgrade', onUpgrade);
      // dispose() sends 1001 to every client and closes the server; a client that does not answer
      // the close handshake is cut after a bound so shutdown never hangs on it.
      const stragglers = setTimeout(() => {
        for (const client of wss.clients) client.terminate();
      }, 5_000);
      const closed = [...wss.clients].map(
        (client) =>
          new Promise<void>((resolve) => {
            if (client.readyState === client.CLOSED) resolve();
            else client.once('close', () => resolve());
          }),
      );
      await disposable.dispose();
      await Promise.all(closed);
      clearTimeout(stragglers);
    },
  };
}

/** `connectionParams.Authorization` (any capitalisation), when the client sent one. */
function bearerHeader(params: ConnectionParams): string | undefined {
  if (!params) return undefined;
  const key = Object.keys(params).find((k) => k.toLowerCase() === 'authorization');
  const value = key === undefined ? undefined : params[key];
  return typeof value === 'string' ? value : undefined;
}

function requestOrigin(host: string | undefined): string {
  try {
    return new URL(`http://${host ?? 'localhost'}`).origin;
  } catch {
    return 'http://localhost';
  }
}
