// Persisted operations: `{"documentId": "<sha256 hex>"}` (POST body or GET query string) runs a
// document of the manifest. With `persistedOnly`, other documents run for administrators only.
import { defaultExtractPersistedOperationId, usePersistedOperations } from '@graphql-yoga/plugin-persisted-operations';
import { createGraphQLError, type GraphQLParams, type Plugin } from 'graphql-yoga';
import type { Manifest } from './persisted-manifest';

export interface PersistedOperationsOptions {
  manifest: Manifest;
  /** `HOOKGATE_GRAPHQL_PERSISTED_ONLY`: refuse documents outside the manifest to non-admins. */
  persistedOnly: boolean;
  /** Whether the request's token is an administrator's (asked only in persisted-only mode). */
  isAdmin: (request: Request) => Promise<boolean>;
}

/** What the rules need besides the caller: the manifest and whether raw documents are refused. */
export type PersistedRules = Pick<PersistedOperationsOptions, 'manifest' | 'persistedOnly'>;

/** Names Yoga must accept beside `query`, `variables`, `operationName` and `extensions`. */
export const PERSISTED_PARAM_NAMES = ['documentId'];

const ERRORS = {
  notFound: {
    message: 'No persisted operation has this documentId',
    extensions: { code: 'PERSISTED_QUERY_NOT_FOUND', http: { status: 400 } },
  },
  persistedQueryOnly: {
    message: 'Only persisted operations are accepted: send a documentId from persisted-operations.json',
    extensions: { code: 'PERSISTED_QUERY_ONLY', http: { status: 400 } },
  },
  // Neither a query nor a documentId: what Yoga answers for a missing query.
  keyNotFound: {
    message: 'Must provide query string or documentId.',
    extensions: { code: 'BAD_REQUEST', http: { spec: true, status: 400 } },
  },
};

export function persistedOperations(options: PersistedOperationsOptions): Plugin {
  const { manifest } = options;
  return usePersistedOperations({
    getPersistedOperation: (id) => (Object.hasOwn(manifest, id) ? manifest[id]! : null),
    extractPersistedOperationId: (params, request, context) => {
      const fromBody = (params as GraphQLParams & { documentId?: unknown }).documentId;
      if (typeof fromBody === 'string') return fromBody;
      // Yoga's GET parser keeps only the four standard parameters.
      const fromUrl = request.method === 'GET' ? new URL(request.url).searchParams.get('documentId') : null;
      return fromUrl ?? defaultExtractPersistedOperationId(params, request, context);
    },
    allowArbitraryOperations: options.persistedOnly ? options.isAdmin : true,
    customErrors: ERRORS,
  });
}

/**
 * The same rules for a transport outside Yoga's HTTP pipeline (a graphql-ws subscribe message, a
 * /graphql/stream request): the document text to run, or a GraphQLError with the codes HTTP answers
 * with. graphql-ws requires `query` to be a string, so an empty one means "none" (send `documentId`).
 */
export function persistedDocument(options: PersistedRules, message: { query?: unknown; documentId?: unknown; extensions?: unknown }, isAdmin: boolean): string {
  if (typeof message.query === 'string' && message.query !== '') {
    if (options.persistedOnly && !isAdmin) throw createGraphQLError(ERRORS.persistedQueryOnly.message, ERRORS.persistedQueryOnly);
    return message.query;
  }
  const apollo = (message.extensions as { persistedQuery?: { version?: unknown; sha256Hash?: unknown } } | undefined)?.persistedQuery;
  const id =
    typeof message.documentId === 'string' ? message.documentId : apollo?.version === 1 && typeof apollo.sha256Hash === 'string' ? apollo.sha256Hash : null;
  if (id === null) throw createGraphQLError(ERRORS.keyNotFound.message, ERRORS.keyNotFound);
  if (!Object.hasOwn(options.manifest, id)) throw createGraphQLError(ERRORS.notFound.message, ERRORS.notFound);
  return options.manifest[id]!;
}
