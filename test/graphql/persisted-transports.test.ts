// Persisted operations on the streaming transports: graphql-ws on /graphql and graphql-sse (both
// modes) on /graphql/stream run manifest documents by `documentId`, and in persisted-only mode
// refuse raw documents to non-admins with PERSISTED_QUERY_ONLY, exactly as HTTP does.
// Real Hookgate on each backend, the real graphql-ws and graphql-sse clients.
import { encodeGlobalID } from '@pothos/plugin-relay';
import { createClient as createSseClient, NetworkError, type Client as SseClient } from 'graphql-sse';
import type { Client as WsClient } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { documentId, readManifest } from '../../src/graphql/persisted-manifest';
import { type Receiver, startReceiver } from '../delivery/receiver';
import { ADMIN_TOKEN, backends, createUser, startTestApp, type TestApp } from '../helpers';
import { connectWs, type LiveSubscription, liveSubscription, type WsConnection, within } from './transports';

const manifest = readManifest();
const idOf = (name: string): string => {
  const id = Object.keys(manifest).find((key) => new RegExp(`^(query|mutation|subscription) ${name}\\b`, 'm').test(manifest[key]!));
  if (!id) throw new Error(`no manifest document defines ${name}`);
  return id;
};

/**
 * What a client sends: graphql-ws and graphql-sse type `query` as a required string, so a
 * persisted operation goes with an empty one and `documentId` (or Apollo's persistedQuery) beside it.
 */
type Payload = { query: string; documentId?: string; variables?: Record<string, unknown>; extensions?: Record<string, unknown> };
const byId = (name: string, variables: Record<string, unknown> = {}): Payload => ({ query: '', documentId: idOf(name), variables });
const raw = (query: string): Payload => ({ query });

type Transport = 'graphql-ws' | 'graphql-sse distinct' | 'graphql-sse single';
const TRANSPORTS: Transport[] = ['graphql-ws', 'graphql-sse distinct', 'graphql-sse single'];

interface Outcome {
  data?: Record<string, any>;
  /** The error codes the operation was refused with (over SSE, from the 4xx body). */
  codes?: unknown[];
  status?: number;
}

describe.each(backends)('persisted operations over graphql-ws and graphql-sse on %s', (backend) => {
  const cleanups: (() => unknown)[] = [];
  afterAll(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  function client(t: TestApp, transport: Transport, token: string): { subscribe: <T>(payload: Payload) => LiveSubscription<T> } {
    if (transport === 'graphql-ws') {
      const connection: WsConnection = connectWs(t.url, token);
      cleanups.push(() => connection.dispose());
      const ws: WsClient = connection.client;
      return { subscribe: <T>(payload: Payload) => liveSubscription<T>((sink) => ws.subscribe<T>(payload, sink)) };
    }
    const sse: SseClient = createSseClient({
      url: `${t.url}/graphql/stream`,
      singleConnection: transport === 'graphql-sse single',
      headers: { Authorization: `Bearer ${token}` },
      retryAttempts: 0,
      // The client aborts its connection when an operation is refused; a refusal's body is read
      // first so the test can see its codes (the client reports the Response as it got it).
      fetchFn: async (input: RequestInfo | URL, init?: RequestInit) => {
        const response = await fetch(input, init);
        if (response.ok) return response;
        return new Response(await response.arrayBuffer(), { status: response.status, statusText: response.statusText, headers: response.headers });
      },
    });
    cleanups.push(() => sse.dispose());
    return { subscribe: <T>(payload: Payload) => liveSubscription<T>((sink) => sse.subscribe<T>(payload, sink)) };
  }

  /** Runs one query over the transport: its result, or the codes it was refused with. */
  async function run(t: TestApp, transport: Transport, token: string, payload: Payload): Promise<Outcome> {
    const live = client(t, transport, token).subscribe<Record<string, any>>(payload);
    try {
      const outcome = await within(
        Promise.race([
          live.waitFor(() => true, 'a result').then((r) => ({ data: r.data ?? undefined, codes: r.errors?.map((e) => e.extensions?.code) })),
          live.error.then(refusal),
        ]),
        30_000,
        `an answer over ${transport}`,
      );
      return Object.fromEntries(Object.entries(outcome).filter(([, value]) => value !== undefined));
    } finally {
      live.stop();
    }
  }

  async function refusal(error: unknown): Promise<Outcome> {
    // graphql-ws: the error message's GraphQL errors; graphql-sse: the 4xx response itself.
    if (Array.isArray(error)) return { codes: error.map((e: { extensions?: { code?: unknown } }) => e.extensions?.code) };
    if (error instanceof NetworkError && error.response) {
      const body = (await error.response.json()) as { errors?: { extensions?: { code?: unknown } }[] };
      return { status: error.response.status, codes: body.errors?.map((e) => e.extensions?.code) };
    }
    throw error;
  }

  const sseStatus = (transport: Transport) => (transport === 'graphql-ws' ? {} : { status: 400 });

  describe('by default', () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await startTestApp(backend);
      cleanups.push(() => t.close());
    });

    it.each(TRANSPORTS)('%s: runs a manifest document by documentId or Apollo persistedQuery, refuses an unknown id', async (transport) => {
      expect(await run(t, transport, ADMIN_TOKEN, byId('Viewer'))).toEqual({ data: { viewer: expect.objectContaining({ username: 'root', isAdmin: true }) } });
      const apollo: Payload = { query: '', extensions: { persistedQuery: { version: 1, sha256Hash: idOf('Viewer') } } };
      expect(await run(t, transport, ADMIN_TOKEN, apollo)).toEqual({ data: { viewer: expect.objectContaining({ username: 'root' }) } });
      const unknown: Payload = { query: '', documentId: documentId('query Nope { viewer { username } }') };
      expect(await run(t, transport, ADMIN_TOKEN, unknown)).toEqual({ ...sseStatus(transport), codes: ['PERSISTED_QUERY_NOT_FOUND'] });
      // Raw documents still run for anyone.
      const { token } = await createUser(t.app, `anyone-${transport.replace(/\W/g, '')}`);
      expect(await run(t, transport, token, raw('{ viewer { isAdmin } }'))).toEqual({ data: { viewer: { isAdmin: false } } });
    });
  });

  describe('with HOOKGATE_GRAPHQL_PERSISTED_ONLY=true', () => {
    let t: TestApp;
    let receiver: Receiver;
    let bob: { token: string };
    let bobHookId: number;
    beforeAll(async () => {
      t = await startTestApp(backend, { HOOKGATE_GRAPHQL_PERSISTED_ONLY: 'true' });
      cleanups.push(() => t.close());
      receiver = await startReceiver();
      cleanups.push(() => receiver.close());
      bob = await createUser(t.app, 'bob');
      const hook = await t.app.db.prisma.hook.create({
        data: { kind: 'SUBJECT', url: `${receiver.url}/bob`, subjectType: 'BUILD_REPO', subject: 'bob/app', namespace: 'bob', events: ['build:complete'] },
      });
      bobHookId = hook.id;
    });

    it.each(TRANSPORTS)('%s: refuses a raw document to a non-admin, runs it by id for them and raw for an admin', async (transport) => {
      expect(await run(t, transport, bob.token, raw('{ viewer { username } }'))).toEqual({ ...sseStatus(transport), codes: ['PERSISTED_QUERY_ONLY'] });
      // A manifest document sent as text is still a raw document.
      expect(await run(t, transport, bob.token, raw(manifest[idOf('Viewer')]!))).toEqual({ ...sseStatus(transport), codes: ['PERSISTED_QUERY_ONLY'] });
      expect(await run(t, transport, bob.token, byId('Viewer'))).toEqual({ data: { viewer: expect.objectContaining({ username: 'bob', isAdmin: false }) } });
      expect(await run(t, transport, ADMIN_TOKEN, raw('{ viewer { username } }'))).toEqual({ data: { viewer: { username: 'root' } } });
    });

    it.each(TRANSPORTS)('%s: streams the DeliveryUpdated subscription by id to a non-admin', async (transport) => {
      const hookId = encodeGlobalID('Hook', bobHookId);
      const live = client(t, transport, bob.token).subscribe<{ deliveryUpdated: { id: string; status: string } }>(byId('DeliveryUpdated', { hookId }));
      const tested = new Set<string>();
      // Repeated until one is seen: the subscription may start after the first delivery finished.
      const trigger = setInterval(() => {
        void t.app.services.deliveries.testHook(t.admin, bobHookId).then(
          (d) => tested.add(encodeGlobalID('Delivery', d.id)),
          () => {},
        );
      }, 500);
      try {
        await Promise.race([
          live.waitFor(
            (r) => r.data?.deliveryUpdated.status === 'SUCCEEDED' && tested.has(r.data.deliveryUpdated.id),
            'a SUCCEEDED update of a tested delivery',
          ),
          live.error.then((error) => Promise.reject(new Error(`the subscription failed: ${JSON.stringify(error)}`))),
        ]);
      } finally {
        clearInterval(trigger);
        live.stop();
      }
    });
  });
});
