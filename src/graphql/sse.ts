// GraphQL over Server-Sent Events on /graphql/stream, both modes of the graphql-sse protocol:
// "distinct connections" and "single connection" (PUT reserves a stream, then GET opens it and
// POSTs run operations on it). Yoga's own plugin does the protocol; this module adds what Hookgate
// asks of every transport: the bearer token on every request, the body limit, 4xx not 500.
import { createHmac, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { useGraphQLSSE } from '@graphql-yoga/plugin-graphql-sse';
import { GraphQLError } from 'graphql';
import { type Response as SseResponse, TOKEN_HEADER_KEY, TOKEN_QUERY_KEY } from 'graphql-sse';
import type { FetchAPI, Plugin } from 'graphql-yoga';
import type { Actor } from '../domain/actor';
import { authenticateBearer } from './bearer';
import type { GraphQLServices } from './context';
import { type PersistedRules, persistedDocument } from './persisted-operations';

export const SSE_PATH = '/graphql/stream';

export function graphqlSsePlugin(services: GraphQLServices, maxBodyBytes: number, persisted: PersistedRules): Plugin {
  const streamTokens = new StreamTokens();
  const sse = useGraphQLSSE({
    endpoint: SSE_PATH,
    // Runs first on every request of both modes, the PUT reservation included.
    authenticate: async (req) => {
      const { actor, authFailure } = await authenticateBearer(services, req.headers.get('authorization'));
      if (!actor) return refusal(401, 'Unauthorized', authFailure, 'UNAUTHENTICATED', { 'www-authenticate': 'Bearer' });
      // A reservation always gets a fresh stream: graphql-sse's client resends its previous
      // stream token on the PUT when it reconnects, which would otherwise race the old stream's end.
      if (req.method === 'PUT') return streamTokens.issue(actor);
      const presented = req.headers.get(TOKEN_HEADER_KEY) ?? new URL(req.url ?? '', 'http://localhost/').searchParams.get(TOKEN_QUERY_KEY);
      if (!presented) return streamTokens.issue(actor);
      // Another caller's stream is as good as no stream: neither can be read nor written to.
      return streamTokens.belongsTo(presented, actor) ? presented : refusal(404, 'Not Found', 'Stream not found', 'NOT_FOUND');
    },
  });

  return {
    onYogaInit: sse.onYogaInit,
    async onRequest(payload) {
      if (new URL(payload.request.url).pathname !== SSE_PATH) return;
      const { fetchAPI } = payload;
      const limited = await withLimitedBody(fetchAPI, payload.request, maxBodyBytes);
      if (limited instanceof fetchAPI.Response) return payload.endResponse(limited);
      try {
        // The plugin does not run Yoga's onParams, where the persisted-operations plugin works.
        const isAdmin = async () => (await authenticateBearer(services, limited.headers.get('authorization'))).actor?.isAdmin === true;
        const request = await withPersistedDocument(fetchAPI, limited, persisted, isAdmin);
        await sse.onRequest?.({ ...payload, request });
      } catch (error) {
        // The plugin lets parse and validation errors (armor's limits among them) escape as
        // exceptions, persisted-operation refusals too; they are the client's mistakes, answered as /graphql answers them.
        if (!(error instanceof GraphQLError)) throw error;
        const code = typeof error.extensions.code === 'string' ? error.extensions.code : 'GRAPHQL_VALIDATION_FAILED';
        payload.endResponse(jsonResponse(fetchAPI, 400, error.message, code));
      }
    },
  };
}

/**
 * Single-connection stream tokens, tied to the caller who reserved the stream: `<uuid>.<mac>`,
 * the MAC over the uuid and the actor under a key of this process (streams live in its memory
 * anyway). Nothing to store or expire; a token shown to someone else is useless to them.
 */
class StreamTokens {
  private readonly key = randomBytes(32);

  issue(actor: Actor): string {
    const id = randomUUID();
    return `${id}.${this.mac(id, actor)}`;
  }

  belongsTo(token: string, actor: Actor): boolean {
    const [id, mac, ...rest] = token.split('.');
    if (!id || !mac || rest.length > 0) return false;
    const expected = Buffer.from(this.mac(id, actor));
    const given = Buffer.from(mac);
    return given.length === expected.length && timingSafeEqual(given, expected);
  }

  private mac(id: string, actor: Actor): string {
    return createHmac('sha256', this.key).update(`${id}\n${actor.id}\n${actor.username}`).digest('base64url');
  }
}

/**
 * The same 1 MiB limit as /graphql (Yoga's own limit runs after the point where the plugin takes
 * the request): by Content-Length, and by counting for a body sent without one.
 */
async function withLimitedBody(fetchAPI: FetchAPI, request: Request, maxBytes: number): Promise<Request | Response> {
  if (!request.body) return request;
  const length = request.headers.get('content-length');
  if (length !== null && (!/^\d+$/.test(length) || Number(length) > maxBytes)) {
    return /^\d+$/.test(length) ? tooLarge(fetchAPI) : jsonResponse(fetchAPI, 400, 'Content-Length header is invalid.', 'BAD_REQUEST');
  }
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = request.body.getReader();
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel();
      return tooLarge(fetchAPI);
    }
    chunks.push(value);
  }
  return new fetchAPI.Request(request.url, { method: request.method, headers: request.headers, body: Buffer.concat(chunks), signal: request.signal });
}

/**
 * The request with its operation's document chosen by the persisted-operations rules: a POST's
 * JSON body or a GET's query string gets `query` set to the document to run. Requests that carry
 * no operation (a reservation, opening a single-connection stream, stopping one) pass unchanged.
 */
async function withPersistedDocument(fetchAPI: FetchAPI, request: Request, rules: PersistedRules, isAdmin: () => Promise<boolean>): Promise<Request> {
  const resolve = async (params: { query?: unknown; documentId?: unknown; extensions?: unknown }) =>
    persistedDocument(rules, params, rules.persistedOnly && (await isAdmin()));
  if (request.method === 'POST' && request.body) {
    const text = await request.text();
    const init = { method: request.method, headers: request.headers, signal: request.signal };
    const params = parseJson(text);
    // Not a JSON object: graphql-sse answers it as it would have.
    if (params === null || typeof params !== 'object' || Array.isArray(params)) return new fetchAPI.Request(request.url, { ...init, body: text });
    const body = JSON.stringify({ ...params, query: await resolve(params) });
    return new fetchAPI.Request(request.url, { ...init, body });
  }
  const url = new URL(request.url);
  const search = url.searchParams;
  if (request.method !== 'GET' || !['query', 'documentId', 'extensions'].some((name) => search.has(name))) return request;
  search.set(
    'query',
    await resolve({
      query: search.get('query') ?? undefined,
      documentId: search.get('documentId') ?? undefined,
      extensions: parseJson(search.get('extensions') ?? 'null'),
    }),
  );
  return new fetchAPI.Request(url, { method: request.method, headers: request.headers, signal: request.signal });
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function tooLarge(fetchAPI: FetchAPI): Response {
  return jsonResponse(fetchAPI, 413, 'Request body too large', 'REQUEST_ENTITY_TOO_LARGE');
}

function errorsBody(message: string, code: string): string {
  return JSON.stringify({ errors: [{ message, extensions: { code } }] });
}

function jsonResponse(fetchAPI: FetchAPI, status: number, message: string, code: string): Response {
  return new fetchAPI.Response(errorsBody(message, code), { status, headers: { 'content-type': 'application/json; charset=utf-8' } });
}

/** graphql-sse's form of a refusal: a body and the response's init. */
function refusal(status: number, statusText: string, message: string, code: string, headers: Record<string, string> = {}): SseResponse {
  return [errorsBody(message, code), { status, statusText, headers: { 'content-type': 'application/json; charset=utf-8', ...headers } }];
}
