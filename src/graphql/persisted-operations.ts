// Persisted operations: `{"documentId": "<sha256 hex>"}` (POST body or GET query string) runs a
// document of the manifest. With `persistedOnly`, other documents run for administrators only.
import { defaultExtractPersistedOperationId, usePersistedOperations } from '@graphql-yoga/plugin-persisted-operations';
import type { GraphQLParams, Plugin } from 'graphql-yoga';
import type { Manifest } from './persisted-manifest';

export interface PersistedOperationsOptions {
  manifest: Manifest;
  /** `HOOKGATE_GRAPHQL_PERSISTED_ONLY`: refuse documents outside the manifest to non-admins. */
  persistedOnly: boolean;
  /** Whether the request's token is an administrator's (asked only in persisted-only mode). */
  isAdmin: (request: Request) => Promise<boolean>;
}

/** Names Yoga must accept beside `query`, `variables`, `operationName` and `extensions`. */
export const PERSISTED_PARAM_NAMES = ['documentId'];

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
    customErrors: {
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
    },
  });
}
