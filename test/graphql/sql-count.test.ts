// No N+1: the big hooks page runs a small, fixed number of SQL statements whatever its size.
// Statements are counted with Prisma's query events, which Prisma 7 still emits with driver
// adapters and the query compiler (checked here: the count is never zero). With the
// `relationJoins` preview feature the page is one statement (LATERAL joins, each hook's last 5
// deliveries limited in SQL) plus the totalCount.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/database';
import { createServices } from '../../src/domain/services';
import { PrismaClient } from '../../src/generated/prisma/client';
import { createGraphQL } from '../../src/graphql/yoga';
import { createLogger } from '../../src/logger';
import { ADMIN_TOKEN, backends, openTestDatabase } from '../helpers';

const BIG_PAGE = `query($first: Int!) {
  hooks(first: $first) {
    totalCount
    pageInfo { hasNextPage endCursor }
    nodes {
      id databaseId url events hasSecret
      createdBy { id username }
      urlVariables { key }
      deliveries(first: 5) {
        totalCount
        nodes { id databaseId event status payload attemptCount createdAt attempts { startedAt durationMs responseStatus error } }
      }
    }
  }
}`;

function countingClient(adapter: Database['adapterFactory']) {
  return new PrismaClient({ adapter, log: [{ emit: 'event' as const, level: 'query' as const }] });
}

describe.each(backends)('SQL statements per GraphQL request on %s', (backend) => {
  let db: Awaited<ReturnType<typeof openTestDatabase>>;
  let counted: ReturnType<typeof countingClient>;
  const statements: string[] = [];
  let yoga: ReturnType<typeof createGraphQL>['yoga'];

  beforeAll(async () => {
    db = await openTestDatabase(backend);
    // A second client on the same driver adapter, so the count covers exactly this app's SQL.
    counted = countingClient(db.adapterFactory);
    counted.$on('query', (event) => statements.push(event.query));
    const services = createServices(counted);
    await services.users.bootstrapAdmin(ADMIN_TOKEN);
    const admin = await db.prisma.user.findUniqueOrThrow({ where: { username: 'root' } });
    const users = await db.prisma.user.createManyAndReturn({ data: [{ username: 'u1' }, { username: 'u2' }] });
    await db.prisma.hook.createMany({
      data: Array.from({ length: 120 }, (_, i) => ({
        kind: 'SUBJECT' as const, subjectType: 'BUILD_REPO' as const, subject: `u${(i % 2) + 1}/repo${i}`, namespace: `u${(i % 2) + 1}`,
        events: ['build:complete'], url: `https://example.com/${i}/{token}`, secret: i % 3 === 0 ? 'secret' : null,
        createdById: i % 5 === 0 ? admin.id : users[i % 2]!.id,
      })),
    });
    const hooks = await db.prisma.hook.findMany({ select: { id: true } });
    await db.prisma.urlVariable.createMany({
      data: hooks.flatMap((hook) => [{ hookId: hook.id, key: 'token', value: 'v' }, { hookId: hook.id, key: 'other', value: 'w' }]),
    });
    const event = await db.prisma.event.create({ data: { name: 'build:complete', payload: { ok: true } } });
    const deliveries = await db.prisma.delivery.createManyAndReturn({
      data: hooks.flatMap((hook) => Array.from({ length: 7 }, () => ({ eventId: event.id, hookId: hook.id, status: 'SUCCEEDED' as const, attemptCount: 2 }))),
      select: { id: true },
    });
    await db.prisma.deliveryAttempt.createMany({
      data: deliveries.flatMap((delivery) => [1, 2].map((n) => ({
        deliveryId: delivery.id, durationMs: n * 10, requestUrl: 'https://example.com', requestHeaders: {}, responseStatus: n === 1 ? 500 : 200,
      }))),
    });
    yoga = createGraphQL({ services, prisma: counted, logger: createLogger('silent') }).yoga;
  });
  afterAll(async () => {
    await counted?.$disconnect();
    await db?.close();
  });

  async function run(first: number) {
    const response = await yoga.fetch('http://hookgate.test/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN_TOKEN}` },
      body: JSON.stringify({ query: BIG_PAGE, variables: { first } }),
    });
    return (await response.json()) as { data?: { hooks: { totalCount: number; nodes: { urlVariables: unknown[]; deliveries: { totalCount: number; nodes: { attempts: unknown[] }[] } }[] } }; errors?: unknown[] };
  }

  it('loads 100 hooks with creator, url variables, last 5 deliveries and their attempts in at most 6 statements', async () => {
    await run(1); // authenticates once (the token is then cached for a few seconds)
    const counts: Record<number, number> = {};
    for (const first of [100, 10, 1]) {
      statements.length = 0;
      const result = await run(first);
      expect(result.errors).toBeUndefined();
      const nodes = result.data!.hooks.nodes;
      expect(nodes).toHaveLength(first);
      expect(result.data!.hooks.totalCount).toBe(120);
      expect(nodes.every((hook) => hook.urlVariables.length === 2)).toBe(true);
      expect(nodes.every((hook) => hook.deliveries.totalCount === 7 && hook.deliveries.nodes.length === 5)).toBe(true);
      expect(nodes.every((hook) => hook.deliveries.nodes.every((delivery) => delivery.attempts.length === 2))).toBe(true);
      counts[first] = statements.length;
      expect(statements.length, statements.join('\n')).toBeGreaterThan(0);
      expect(statements.length, statements.join('\n')).toBeLessThanOrEqual(6);
    }
    // The same plan whatever the page size.
    expect(counts[100]).toBe(counts[1]);
    expect(counts[10]).toBe(counts[1]);
  });

  it('caps a page at 100 hooks', async () => {
    const result = await run(500);
    expect(result.data!.hooks.nodes).toHaveLength(100);
  });
});
