// The GraphQL endpoint: Yoga over the Pothos schema, with abuse limits, error masking, GraphiQL
// served entirely from this process, and subscriptions over SSE (Yoga's default transport).
import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { EnvelopArmorPlugin } from '@escape.tech/graphql-armor';
import { useCSRFPrevention } from '@graphql-yoga/plugin-csrf-prevention';
import { renderGraphiQL } from '@graphql-yoga/render-graphiql';
import { createYoga, type YogaServerInstance } from 'graphql-yoga';
import { MAX_BODY_BYTES } from '../domain/limits';
import type { PrismaClient } from '../generated/prisma/client';
import { graphqlCors } from '../http/cors';
import type { NodeHandler } from '../http/server';
import type { Logger } from '../logger';
import { authenticateBearer, type BearerResult } from './bearer';
import type { GraphQLContext, GraphQLServices } from './context';
import { maskError } from './errors';
import { type Manifest, readManifest } from './persisted-manifest';
import { PERSISTED_PARAM_NAMES, type PersistedRules, persistedOperations } from './persisted-operations';
import { schema } from './schema';
import { graphqlSsePlugin, SSE_PATH } from './sse';

export const GRAPHQL_PATH = '/graphql';

/**
 * Limits applied to every document before it runs (introspection is exempt: GraphiQL needs it).
 * The cost limit is `MAX_COMPLEXITY` in builder.ts.
 */
export const LIMITS = {
  /** Same as the REST APIs: bodies over 1 MiB are refused with 413 before being read. */
  maxBodyBytes: MAX_BODY_BYTES,
  maxDepth: 12,
  maxAliases: 20,
  maxDirectives: 20,
  maxTokens: 5000,
} as const;

/** GraphiQL's default document; also in persisted-operations.json (see persisted-manifest.ts). */
const EXAMPLE_OPERATIONS = readFileSync(new URL('./graphiql-examples.graphql', import.meta.url), 'utf8');

export interface GraphQLOptions {
  services: GraphQLServices;
  prisma: PrismaClient;
  logger: Logger;
  /** HOOKGATE_CORS_ORIGINS: the only origins that get CORS headers (none by default). */
  corsOrigins?: readonly string[];
  /** `HOOKGATE_GRAPHQL_PERSISTED_ONLY`: non-admins may run only the manifest's documents. */
  persistedOnly?: boolean;
  /** Defaults to the committed persisted-operations.json. */
  manifest?: Manifest;
}

export interface ServerContext {
  req?: IncomingMessage;
  res?: ServerResponse;
  /** A WebSocket operation's context, built by its connection (websocket.ts) instead of a Request. */
  webSocket?: GraphQLContext;
}

export function createGraphQL(options: GraphQLOptions): {
  yoga: YogaServerInstance<ServerContext, GraphQLContext>;
  handler: NodeHandler;
  /** The persisted-operations rules, for the WebSocket transport (it runs outside Yoga's pipeline). */
  persisted: PersistedRules;
} {
  const { services, prisma, logger } = options;
  const persisted: PersistedRules = { manifest: options.manifest ?? readManifest(), persistedOnly: options.persistedOnly ?? false };
  // A request a browser sends cross-site without a preflight (a GET, or a form or text/plain POST)
  // runs only when it carries a header no such request can: Authorization, which every operation
  // but introspection needs anyway, or Yoga's CSRF header. So no page can run a mutation (or read
  // a result) with a visitor's browser, even if authentication ever moves to cookies.
  const csrf = useCSRFPrevention({ requestHeaders: ['authorization', 'x-graphql-yoga-csrf'] });
  // The token is checked once per request, whether the persisted-only rule or the context asks first.
  const authentications = new WeakMap<Request, Promise<BearerResult>>();
  const authenticateRequest = (request: Request) => {
    let result = authentications.get(request);
    if (!result) authentications.set(request, (result = authenticateBearer(services, request.headers.get('authorization'))));
    return result;
  };
  const armor = EnvelopArmorPlugin({
    maxDepth: { n: LIMITS.maxDepth, ignoreIntrospection: true, flattenFragments: true },
    maxAliases: { n: LIMITS.maxAliases },
    maxDirectives: { n: LIMITS.maxDirectives },
    maxTokens: { n: LIMITS.maxTokens },
    // Cost is limited by @pothos/plugin-complexity (see builder.ts): armor's static cost only
    // counts `first: 100` written as a literal, so a variable would get around it.
    costLimit: { enabled: false },
    // Field suggestions ("did you mean …") stay on: the schema is public anyway (introspection).
    blockFieldSuggestion: { enabled: false },
  });

  const yoga = createYoga<ServerContext, GraphQLContext>({
    schema,
    graphqlEndpoint: GRAPHQL_PATH,
    maxRequestBodySize: LIMITS.maxBodyBytes,
    multipart: false,
    logging: false,
    landingPage: false,
    cors: graphqlCors(options.corsOrigins ?? []),
    extraParamNames: PERSISTED_PARAM_NAMES,
    plugins: [
      armor,
      csrf,
      persistedOperations({
        ...persisted,
        isAdmin: async (request) => (await authenticateRequest(request)).actor?.isAdmin === true,
      }),
      graphqlSsePlugin(services, LIMITS.maxBodyBytes, persisted),
    ],
    maskedErrors: {
      maskError: (error) => maskError(error, (original) => logger.error({ err: original }, 'unexpected GraphQL error')),
    },
    graphiql: {
      title: 'Hookgate GraphiQL',
      defaultQuery: EXAMPLE_OPERATIONS,
      isHeadersEditorEnabled: true,
      defaultEditorToolsVisibility: 'headers',
      subscriptionsProtocol: 'SSE',
      // A 1×1 transparent icon inline: browsers otherwise ask for /favicon.ico or a CDN logo.
      favicon: 'data:image/svg+xml,%3Csvg xmlns=%22http://www.w3.org/2000/svg%22 viewBox=%220 0 16 16%22/%3E',
    },
    // Every asset is inlined in the page (render-graphiql bundles GraphiQL): nothing from a CDN.
    renderGraphiQL,
    context: async ({ request, webSocket }): Promise<GraphQLContext> => {
      if (webSocket) return webSocket;
      const { actor, authFailure } = await authenticateRequest(request);
      return { actor, authFailure, services, prisma, origin: new URL(request.url).origin, signal: request.signal };
    },
  });

  const handler: NodeHandler = async (req, res) => {
    const pathname = (req.url ?? '/').split('?')[0];
    if (pathname !== GRAPHQL_PATH && pathname !== SSE_PATH) return false;
    // `requestListener` writes the response (handleNodeRequestAndResponse only computes it); it is
    // typed as node's void listener but returns a promise we wait on so errors surface here.
    await Promise.resolve(yoga.requestListener(req, res));
    return true;
  };
  return { yoga, handler, persisted };
}
