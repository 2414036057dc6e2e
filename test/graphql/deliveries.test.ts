// Deliveries through GraphQL. Reads go through Prisma (rows inserted directly here); mutations and
// the subscription go through `services.deliveries`, the delivery engine's contract, played here
// by a small in-memory fake until the engine is merged.
import { EventEmitter, on } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { encodeGlobalID } from '@pothos/plugin-relay';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireAdmin, type Actor } from '../../src/domain/actor';
import type { DeliveryOperations, DeliveryUpdate, DeliveryWithAttempts } from '../../src/domain/delivery-operations';
import { NotFoundError } from '../../src/domain/errors';
import type { PrismaClient } from '../../src/generated/prisma/client';
import type { Services } from '../../src/domain/services';
import { createGraphQL } from '../../src/graphql/yoga';
import { ADMIN_TOKEN, backends, createUser, graphql, startTestApp, type TestApp } from '../helpers';

const DELIVERY_FIELDS = 'id databaseId webhookId event status payload attemptCount nextAttemptAt createdAt hook { databaseId } attempts { startedAt durationMs responseStatus responseBody error }';

/** Just enough of the engine's contract to exercise the GraphQL wiring. */
function fakeEngine(prisma: PrismaClient, services: Services): DeliveryOperations & { updates: EventEmitter } {
  const updates = new EventEmitter();
  const withAttempts = (id: number) => prisma.delivery.findUniqueOrThrow({ where: { id }, include: { attempts: true } });
  const attempt = async (deliveryId: number): Promise<DeliveryWithAttempts> => {
    await prisma.deliveryAttempt.create({ data: { deliveryId, durationMs: 12, requestUrl: 'https://example.com', requestHeaders: {}, responseStatus: 200, responseBody: 'ok' } });
    const delivery = await prisma.delivery.update({ where: { id: deliveryId }, data: { status: 'SUCCEEDED', attemptCount: { increment: 1 } } });
    updates.emit('update', { deliveryId, hookId: delivery.hookId } satisfies DeliveryUpdate);
    return withAttempts(deliveryId);
  };
  return {
    updates,
    async publish(actor, input) {
      requireAdmin(actor, 'Only administrators can publish events');
      const hooks = await prisma.hook.findMany({ where: { isActive: true, subjectType: input.subjectType ?? null, subject: input.subject ?? null, events: { has: input.event } } });
      const event = await prisma.event.create({ data: { name: input.event, subjectType: input.subjectType ?? null, subject: input.subject ?? null, payload: input.payload as object } });
      const deliveries = await Promise.all(hooks.map((hook) => prisma.delivery.create({ data: { eventId: event.id, hookId: hook.id } })));
      return { event, deliveries };
    },
    async testHook(actor, hookId, options) {
      const hook = await services.hooks.get(actor, hookId, options?.kind);
      const event = await prisma.event.create({ data: { name: options?.event ?? hook.events[0] ?? 'test', payload: { test: true } } });
      const delivery = await prisma.delivery.create({ data: { eventId: event.id, hookId: hook.id } });
      return attempt(delivery.id);
    },
    async redeliver(actor, deliveryId) {
      const delivery = await this.getDelivery(actor, deliveryId);
      return attempt(delivery.id);
    },
    async getDelivery(actor, deliveryId) {
      const delivery = await prisma.delivery.findFirst({ where: { id: deliveryId, hook: { is: services.hooks.visibleWhere(actor) } }, include: { attempts: true } });
      if (!delivery) throw new NotFoundError('Delivery');
      return delivery;
    },
    async *subscribe(actor: Actor, hookId: number | null, signal?: AbortSignal) {
      if (hookId !== null) await services.hooks.get(actor, hookId);
      try {
        for await (const [update] of on(updates, 'update', { signal })) {
          const { deliveryId, hookId: updatedHook } = update as DeliveryUpdate;
          if (hookId === null || updatedHook === hookId) yield { deliveryId, hookId: updatedHook };
        }
      } catch (error) {
        if (!(error instanceof Error && error.name === 'AbortError')) throw error;
      }
    },
  };
}

describe.each(backends)('GraphQL deliveries on %s', (backend) => {
  let t: TestApp;
  let engine: ReturnType<typeof fakeEngine>;
  let server: Server;
  let url: string;
  let alice: { token: string };
  let rootHookId: number;
  let aliceHookId: number;

  beforeAll(async () => {
    t = await startTestApp(backend);
    alice = await createUser(t.app, 'alice');
    engine = fakeEngine(t.app.db.prisma, t.app.services);
    const { handler } = createGraphQL({ services: { ...t.app.services, deliveries: engine }, prisma: t.app.db.prisma, logger: t.app.logger });
    server = createServer((req, res) => void handler(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

    const prisma = t.app.db.prisma;
    const root = await prisma.hook.create({ data: { kind: 'SYSTEM', url: 'https://example.com/sys', events: ['push'] } });
    const own = await prisma.hook.create({ data: { kind: 'SUBJECT', url: 'https://example.com/a', subjectType: 'BUILD_REPO', subject: 'alice/app', namespace: 'alice', events: ['build:complete'] } });
    rootHookId = root.id;
    aliceHookId = own.id;
    const event = await prisma.event.create({ data: { name: 'build:complete', payload: { build: 42 } } });
    for (const hook of [root, own]) {
      for (const status of ['SUCCEEDED', 'FAILED', 'RETRYING'] as const) {
        const delivery = await prisma.delivery.create({ data: { eventId: event.id, hookId: hook.id, status, attemptCount: 1 } });
        await prisma.deliveryAttempt.create({ data: { deliveryId: delivery.id, durationMs: 30, requestUrl: hook.url, requestHeaders: {}, responseStatus: status === 'SUCCEEDED' ? 200 : 500, responseBody: 'body', error: null } });
      }
    }
  });
  afterAll(async () => {
    await new Promise((resolve) => server?.close(resolve));
    await t?.close();
  });

  it('reads deliveries of a hook, newest first, filtered by status, with attempts', async () => {
    const res = await graphql(t.url, `query($id: ID!) { hook(id: $id) { deliveries(first: 5) { totalCount nodes { ${DELIVERY_FIELDS} } } failed: deliveries(status: FAILED) { totalCount nodes { status } } } }`, {
      id: encodeGlobalID('Hook', aliceHookId),
    });
    expect(res.errors).toBeUndefined();
    const { deliveries, failed } = res.data!.hook;
    expect(deliveries.totalCount).toBe(3);
    expect(deliveries.nodes.map((d: { status: string }) => d.status)).toEqual(['RETRYING', 'FAILED', 'SUCCEEDED']);
    expect(deliveries.nodes[0]).toMatchObject({ event: 'build:complete', payload: { build: 42 }, attemptCount: 1, hook: { databaseId: aliceHookId } });
    expect(deliveries.nodes[0].attempts).toEqual([{ startedAt: expect.any(String), durationMs: 30, responseStatus: 500, responseBody: 'body', error: null }]);
    expect(failed).toEqual({ totalCount: 1, nodes: [{ status: 'FAILED' }] });
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
    const test = await graphql(url, `mutation($input: TestHookInput!) { testHook(input: $input) { delivery { ${DELIVERY_FIELDS} } userErrors { field message code } } }`, {
      input: { id: encodeGlobalID('Hook', aliceHookId), event: 'build:complete' },
    }, alice.token);
    expect(test.errors).toBeUndefined();
    const delivery = test.data!.testHook.delivery;
    expect(delivery).toMatchObject({ event: 'build:complete', status: 'SUCCEEDED', attemptCount: 1, payload: { test: true }, hook: { databaseId: aliceHookId } });
    expect(delivery.attempts).toHaveLength(1);

    const again = await graphql(url, 'mutation($input: RedeliverInput!) { redeliver(input: $input) { delivery { databaseId webhookId attemptCount attempts { responseStatus } } userErrors { code } } }', {
      input: { deliveryId: delivery.id },
    }, alice.token);
    expect(again.data!.redeliver).toEqual({
      delivery: { databaseId: delivery.databaseId, webhookId: delivery.webhookId, attemptCount: 2, attempts: [{ responseStatus: 200 }, { responseStatus: 200 }] },
      userErrors: [],
    });

    const hidden = await graphql(url, 'mutation($input: TestHookInput!) { testHook(input: $input) { delivery { id } userErrors { field code } } }', {
      input: { id: encodeGlobalID('Hook', rootHookId) },
    }, alice.token);
    expect(hidden.data!.testHook).toEqual({ delivery: null, userErrors: [{ field: ['input', 'id'], code: 'NOT_FOUND' }] });
    const badId = await graphql(url, 'mutation($input: RedeliverInput!) { redeliver(input: $input) { userErrors { field code } } }', {
      input: { deliveryId: encodeGlobalID('Hook', 1) },
    }, alice.token);
    expect(badId.data!.redeliver.userErrors).toEqual([{ field: ['input', 'deliveryId'], code: 'VALIDATION_FAILED' }]);
  });

  it('publishes events (admins only) and returns one delivery per matching hook', async () => {
    const mutation = `mutation($input: PublishEventInput!) { publishEvent(input: $input) { deliveries { hook { databaseId } event payload status } userErrors { field message code } } }`;
    const input = { event: 'build:complete', subjectType: 'BUILD_REPO', subject: 'alice/app', payload: { build: 7 } };
    const denied = await graphql(url, mutation, { input }, alice.token);
    expect(denied.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const ok = await graphql(url, mutation, { input }, ADMIN_TOKEN);
    expect(ok.data!.publishEvent).toEqual({
      deliveries: [{ hook: { databaseId: aliceHookId }, event: 'build:complete', payload: { build: 7 }, status: 'PENDING' }],
      userErrors: [],
    });
    const notObject = await graphql(url, mutation, { input: { ...input, payload: [1, 2] } }, ADMIN_TOKEN);
    expect(notObject.data!.publishEvent).toEqual({ deliveries: null, userErrors: [{ field: ['input', 'payload'], message: 'must be a JSON object', code: 'VALIDATION_FAILED' }] });
  });

  it('streams deliveryUpdated over SSE', async () => {
    const controller = new AbortController();
    const response = await fetch(`${url}/graphql`, {
      method: 'POST',
      signal: controller.signal,
      headers: { 'content-type': 'application/json', accept: 'text/event-stream', authorization: `Bearer ${alice.token}` },
      body: JSON.stringify({
        query: 'subscription($hookId: ID) { deliveryUpdated(hookId: $hookId) { databaseId status hook { databaseId } } }',
        variables: { hookId: encodeGlobalID('Hook', aliceHookId) },
      }),
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const reader = response.body!.getReader();
    const decoder = new TextDecoder();
    let received = '';
    const delivery = await t.app.db.prisma.delivery.findFirstOrThrow({ where: { hookId: aliceHookId } });
    // Another hook's update is filtered out; this hook's arrives.
    const other = await t.app.db.prisma.delivery.findFirstOrThrow({ where: { hookId: rootHookId } });
    const emitter = setInterval(() => {
      engine.updates.emit('update', { deliveryId: other.id, hookId: rootHookId });
      engine.updates.emit('update', { deliveryId: delivery.id, hookId: aliceHookId });
    }, 50);
    try {
      while (!received.includes('"deliveryUpdated"')) {
        const { value, done } = await reader.read();
        if (done) break;
        received += decoder.decode(value, { stream: true });
      }
    } finally {
      clearInterval(emitter);
      controller.abort();
    }
    const line = received.split('\n').find((l) => l.startsWith('data:') && l.includes('deliveryUpdated'))!;
    expect(JSON.parse(line.slice(5))).toEqual({ data: { deliveryUpdated: { databaseId: delivery.id, status: delivery.status, hook: { databaseId: aliceHookId } } } });
  });

  // Needs the real engine (LISTEN/NOTIFY): two apps on one PostgreSQL database, an update made
  // through one reaching an SSE subscriber of the other. To be added when the engine is merged.
  it.todo('deliveryUpdated reaches subscribers on another Hookgate process sharing the database');

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
