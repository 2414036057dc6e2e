// GraphQL over SSE through the real graphql-sse client: both modes on /graphql/stream (distinct
// connections, and single connection with its PUT reservation), and distinct connections on
// /graphql as before. The bearer token is required on every request of both modes.
import { encodeGlobalID } from '@pothos/plugin-relay';
import { type Client, createClient, NetworkError } from 'graphql-sse';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LIMITS } from '../../src/graphql/yoga';
import { type Receiver, startReceiver } from '../delivery/receiver';
import { ADMIN_TOKEN, backends, createUser, startTestApp, type TestApp } from '../helpers';
import { type LiveSubscription, liveSubscription, within } from './transports';

const SUBSCRIPTION = 'subscription($hookId: ID) { deliveryUpdated(hookId: $hookId) { databaseId status hook { databaseId } } }';

interface DeliveryUpdated {
  deliveryUpdated: { databaseId: number; status: string; hook: { databaseId: number } };
}

type Mode = 'distinct' | 'single';

function sseClient(url: string, token: string | null, mode: Mode): Client {
  return createClient({
    url,
    singleConnection: mode === 'single',
    headers: token ? { Authorization: `Bearer ${token}` } : {},
    // A test sees each failure as it is: no reconnecting behind its back.
    retryAttempts: 0,
  });
}

function sseSubscribe<T = Record<string, any>>(client: Client, query: string, variables: Record<string, unknown> = {}): LiveSubscription<T> {
  return liveSubscription<T>((sink) => client.subscribe<T>({ query, variables }, sink));
}

/** One query or mutation: its single result, or the error the client reported. */
async function sseExecute(client: Client, query: string, variables: Record<string, unknown> = {}): Promise<unknown> {
  const live = sseSubscribe(client, query, variables);
  try {
    return await Promise.race([live.waitFor(() => true, `a result of ${query.slice(0, 60)}`), live.error.then((error) => Promise.reject(error))]);
  } finally {
    live.stop();
  }
}

describe.each(backends)('GraphQL over SSE on %s', (backend) => {
  let t: TestApp;
  let receiver: Receiver;
  let alice: { token: string };
  let bob: { token: string };
  let aliceHookId: number;
  const clients: Client[] = [];
  const client = (...args: Parameters<typeof sseClient>) => {
    const made = sseClient(...args);
    clients.push(made);
    return made;
  };

  beforeAll(async () => {
    t = await startTestApp(backend);
    receiver = await startReceiver();
    alice = await createUser(t.app, 'alice');
    bob = await createUser(t.app, 'bob');
    const hook = await t.app.db.prisma.hook.create({
      data: { kind: 'SUBJECT', url: `${receiver.url}/a`, subjectType: 'BUILD_REPO', subject: 'alice/app', namespace: 'alice', events: ['build:complete'] },
    });
    aliceHookId = hook.id;
  });
  afterAll(async () => {
    for (const made of clients) made.dispose();
    await t?.close();
    await receiver?.close();
  });

  describe.each(['distinct', 'single'] as const)('%s connection mode on /graphql/stream', (mode) => {
    const url = () => `${t.url}/graphql/stream`;

    it('runs a query and a mutation with the token', async () => {
      const sse = client(url(), alice.token, mode);
      expect(await sseExecute(sse, '{ viewer { username } }')).toEqual({ data: { viewer: { username: 'alice' } } });
      const created = await sseExecute(sse, 'mutation($input: CreateHookInput!) { createHook(input: $input) { hook { subject } userErrors { code } } }', {
        input: { kind: 'SUBJECT', subjectType: 'BUILD_REPO', subject: `alice/sse-${mode}`, events: ['build:complete'], url: `${receiver.url}/sse` },
      });
      expect(created).toEqual({ data: { createHook: { hook: { subject: `alice/sse-${mode}` }, userErrors: [] } } });
    });

    it('streams deliveryUpdated as testHook deliveries go to SUCCEEDED', async () => {
      const sse = client(url(), alice.token, mode);
      const live = sseSubscribe<DeliveryUpdated>(sse, SUBSCRIPTION, { hookId: encodeGlobalID('Hook', aliceHookId) });
      const tested = new Set<number>();
      const trigger = setInterval(() => {
        void t.app.services.deliveries.testHook(t.admin, aliceHookId).then(
          (d) => tested.add(d.id),
          () => {},
        );
      }, 500);
      try {
        const seen = await live.waitFor(
          (r) => r.data?.deliveryUpdated.status === 'SUCCEEDED' && tested.has(r.data.deliveryUpdated.databaseId),
          'a SUCCEEDED update of a tested delivery',
        );
        expect(seen.data!.deliveryUpdated.hook.databaseId).toBe(aliceHookId);
      } finally {
        clearInterval(trigger);
        live.stop();
      }
    });

    it('refuses every request without a valid token', async () => {
      for (const token of [null, 'not-a-token']) {
        const error = await sseExecute(client(url(), token, mode), '{ viewer { username } }').then(
          () => null,
          (e: unknown) => e,
        );
        expect(error).toBeInstanceOf(NetworkError);
        expect((error as NetworkError).response?.status).toBe(401);
      }
    });
  });

  it('checks the token on the reservation, on opening the stream and on every operation', async () => {
    const stream = `${t.url}/graphql/stream`;
    const auth = (token: string) => ({ authorization: `Bearer ${token}` });
    expect((await fetch(stream, { method: 'PUT' })).status).toBe(401);
    const reserved = await fetch(stream, { method: 'PUT', headers: auth(alice.token) });
    expect(reserved.status).toBe(201);
    const streamToken = await reserved.text();
    const tokenHeader = { 'x-graphql-event-stream-token': streamToken };

    // Opening alice's stream: refused without a token, and for another user (the stream is hers).
    expect((await fetch(stream, { headers: { ...tokenHeader, accept: 'text/event-stream' } })).status).toBe(401);
    const asBob = await fetch(stream, { headers: { ...tokenHeader, ...auth(bob.token), accept: 'text/event-stream' } });
    expect(asBob.status).toBe(404);
    expect(await asBob.json()).toEqual({ errors: [{ message: 'Stream not found', extensions: { code: 'NOT_FOUND' } }] });

    const controller = new AbortController();
    try {
      const events = await fetch(stream, { signal: controller.signal, headers: { ...tokenHeader, ...auth(alice.token), accept: 'text/event-stream' } });
      expect(events.status).toBe(200);
      const operation = (headers: Record<string, string>) =>
        fetch(stream, {
          method: 'POST',
          headers: { ...tokenHeader, ...headers, 'content-type': 'application/json' },
          body: JSON.stringify({ query: '{ viewer { username } }', extensions: { operationId: 'op1' } }),
        });
      expect((await operation({})).status).toBe(401);
      expect((await operation(auth(bob.token))).status).toBe(404);
      expect((await operation(auth(alice.token))).status).toBe(202);
      // The result arrives on alice's stream.
      const reader = events.body!.getReader();
      let received = '';
      while (!received.includes('"alice"')) {
        const { value, done } = await reader.read();
        if (done) throw new Error(`stream ended early: ${received}`);
        received += new TextDecoder().decode(value);
      }
      expect(received).toContain('{"id":"op1","payload":{"data":{"viewer":{"username":"alice"}}}}');
    } finally {
      controller.abort();
    }
  });

  it('answers bad documents and oversized bodies with 4xx, never 500', async () => {
    const stream = `${t.url}/graphql/stream`;
    const post = (body: string) =>
      fetch(stream, {
        method: 'POST',
        headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json', accept: 'text/event-stream' },
        body,
      });
    const syntax = await post(JSON.stringify({ query: '{ viewer { ' }));
    expect(syntax.status).toBe(400);
    const aliases = Array.from({ length: LIMITS.maxAliases + 1 }, (_, i) => `a${i}: viewer { username }`).join(' ');
    const aliased = await post(JSON.stringify({ query: `{ ${aliases} }` }));
    expect(aliased.status).toBe(400);
    expect(JSON.stringify(await aliased.json())).toMatch(/alias/i);
    const huge = await post(JSON.stringify({ query: `{ viewer { username } } # ${'x'.repeat(LIMITS.maxBodyBytes)}` }));
    expect(huge.status).toBe(413);
    expect((await huge.json()).errors[0].extensions.code).toBe('REQUEST_ENTITY_TOO_LARGE');
  });

  it('keeps distinct connections working on /graphql', async () => {
    const sse = client(`${t.url}/graphql`, alice.token, 'distinct');
    expect(await sseExecute(sse, '{ viewer { username } }')).toEqual({ data: { viewer: { username: 'alice' } } });
    const live = sseSubscribe<DeliveryUpdated>(sse, SUBSCRIPTION, { hookId: encodeGlobalID('Hook', aliceHookId) });
    const trigger = setInterval(() => void t.app.services.deliveries.testHook(t.admin, aliceHookId).catch(() => {}), 500);
    try {
      const seen = await live.waitFor((r) => r.data?.deliveryUpdated.hook.databaseId === aliceHookId, 'an update on /graphql');
      expect(seen.data!.deliveryUpdated.databaseId).toEqual(expect.any(Number));
    } finally {
      clearInterval(trigger);
      live.stop();
    }
  });

  it('ends open event streams on graceful shutdown instead of waiting on them', async () => {
    const other = await startTestApp(backend);
    try {
      const subscribe = (path: string) =>
        fetch(`${other.url}${path}`, {
          method: 'POST',
          headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json', accept: 'text/event-stream' },
          body: JSON.stringify({ query: 'subscription { deliveryUpdated { id } }' }),
        });
      const streams = await Promise.all([subscribe('/graphql'), subscribe('/graphql/stream')]);
      expect(streams.map((r) => r.status)).toEqual([200, 200]);
      const ended = streams.map(async (response) => {
        const reader = response.body!.getReader();
        for (;;) {
          const { done } = await reader.read().catch(() => ({ done: true }));
          if (done) return 'ended';
        }
      });
      await within(other.close(), 30_000, 'the app closing with event streams open');
      expect(await within(Promise.all(ended), 15_000, 'the streams ending')).toEqual(['ended', 'ended']);
    } finally {
      await other.close();
    }
  });
});
