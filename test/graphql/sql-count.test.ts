// The exact SQL statements of the hot GraphQL reads, logged through Prisma's query events (which
// Prisma 7 still emits with driver adapters and the query compiler) and compared with the expected
// list, as plugin-prisma's own tests do: a regression from 4 statements to 5, an N+1, or a page
// that loads columns or rows it does not show fails here. The 100-hooks page is the hooks with
// creator and url variables (one statement, relation joins), their count, and every hook's last 5
// deliveries with event and attempts as JSON built in PostgreSQL (one statement, LATERAL … LIMIT),
// plus the deliveries' counts. `hook(id)` reads through the domain's hook cache.

import { encodeGlobalID } from '@pothos/plugin-relay';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/database';
import { HookCache } from '../../src/domain/hook-cache';
import type { HookRecord } from '../../src/domain/hooks';
import { createServices } from '../../src/domain/services';
import { PrismaClient } from '../../src/generated/prisma/client';
import { createGraphQL } from '../../src/graphql/yoga';
import { createLogger } from '../../src/logger';
import { ADMIN_TOKEN, backends, type GraphQLResponse, openTestDatabase } from '../helpers';

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

const HOOK_BY_ID = 'query($id: ID!) { hook(id: $id) { id databaseId url name events isActive hasSecret createdAt urlVariables { key } } }';

type PageResult = {
  data?: { hooks: { totalCount: number; nodes: { urlVariables: unknown[]; deliveries: { totalCount: number; nodes: { attempts: unknown[] }[] } }[] } };
};

/** Whitespace-insensitive: the expected statements are wrapped for reading. */
const sql = (text: string) => text.replace(/\s+/g, ' ').trim();

// The hooks with creator and url variables (relation joins), the hooks' count, each hook's last 5
// deliveries with event and attempts as JSON, the deliveries' counts. Sorted by text.
const PAGE_STATEMENTS = [
  sql(`
    SELECT "t0"."id", "t0"."kind"::text, "t0"."url", "t0"."name", "t0"."description", "t0"."subject_type"::text
    AS "subjectType", "t0"."subject", "t0"."namespace", "t0"."events", "t0"."secret", "t0"."previous_secret" AS
    "previousSecret", "t0"."previous_secret_expires_at" AS "previousSecretExpiresAt", "t0"."signing_token" AS
    "signingToken", "t0"."is_active" AS "isActive", "t0"."enable_ssl_verification" AS "enableSslVerification",
    "t0"."push_events_branch_filter" AS "pushEventsBranchFilter", "t0"."branch_filter_strategy"::text AS
    "branchFilterStrategy", "t0"."alert_status"::text AS "alertStatus", "t0"."disabled_until" AS
    "disabledUntil", "t0"."recent_failures" AS "recentFailures", "t0"."retry_after_until" AS "retryAfterUntil", "t0"."created_by_id" AS "createdById",
    "t0"."created_at" AS "createdAt", "t0"."updated_at" AS "updatedAt", "Hook_createdBy"."__prisma_data__" AS
    "createdBy", "Hook_urlVariables"."__prisma_data__" AS "urlVariables" FROM "public"."hooks" AS "t0" LEFT JOIN
    LATERAL (SELECT JSONB_BUILD_OBJECT('id', "t1"."id", 'username', "t1"."username", 'isAdmin', "t1"."is_admin",
    'createdAt', "t1"."created_at", 'updatedAt', "t1"."updated_at") AS "__prisma_data__" FROM "public"."users"
    AS "t1" WHERE "t0"."created_by_id" = "t1"."id" LIMIT $1) AS "Hook_createdBy" ON true LEFT JOIN LATERAL
    (SELECT COALESCE(JSONB_AGG("__prisma_data__"), '[]') AS "__prisma_data__" FROM (SELECT
    "t4"."__prisma_data__" FROM (SELECT JSONB_BUILD_OBJECT('hookId', "t3"."hook_id", 'key', "t3"."key") AS
    "__prisma_data__", "t3"."key" FROM (SELECT "t2".* FROM "public"."url_variables" AS "t2" WHERE "t0"."id" =
    "t2"."hook_id" /* root select */) AS "t3" /* inner select */) AS "t4" ORDER BY "t4"."key" ASC /* middle
    select */) AS "t5" /* outer select */) AS "Hook_urlVariables" ON true WHERE 1=1 ORDER BY "t0"."id" ASC LIMIT
    $2 OFFSET $3
`),
  sql(`
    SELECT COUNT(*) AS "_count$_all" FROM (SELECT "public"."hooks"."id" FROM "public"."hooks" WHERE 1=1 OFFSET
    $1) AS "sub"
`),
  sql(`
    SELECT h.id AS hook_id, json_agg(json_build_object('id', d.id, 'uuid', d.uuid, 'eventId', d.event_id,
    'hookId', d.hook_id, 'status', d.status, 'attemptCount', d.attempt_count, 'nextAttemptAt',
    to_char(d.next_attempt_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'), 'leaseOwner', d.lease_owner,
    'leaseExpiresAt', to_char(d.lease_expires_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
    'createdAt', to_char(d.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'), 'updatedAt',
    to_char(d.updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'), 'event',
    json_build_object('name', e.name, 'payload', e.payload), 'attempts', coalesce((SELECT
    json_agg(json_build_object('id', a.id, 'startedAt', to_char(a.started_at AT TIME ZONE 'UTC',
    'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'), 'durationMs', a.duration_ms, 'responseStatus', a.response_status, 'error',
    a.error) ORDER BY a.started_at ASC, a.id ASC) FROM delivery_attempts a WHERE a.delivery_id = d.id), '[]'))
    ORDER BY d.id DESC)::text AS deliveries FROM unnest($1::int[]) AS h(id) CROSS JOIN LATERAL ( SELECT * FROM
    deliveries WHERE hook_id = h.id ORDER BY id DESC LIMIT $2 ) AS d JOIN events e ON e.id = d.event_id GROUP BY
    h.id
`),
  sql(`
    SELECT hook_id, count(*)::int AS count FROM deliveries WHERE hook_id = ANY($1::int[]) GROUP BY hook_id
`),
];

// HookService.get: the hook with the key lists it caches (and its creator's name, for REST).
const HOOK_RECORD_STATEMENT = sql(`
  SELECT "t0"."id", "t0"."kind"::text, "t0"."url", "t0"."name", "t0"."description", "t0"."subject_type"::text
  AS "subjectType", "t0"."subject", "t0"."namespace", "t0"."events", "t0"."secret", "t0"."previous_secret" AS
  "previousSecret", "t0"."previous_secret_expires_at" AS "previousSecretExpiresAt", "t0"."signing_token" AS
  "signingToken", "t0"."is_active" AS "isActive", "t0"."enable_ssl_verification" AS "enableSslVerification",
  "t0"."push_events_branch_filter" AS "pushEventsBranchFilter", "t0"."branch_filter_strategy"::text AS
  "branchFilterStrategy", "t0"."alert_status"::text AS "alertStatus", "t0"."disabled_until" AS
  "disabledUntil", "t0"."recent_failures" AS "recentFailures", "t0"."retry_after_until" AS "retryAfterUntil", "t0"."created_by_id" AS "createdById",
  "t0"."created_at" AS "createdAt", "t0"."updated_at" AS "updatedAt", "Hook_createdBy"."__prisma_data__" AS
  "createdBy", "Hook_urlVariables"."__prisma_data__" AS "urlVariables", "Hook_customHeaders"."__prisma_data__"
  AS "customHeaders" FROM "public"."hooks" AS "t0" LEFT JOIN LATERAL (SELECT JSONB_BUILD_OBJECT('id',
  "t1"."id", 'username', "t1"."username") AS "__prisma_data__" FROM "public"."users" AS "t1" WHERE
  "t0"."created_by_id" = "t1"."id" LIMIT $1) AS "Hook_createdBy" ON true LEFT JOIN LATERAL (SELECT
  COALESCE(JSONB_AGG("__prisma_data__"), '[]') AS "__prisma_data__" FROM (SELECT "t4"."__prisma_data__" FROM
  (SELECT JSONB_BUILD_OBJECT('key', "t3"."key") AS "__prisma_data__", "t3"."key" FROM (SELECT "t2".* FROM
  "public"."url_variables" AS "t2" WHERE "t0"."id" = "t2"."hook_id" /* root select */) AS "t3" /* inner select
  */) AS "t4" ORDER BY "t4"."key" ASC /* middle select */) AS "t5" /* outer select */) AS "Hook_urlVariables"
  ON true LEFT JOIN LATERAL (SELECT COALESCE(JSONB_AGG("__prisma_data__"), '[]') AS "__prisma_data__" FROM
  (SELECT "t8"."__prisma_data__" FROM (SELECT JSONB_BUILD_OBJECT('key', "t7"."key") AS "__prisma_data__",
  "t7"."key" FROM (SELECT "t6".* FROM "public"."custom_headers" AS "t6" WHERE "t0"."id" = "t6"."hook_id" /*
  root select */) AS "t7" /* inner select */) AS "t8" ORDER BY "t8"."key" ASC /* middle select */) AS "t9" /*
  outer select */) AS "Hook_customHeaders" ON true WHERE ("t0"."id" = $2 AND 1=1) LIMIT $3
`);

// Prisma's plan: `createdBy { isAdmin }` is more than the cached copy holds.
const HOOK_WITH_CREATOR_STATEMENT = sql(`
  SELECT "t0"."id", "t0"."kind"::text, "t0"."url", "t0"."name", "t0"."description", "t0"."subject_type"::text
  AS "subjectType", "t0"."subject", "t0"."namespace", "t0"."events", "t0"."secret", "t0"."previous_secret" AS
  "previousSecret", "t0"."previous_secret_expires_at" AS "previousSecretExpiresAt", "t0"."signing_token" AS
  "signingToken", "t0"."is_active" AS "isActive", "t0"."enable_ssl_verification" AS "enableSslVerification",
  "t0"."push_events_branch_filter" AS "pushEventsBranchFilter", "t0"."branch_filter_strategy"::text AS
  "branchFilterStrategy", "t0"."alert_status"::text AS "alertStatus", "t0"."disabled_until" AS
  "disabledUntil", "t0"."recent_failures" AS "recentFailures", "t0"."retry_after_until" AS "retryAfterUntil", "t0"."created_by_id" AS "createdById",
  "t0"."created_at" AS "createdAt", "t0"."updated_at" AS "updatedAt", "Hook_createdBy"."__prisma_data__" AS
  "createdBy" FROM "public"."hooks" AS "t0" LEFT JOIN LATERAL (SELECT JSONB_BUILD_OBJECT('id', "t1"."id",
  'username', "t1"."username", 'isAdmin', "t1"."is_admin", 'createdAt', "t1"."created_at", 'updatedAt',
  "t1"."updated_at") AS "__prisma_data__" FROM "public"."users" AS "t1" WHERE "t0"."created_by_id" = "t1"."id"
  LIMIT $1) AS "Hook_createdBy" ON true WHERE "t0"."id" = $2 LIMIT $3
`);

function countingClient(adapter: Database['adapterFactory']) {
  return new PrismaClient({ adapter, log: [{ emit: 'event' as const, level: 'query' as const }] });
}

describe.each(backends)('SQL statements per GraphQL request on %s', (backend) => {
  let db: Awaited<ReturnType<typeof openTestDatabase>>;
  let counted: ReturnType<typeof countingClient>;
  const statements: string[] = [];
  let yoga: ReturnType<typeof createGraphQL>['yoga'];
  let hookIds: number[] = [];

  beforeAll(async () => {
    db = await openTestDatabase(backend);
    // A second client on the same driver adapter, so the count covers exactly this app's SQL.
    counted = countingClient(db.adapterFactory);
    // Authentication (a token lookup every few seconds) is not the operation's plan: left out.
    counted.$on('query', (event) => {
      if (!event.query.includes('"api_tokens"')) statements.push(event.query.replace(/\s+/g, ' ').trim());
    });
    // As the app wires it: hooks read by id come from the cache the database's notifications feed.
    const hookCache = await HookCache.listening<HookRecord>(db.notifications);
    const services = createServices(counted, { hookCache });
    await services.users.bootstrapAdmin(ADMIN_TOKEN);
    const admin = await db.prisma.user.findUniqueOrThrow({ where: { username: 'root' } });
    const users = await db.prisma.user.createManyAndReturn({ data: [{ username: 'u1' }, { username: 'u2' }] });
    await db.prisma.hook.createMany({
      data: Array.from({ length: 120 }, (_, i) => ({
        kind: 'SUBJECT' as const,
        subjectType: 'BUILD_REPO' as const,
        subject: `u${(i % 2) + 1}/repo${i}`,
        namespace: `u${(i % 2) + 1}`,
        events: ['build:complete'],
        url: `https://example.com/${i}/{token}`,
        secret: i % 3 === 0 ? 'secret' : null,
        createdById: i % 5 === 0 ? admin.id : users[i % 2]!.id,
      })),
    });
    const hooks = await db.prisma.hook.findMany({ select: { id: true }, orderBy: { id: 'asc' } });
    hookIds = hooks.map((hook) => hook.id);
    await db.prisma.urlVariable.createMany({
      data: hooks.flatMap((hook) => [
        { hookId: hook.id, key: 'token', value: 'v' },
        { hookId: hook.id, key: 'other', value: 'w' },
      ]),
    });
    const event = await db.prisma.event.create({ data: { name: 'build:complete', payload: { ok: true } } });
    const deliveries = await db.prisma.delivery.createManyAndReturn({
      data: hooks.flatMap((hook) => Array.from({ length: 7 }, () => ({ eventId: event.id, hookId: hook.id, status: 'SUCCEEDED' as const, attemptCount: 2 }))),
      select: { id: true },
    });
    await db.prisma.deliveryAttempt.createMany({
      data: deliveries.flatMap((delivery) =>
        [1, 2].map((n) => ({
          deliveryId: delivery.id,
          durationMs: n * 10,
          requestUrl: 'https://example.com',
          requestHeaders: {},
          responseStatus: n === 1 ? 500 : 200,
        })),
      ),
    });
    yoga = createGraphQL({ services, prisma: counted, logger: createLogger('silent') }).yoga;
  });
  afterAll(async () => {
    await counted?.$disconnect();
    await db?.close();
  });

  async function post(query: string, variables: Record<string, unknown>) {
    const response = await yoga.fetch('http://hookgate.test/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN_TOKEN}` },
      body: JSON.stringify({ query, variables }),
    });
    return response.json() as Promise<Pick<GraphQLResponse, 'data' | 'errors'>>;
  }

  /** The statements one operation ran, sorted: the page's loaders run concurrently. */
  async function statementsOf(query: string, variables: Record<string, unknown>) {
    statements.length = 0;
    const result = await post(query, variables);
    expect(result.errors).toBeUndefined();
    return { result, statements: [...statements].sort() };
  }

  async function run(first: number) {
    return (await post(BIG_PAGE, { first })) as PageResult;
  }

  it('loads 100 hooks with creator, url variables, last 5 deliveries and their attempts in exactly these 4 statements', async () => {
    for (const first of [100, 10, 1]) {
      const { result, statements: ran } = await statementsOf(BIG_PAGE, { first });
      const nodes = (result as PageResult).data!.hooks.nodes;
      expect(nodes).toHaveLength(first);
      expect((result as PageResult).data!.hooks.totalCount).toBe(120);
      expect(nodes.every((hook) => hook.urlVariables.length === 2)).toBe(true);
      expect(nodes.every((hook) => hook.deliveries.totalCount === 7 && hook.deliveries.nodes.length === 5)).toBe(true);
      expect(nodes.every((hook) => hook.deliveries.nodes.every((delivery) => delivery.attempts.length === 2))).toBe(true);
      // The same plan whatever the page size.
      expect(ran).toEqual(PAGE_STATEMENTS);
    }
  });

  it('loads a page whose deliveries ask for more than the JSON statement describes through Prisma, still batched', async () => {
    const query = 'query { hooks(first: 3) { nodes { databaseId deliveries(first: 2) { nodes { databaseId hook { databaseId } } } } } }';
    const { result, statements: ran } = await statementsOf(query, {});
    const nodes = result.data!.hooks.nodes as { databaseId: number; deliveries: { nodes: { hook: { databaseId: number } }[] } }[];
    expect(nodes).toHaveLength(3);
    expect(nodes.every((hook) => hook.deliveries.nodes.length === 2 && hook.deliveries.nodes.every((d) => d.hook.databaseId === hook.databaseId))).toBe(true);
    // The hooks, then the pages' ids (LATERAL … LIMIT), then those deliveries with their hooks.
    expect(ran).toHaveLength(3);
    expect(ran.filter((statement) => statement.includes('CROSS JOIN LATERAL'))).toHaveLength(1);
    expect(ran.filter((statement) => statement.includes('FROM "public"."deliveries"') && statement.includes('IN ('))).toHaveLength(1);
  });

  it('reads hook(id) through the hook cache: one statement the first time, none after', async () => {
    const id = encodeGlobalID('Hook', hookIds[7]!);
    const first = await statementsOf(HOOK_BY_ID, { id });
    expect(first.result.data!.hook).toMatchObject({
      id,
      url: 'https://example.com/7/{token}',
      hasSecret: false,
      urlVariables: [{ key: 'other' }, { key: 'token' }],
    });
    expect(first.statements).toEqual([HOOK_RECORD_STATEMENT]);
    const again = await statementsOf(HOOK_BY_ID, { id });
    expect(again.result).toEqual(first.result);
    expect(again.statements).toEqual([]);
  });

  it('plans hook(id) with Prisma when it asks for more than the cache holds, and runs nothing for a non-Hook id', async () => {
    const id = encodeGlobalID('Hook', hookIds[8]!);
    const withCreator = await statementsOf('query($id: ID!) { hook(id: $id) { databaseId createdBy { username isAdmin } } }', { id });
    expect(withCreator.result.data!.hook).toEqual({ databaseId: hookIds[8], createdBy: { username: 'u1', isAdmin: false } });
    expect(withCreator.statements).toEqual([HOOK_WITH_CREATOR_STATEMENT]);
    const notAHook = await statementsOf(HOOK_BY_ID, { id: encodeGlobalID('Delivery', 1) });
    expect(notAHook.result.data!.hook).toBeNull();
    expect(notAHook.statements).toEqual([]);
  });

  it('caps a page at 100 hooks', async () => {
    const result = await run(500);
    expect(result.data!.hooks.nodes).toHaveLength(100);
  });
});
