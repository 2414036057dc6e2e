// Deliveries through GraphQL, against the real delivery engine and a real receiver. Reads also
// cover rows inserted directly (statuses the engine would take time to reach).
import { encodeGlobalID } from '@pothos/plugin-relay';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type App, createApp } from '../../src/app';
import { loadConfig } from '../../src/config';
import { createLogger } from '../../src/logger';
import { type Receiver, startReceiver } from '../delivery/receiver';
import { ADMIN_TOKEN, backends, createUser, graphql, startTestApp, type TestApp } from '../helpers';

const DELIVERY_FIELDS =
  'id databaseId webhookId event status payload attemptCount nextAttemptAt createdAt hook { databaseId } attempts { startedAt durationMs responseStatus responseBody error }';

/** Reads an SSE response until `predicate` matches a `data:` line; returns that line's JSON. */
async function readEvent(response: Response, predicate: (data: string) => boolean): Promise<unknown> {
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  let received = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`stream ended before a matching event: ${received}`);
    received += decoder.decode(value, { stream: true });
    const line = received.split('\n').find((l) => l.startsWith('data:') && predicate(l));
    if (line) return JSON.parse(line.slice(5));
  }
}

function subscribe(baseUrl: string, token: string, hookId: number, signal: AbortSignal): Promise<Response> {
  return fetch(`${baseUrl}/graphql`, {
    method: 'POST',
    signal,
    headers: { 'content-type': 'application/json', accept: 'text/event-stream', authorization: `Bearer ${token}` },
    body: JSON.stringify({
      query: 'subscription($hookId: ID) { deliveryUpdated(hookId: $hookId) { databaseId status hook { databaseId } } }',
      variables: { hookId: encodeGlobalID('Hook', hookId) },
    }),
  });
}

describe.each(backends)('GraphQL deliveries on %s', (backend) => {
  let t: TestApp;
  let url: string;
  let receiver: Receiver;
  let alice: { token: string };
  let rootHookId: number;
  let aliceHookId: number;

  beforeAll(async () => {
    t = await startTestApp(backend);
    url = t.url;
    receiver = await startReceiver();
    alice = await createUser(t.app, 'alice');

    const prisma = t.app.db.prisma;
    const root = await prisma.hook.create({ data: { kind: 'SYSTEM', url: `${receiver.url}/sys`, events: ['push'] } });
    const own = await prisma.hook.create({
      data: { kind: 'SUBJECT', url: `${receiver.url}/a`, subjectType: 'BUILD_REPO', subject: 'alice/app', namespace: 'alice', events: ['build:complete'] },
    });
    rootHookId = root.id;
    aliceHookId = own.id;
    const event = await prisma.event.create({ data: { name: 'build:complete', payload: { build: 42 } } });
    for (const hook of [root, own]) {
      for (const status of ['SUCCEEDED', 'FAILED', 'RETRYING'] as const) {
        const delivery = await prisma.delivery.create({ data: { eventId: event.id, hookId: hook.id, status, attemptCount: 1 } });
        await prisma.deliveryAttempt.create({
          data: {
            deliveryId: delivery.id,
            durationMs: 30,
            requestUrl: hook.url,
            requestHeaders: {},
            responseStatus: status === 'SUCCEEDED' ? 200 : 500,
            responseBody: 'body',
            error: null,
          },
        });
      }
    }
  });
  afterAll(async () => {
    await t?.close();
    await receiver?.close();
  });

  it('reads deliveries of a hook, newest first, filtered by status, with attempts', async () => {
    const res = await graphql(
      t.url,
      `query($id: ID!) { hook(id: $id) { deliveries(first: 5) { totalCount nodes { ${DELIVERY_FIELDS} } } failed: deliveries(status: FAILED) { totalCount nodes { status } } } }`,
      {
        id: encodeGlobalID('Hook', aliceHookId),
      },
    );
    expect(res.errors).toBeUndefined();
    const { deliveries, failed } = res.data!.hook;
    expect(deliveries.totalCount).toBe(3);
    expect(deliveries.nodes.map((d: { status: string }) => d.status)).toEqual(['RETRYING', 'FAILED', 'SUCCEEDED']);
    expect(deliveries.nodes[0]).toMatchObject({ event: 'build:complete', payload: { build: 42 }, attemptCount: 1, hook: { databaseId: aliceHookId } });
    expect(deliveries.nodes[0].attempts).toEqual([{ startedAt: expect.any(String), durationMs: 30, responseStatus: 500, responseBody: 'body', error: null }]);
    expect(failed).toEqual({ totalCount: 1, nodes: [{ status: 'FAILED' }] });
  });

  it("pages through a hook's deliveries forwards and backwards with cursors", async () => {
    const query = `query($id: ID!, $first: Int, $after: String, $last: Int, $before: String) {
      hook(id: $id) { deliveries(first: $first, after: $after, last: $last, before: $before) {
        totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor } edges { cursor node { status } } } } }`;
    const id = encodeGlobalID('Hook', aliceHookId);
    const page = async (variables: Record<string, unknown>) => {
      const res = await graphql(t.url, query, { id, ...variables });
      expect(res.errors).toBeUndefined();
      return res.data!.hook.deliveries;
    };
    const first = await page({ first: 2 });
    expect(first.totalCount).toBe(3);
    expect(first.edges.map((e: { node: { status: string } }) => e.node.status)).toEqual(['RETRYING', 'FAILED']);
    expect(first.pageInfo).toMatchObject({ hasNextPage: true, endCursor: first.edges[1].cursor });
    const second = await page({ first: 2, after: first.pageInfo.endCursor });
    expect(second.edges.map((e: { node: { status: string } }) => e.node.status)).toEqual(['SUCCEEDED']);
    expect(second.pageInfo.hasNextPage).toBe(false);
    const back = await page({ last: 2, before: second.edges[0].cursor });
    expect(back.edges.map((e: { node: { status: string } }) => e.node.status)).toEqual(['RETRYING', 'FAILED']);
    const newest = await page({ last: 1 });
    expect(newest.edges.map((e: { node: { status: string } }) => e.node.status)).toEqual(['SUCCEEDED']);
    const bad = await graphql(t.url, query, { id, first: 1, after: 'not-a-cursor' });
    expect(bad.errors?.[0]?.message).toMatch(/Invalid cursor/);
    expect(bad.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });

  it('reads one delivery by id or node, only when its hook is visible', async () => {
    const own = await t.app.db.prisma.delivery.findFirstOrThrow({ where: { hookId: aliceHookId } });
    const system = await t.app.db.prisma.delivery.findFirstOrThrow({ where: { hookId: rootHookId } });
    const query = 'query($id: ID!) { delivery(id: $id) { databaseId } node(id: $id) { ... on Delivery { databaseId } } }';
    const mine = await graphql(t.url, query, { id: encodeGlobalID('Delivery', own.id) }, alice.token);
    expect(mine.data).toEqual({ delivery: { databaseId: own.id }, node: { databaseId: own.id } });
    const hidden = await graphql(t.url, query, { id: encodeGlobalID('Delivery', system.id) }, alice.token);
    expect(hidden.errors).toBeUndefined();
    expect(hidden.data).toEqual({ delivery: null, node: null });
    const asAdmin = await graphql(t.url, query, { id: encodeGlobalID('Delivery', system.id) });
    expect(asAdmin.data!.delivery).toEqual({ databaseId: system.id });
  });

  it('tests a hook and redelivers through the engine', async () => {
    const test = await graphql(
      url,
      `mutation($input: TestHookInput!) { testHook(input: $input) { delivery { ${DELIVERY_FIELDS} } userErrors { field message code } } }`,
      {
        input: { id: encodeGlobalID('Hook', aliceHookId), event: 'build:complete' },
      },
      alice.token,
    );
    expect(test.errors).toBeUndefined();
    const delivery = test.data!.testHook.delivery;
    expect(delivery).toMatchObject({ event: 'build:complete', status: 'SUCCEEDED', attemptCount: 1, hook: { databaseId: aliceHookId } });
    expect(delivery.attempts).toEqual([expect.objectContaining({ responseStatus: 200, responseBody: 'ok', error: null })]);
    // It really went out: the receiver got the sample payload with the event header.
    const sent = receiver.requests.filter((r) => r.path === '/a');
    expect(sent).toHaveLength(1);
    expect(JSON.parse(sent[0]!.body)).toEqual(delivery.payload);
    expect(sent[0]!.headers['x-hookgate-event']).toBe('build:complete');

    const again = await graphql(
      url,
      'mutation($input: RedeliverInput!) { redeliver(input: $input) { delivery { databaseId webhookId attemptCount attempts { responseStatus } } userErrors { code } } }',
      {
        input: { deliveryId: delivery.id },
      },
      alice.token,
    );
    expect(again.data!.redeliver).toEqual({
      delivery: {
        databaseId: delivery.databaseId,
        webhookId: delivery.webhookId,
        attemptCount: 2,
        attempts: [{ responseStatus: 200 }, { responseStatus: 200 }],
      },
      userErrors: [],
    });
    expect(receiver.requests.filter((r) => r.path === '/a')).toHaveLength(2);

    const hidden = await graphql(
      url,
      'mutation($input: TestHookInput!) { testHook(input: $input) { delivery { id } userErrors { field code } } }',
      {
        input: { id: encodeGlobalID('Hook', rootHookId) },
      },
      alice.token,
    );
    expect(hidden.data!.testHook).toEqual({ delivery: null, userErrors: [{ field: ['input', 'id'], code: 'NOT_FOUND' }] });
    const badId = await graphql(
      url,
      'mutation($input: RedeliverInput!) { redeliver(input: $input) { userErrors { field code } } }',
      {
        input: { deliveryId: encodeGlobalID('Hook', 1) },
      },
      alice.token,
    );
    expect(badId.data!.redeliver.userErrors).toEqual([{ field: ['input', 'deliveryId'], code: 'VALIDATION_FAILED' }]);
  });

  it('publishes events (admins only) and returns one delivery per matching hook', async () => {
    const mutation = `mutation($input: PublishEventInput!) { publishEvent(input: $input) { deliveries { hook { databaseId } event payload status } userErrors { field message code } } }`;
    const input = { event: 'build:complete', subjectType: 'BUILD_REPO', subject: 'alice/app', payload: { build: 7 } };
    const denied = await graphql(url, mutation, { input }, alice.token);
    expect(denied.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const before = receiver.requests.length;
    const ok = await graphql(url, mutation, { input }, ADMIN_TOKEN);
    expect(ok.data!.publishEvent).toEqual({
      deliveries: [{ hook: { databaseId: aliceHookId }, event: 'build:complete', payload: { build: 7 }, status: 'PENDING' }],
      userErrors: [],
    });
    const after = (await receiver.waitFor(before + 1)).slice(before);
    expect(after.map((r) => [r.path, JSON.parse(r.body)])).toEqual([['/a', { build: 7 }]]);
    const notObject = await graphql(url, mutation, { input: { ...input, payload: [1, 2] } }, ADMIN_TOKEN);
    expect(notObject.data!.publishEvent).toEqual({
      deliveries: null,
      userErrors: [{ field: ['input', 'payload'], message: 'must be a JSON object', code: 'VALIDATION_FAILED' }],
    });
  });

  it('streams deliveryUpdated over SSE as the engine delivers', async () => {
    const controller = new AbortController();
    try {
      const response = await subscribe(url, alice.token, aliceHookId, controller.signal);
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
      // The subscription is live once the stream is open; keep testing the hook until an update
      // arrives (a single send could race the subscriber's registration).
      const trigger = setInterval(() => void t.app.services.deliveries.testHook(t.admin, aliceHookId).catch(() => {}), 200);
      try {
        const event = await readEvent(response, (line) => line.includes('"deliveryUpdated"'));
        expect(event).toEqual({ data: { deliveryUpdated: { databaseId: expect.any(Number), status: expect.any(String), hook: { databaseId: aliceHookId } } } });
      } finally {
        clearInterval(trigger);
      }
    } finally {
      controller.abort();
    }
  });

  it.runIf(backend === 'postgres')('deliveryUpdated reaches subscribers on another Hookgate process sharing the database', async () => {
    // A second app on the same PostgreSQL database: its subscribers hear the first app's deliveries.
    const other: App = await createApp(
      loadConfig({ DATABASE_URL: t.app.config.DATABASE_URL!, PORT: '0', LOG_LEVEL: 'silent', HOOKGATE_ALLOW_LOCAL_REQUESTS: 'true' }),
      createLogger('silent'),
    );
    const otherUrl = await other.listen();
    const controller = new AbortController();
    try {
      const response = await subscribe(otherUrl, alice.token, aliceHookId, controller.signal);
      expect(response.status).toBe(200);
      const trigger = setInterval(() => void t.app.services.deliveries.testHook(t.admin, aliceHookId).catch(() => {}), 200);
      try {
        const event = await readEvent(response, (line) => line.includes('"deliveryUpdated"'));
        expect(event).toMatchObject({ data: { deliveryUpdated: { hook: { databaseId: aliceHookId } } } });
      } finally {
        clearInterval(trigger);
      }
    } finally {
      controller.abort();
      await other.close();
    }
  });

  it('refuses subscriptions without a token', async () => {
    const response = await fetch(`${url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
      body: JSON.stringify({ query: 'subscription { deliveryUpdated { id } }' }),
    });
    const text = await response.text();
    expect(text).toContain('UNAUTHENTICATED');
  });
});
