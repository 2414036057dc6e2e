// `Query.deliveries` against the real app: every filter alone and combined, pages both ways,
// visibility (a non-admin sees its namespace's hooks' deliveries only) and the attempt headers of
// a real send (secrets and custom header values redacted). The log is seeded in SQL with known
// creation times, so each expectation is computed from the seed, not from the code under test.
import { encodeGlobalID } from '@pothos/plugin-relay';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Receiver, startReceiver } from '../delivery/receiver';
import { backends, createUser, graphql, startTestApp, type TestApp } from '../helpers';

interface Seeded {
  id: number;
  hookId: number;
  status: string;
  event: string;
  createdAt: Date;
}

// A day ago, on a whole minute: inside the log's retention, which would otherwise prune finished seeds.
const T0 = Math.floor(Date.now() / 60_000) * 60_000 - 86_400_000;
const STATUSES = ['SUCCEEDED', 'FAILED', 'RETRYING', 'PENDING'] as const;

const PAGE = `query($first: Int, $after: String, $last: Int, $before: String, $filter: DeliveryFilter) {
  deliveries(first: $first, after: $after, last: $last, before: $before, filter: $filter) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { databaseId status event createdAt hook { databaseId } } }
  }
}`;

describe.each(backends)('Query.deliveries on %s', (backend) => {
  let t: TestApp;
  let receiver: Receiver;
  let alice: { token: string };
  let bob: { token: string };
  let hooks: { alice1: number; alice2: number; bob: number; system: number };
  let seeded: Seeded[];

  async function page(variables: Record<string, unknown>, token?: string) {
    const res = await graphql(t.url, PAGE, variables, token);
    expect(res.errors).toBeUndefined();
    return res.data!.deliveries as {
      totalCount: number;
      pageInfo: { hasNextPage: boolean; hasPreviousPage: boolean; startCursor: string | null; endCursor: string | null };
      edges: { cursor: string; node: { databaseId: number; status: string; event: string; createdAt: string; hook: { databaseId: number } } }[];
    };
  }

  /** What the seed says a filter should return, newest first (created_at, then id). */
  function expected(keep: (d: Seeded) => boolean): number[] {
    return seeded
      .filter(keep)
      .sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime() || b.id - a.id)
      .map((d) => d.id);
  }

  const ids = (connection: Awaited<ReturnType<typeof page>>) => connection.edges.map((edge) => edge.node.databaseId);

  beforeAll(async () => {
    t = await startTestApp(backend, { HOOKGATE_DELIVERY_CONCURRENCY: '0' });
    receiver = await startReceiver();
    alice = await createUser(t.app, 'alice');
    bob = await createUser(t.app, 'bob');
    const prisma = t.app.db.prisma;
    const subject = (namespace: string, repo: string) => ({
      kind: 'SUBJECT' as const,
      url: `${receiver.url}/${namespace}`,
      subjectType: 'BUILD_REPO' as const,
      subject: `${namespace}/${repo}`,
      namespace,
      events: ['build:complete'],
    });
    hooks = {
      alice1: (await prisma.hook.create({ data: subject('alice', 'one') })).id,
      alice2: (await prisma.hook.create({ data: subject('alice', 'two') })).id,
      bob: (await prisma.hook.create({ data: subject('bob', 'app') })).id,
      system: (await prisma.hook.create({ data: { kind: 'SYSTEM', url: `${receiver.url}/sys`, events: ['push'] } })).id,
    };
    const hookIds = [hooks.alice1, hooks.alice2, hooks.bob, hooks.system];
    // 40 deliveries: hooks, statuses and events in turn; pairs share a creation time, so the
    // order's tie-break (id) is exercised too. Inserted out of time order, so id order is not time order.
    await prisma.$executeRaw`
      WITH e AS (INSERT INTO events (name, payload) VALUES ('build:complete', '{"n":1}'), ('job:fail', '{"n":2}') RETURNING id, name)
      INSERT INTO deliveries (uuid, event_id, hook_id, status, created_at, updated_at)
      SELECT gen_random_uuid(),
        (SELECT id FROM e WHERE name = CASE WHEN i % 3 = 0 THEN 'job:fail' ELSE 'build:complete' END),
        (${hookIds}::int[])[1 + i % 4],
        (ARRAY['SUCCEEDED','FAILED','RETRYING','PENDING'])[1 + (i / 4) % 4]::delivery_status,
        ${new Date(T0)}::timestamptz + ((39 - i) / 2) * interval '1 minute', now()
      FROM generate_series(0, 39) AS i`;
    const rows = await prisma.delivery.findMany({ include: { event: { select: { name: true } } } });
    seeded = rows.map((row) => ({ id: row.id, hookId: row.hookId, status: row.status, event: row.event.name, createdAt: row.createdAt }));
    expect(new Set(seeded.map((d) => d.status))).toEqual(new Set(STATUSES));
  });
  afterAll(async () => {
    await t?.close();
    await receiver?.close();
  });

  it('lists every delivery for an admin, newest first, with totalCount', async () => {
    const all = await page({ first: 100 });
    expect(all.totalCount).toBe(40);
    expect(ids(all)).toEqual(expected(() => true));
    expect(all.pageInfo).toMatchObject({ hasNextPage: false, hasPreviousPage: false });
    // Newest first really is by creation time: ids were inserted oldest-last.
    const times = all.edges.map((edge) => Date.parse(edge.node.createdAt));
    expect([...times].sort((a, b) => b - a)).toEqual(times);
  });

  it('filters by each field alone', async () => {
    const cases: [Record<string, unknown>, (d: Seeded) => boolean][] = [
      [{ hookId: encodeGlobalID('Hook', hooks.alice2) }, (d) => d.hookId === hooks.alice2],
      [{ status: 'FAILED' }, (d) => d.status === 'FAILED'],
      [{ status: 'PENDING' }, (d) => d.status === 'PENDING'],
      [{ event: 'job:fail' }, (d) => d.event === 'job:fail'],
      [{ event: 'no:such' }, () => false],
      [{ createdAfter: new Date(T0 + 10 * 60_000).toISOString() }, (d) => d.createdAt.getTime() >= T0 + 10 * 60_000],
      [{ createdBefore: new Date(T0 + 5 * 60_000).toISOString() }, (d) => d.createdAt.getTime() < T0 + 5 * 60_000],
    ];
    for (const [filter, keep] of cases) {
      const result = await page({ first: 100, filter });
      const want = expected(keep);
      expect(ids(result), JSON.stringify(filter)).toEqual(want);
      expect(result.totalCount, JSON.stringify(filter)).toBe(want.length);
    }
  });

  it('combines filters', async () => {
    const filter = {
      hookId: encodeGlobalID('Hook', hooks.alice1),
      status: 'SUCCEEDED',
      event: 'build:complete',
      createdAfter: new Date(T0 + 2 * 60_000).toISOString(),
      createdBefore: new Date(T0 + 18 * 60_000).toISOString(),
    };
    const keep = (d: Seeded) =>
      d.hookId === hooks.alice1 &&
      d.status === 'SUCCEEDED' &&
      d.event === 'build:complete' &&
      d.createdAt.getTime() >= T0 + 2 * 60_000 &&
      d.createdAt.getTime() < T0 + 18 * 60_000;
    const want = expected(keep);
    expect(want.length).toBeGreaterThan(0);
    const result = await page({ first: 100, filter });
    expect(ids(result)).toEqual(want);
    expect(result.totalCount).toBe(want.length);
    const statusAndWindow = await page({ first: 100, filter: { status: 'FAILED', createdBefore: filter.createdBefore } });
    expect(ids(statusAndWindow)).toEqual(expected((d) => d.status === 'FAILED' && d.createdAt.getTime() < T0 + 18 * 60_000));
  });

  it('pages forwards with first/after and backwards with last/before, across creation-time ties', async () => {
    const want = expected(() => true);
    const forwards: number[] = [];
    let after: string | null = null;
    for (let n = 0; n < 10; n++) {
      const result = await page({ first: 7, after });
      forwards.push(...ids(result));
      expect(result.pageInfo.endCursor).toBe(result.edges.at(-1)?.cursor ?? null);
      if (!result.pageInfo.hasNextPage) break;
      after = result.pageInfo.endCursor;
    }
    expect(forwards).toEqual(want);

    const backwards: number[] = [];
    let before: string | null = null;
    for (let n = 0; n < 10; n++) {
      const result = await page({ last: 7, before });
      backwards.unshift(...ids(result));
      if (!result.pageInfo.hasPreviousPage) break;
      before = result.pageInfo.startCursor;
    }
    expect(backwards).toEqual(want);

    // A cursor from the middle: the page after it, and the page before it, meet there.
    const middle = await page({ first: 20 });
    const cursor = middle.edges[9]!.cursor;
    expect(ids(await page({ first: 5, after: cursor }))).toEqual(want.slice(10, 15));
    expect(ids(await page({ last: 5, before: cursor }))).toEqual(want.slice(4, 9));
    // Filters and cursors together.
    const failed = expected((d) => d.status === 'FAILED');
    const first = await page({ first: 3, filter: { status: 'FAILED' } });
    const next = await page({ first: 3, after: first.pageInfo.endCursor, filter: { status: 'FAILED' } });
    expect([...ids(first), ...ids(next)]).toEqual(failed.slice(0, 6));
  });

  it("shows a non-admin only the deliveries of its namespace's hooks", async () => {
    const mine = await page({ first: 100 }, alice.token);
    const want = expected((d) => d.hookId === hooks.alice1 || d.hookId === hooks.alice2);
    expect(ids(mine)).toEqual(want);
    expect(mine.totalCount).toBe(want.length);
    expect(new Set(mine.edges.map((edge) => edge.node.hook.databaseId))).toEqual(new Set([hooks.alice1, hooks.alice2]));
    // Paging and filtering stay inside what it may see.
    const firstPage = await page({ first: 4, filter: { status: 'FAILED' } }, alice.token);
    const rest = await page({ first: 100, after: firstPage.pageInfo.endCursor, filter: { status: 'FAILED' } }, alice.token);
    expect([...ids(firstPage), ...ids(rest)]).toEqual(expected((d) => (d.hookId === hooks.alice1 || d.hookId === hooks.alice2) && d.status === 'FAILED'));
    // Another namespace's hook, or a system hook, is as if it had no deliveries.
    for (const hidden of [hooks.bob, hooks.system]) {
      const none = await page({ first: 100, filter: { hookId: encodeGlobalID('Hook', hidden) } }, alice.token);
      expect(none).toMatchObject({ totalCount: 0, edges: [] });
    }
    const bobs = await page({ first: 100 }, bob.token);
    expect(ids(bobs)).toEqual(expected((d) => d.hookId === hooks.bob));
  });

  it('refuses bad cursors and ids with a client error, and requires a token', async () => {
    const badCursor = await graphql(t.url, PAGE, { first: 1, after: 'bm9wZQ' });
    expect(badCursor.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    const hookCursor = await graphql(t.url, PAGE, { first: 1, after: Buffer.from('delivery:1').toString('base64url') });
    expect(hookCursor.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    const badId = await graphql(t.url, PAGE, { first: 1, filter: { hookId: encodeGlobalID('Delivery', 1) } });
    expect(badId.errors?.[0]?.extensions?.code).toBe('VALIDATION_FAILED');
    const negative = await graphql(t.url, PAGE, { first: -1 });
    expect(negative.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    const anonymous = await graphql(t.url, PAGE, { first: 1 }, null);
    expect(anonymous.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });
});

describe.each(backends)('DeliveryAttempt headers on %s', (backend) => {
  let t: TestApp;
  let receiver: Receiver;

  beforeAll(async () => {
    t = await startTestApp(backend);
    receiver = await startReceiver(() => ({ status: 200, body: 'ok' }));
  });
  afterAll(async () => {
    await t?.close();
    await receiver?.close();
  });

  it('shows what was sent, with the signature and custom header values redacted, and what came back', async () => {
    const alice = await createUser(t.app, 'alice');
    const created = await graphql(
      t.url,
      `mutation($input: CreateHookInput!) { createHook(input: $input) { hook { id } userErrors { message } } }`,
      {
        input: {
          kind: 'SUBJECT',
          subjectType: 'BUILD_REPO',
          subject: 'alice/app',
          events: ['build:complete'],
          url: `${receiver.url}/hook`,
          secret: 'a-signing-secret',
          customHeaders: [{ key: 'X-Api-Key', value: 'custom-secret-value' }],
        },
      },
      alice.token,
    );
    expect(created.data!.createHook.userErrors).toEqual([]);
    const hookId = created.data!.createHook.hook.id as string;
    const test = await graphql(
      t.url,
      'mutation($input: TestHookInput!) { testHook(input: $input) { delivery { webhookId } userErrors { message } } }',
      { input: { id: hookId } },
      alice.token,
    );
    const { webhookId } = test.data!.testHook.delivery;
    const sent = receiver.requests.at(-1)!;
    // The receiver really got the secrets...
    expect(sent.headers['x-api-key']).toBe('custom-secret-value');
    expect(sent.headers['webhook-signature']).toMatch(/^v1,/);

    const res = await graphql(
      t.url,
      `query($filter: DeliveryFilter) { deliveries(first: 5, filter: $filter) { nodes { webhookId attempts { requestHeaders responseHeaders responseStatus } } } }`,
      {
        filter: { hookId },
      },
      alice.token,
    );
    expect(res.errors).toBeUndefined();
    const [delivery] = res.data!.deliveries.nodes;
    expect(delivery.webhookId).toBe(webhookId);
    const [attempt] = delivery.attempts;
    // ...and the log shows everything else as sent, never them.
    expect(attempt.requestHeaders).toMatchObject({
      'webhook-id': webhookId,
      'webhook-timestamp': sent.headers['webhook-timestamp'],
      'webhook-signature': '[redacted]',
      'x-api-key': '[redacted]',
      'content-type': 'application/json',
      'x-hookgate-event': 'build:complete',
    });
    expect(JSON.stringify(res.data)).not.toContain('custom-secret-value');
    expect(JSON.stringify(res.data)).not.toContain(String(sent.headers['webhook-signature']));
    expect(attempt.responseStatus).toBe(200);
    expect(attempt.responseHeaders).toMatchObject({ 'content-type': 'text/plain' });
  });

  it('has null responseHeaders when nothing answered', async () => {
    const prisma = t.app.db.prisma;
    // A refused destination: the attempt is recorded without a response.
    const hook = await prisma.hook.create({ data: { kind: 'SYSTEM', url: 'http://127.0.0.1:1/nothing-listens', events: ['push'] } });
    await t.app.services.deliveries.testHook(t.admin, hook.id);
    const res = await graphql(
      t.url,
      `query($filter: DeliveryFilter) { deliveries(filter: $filter) { nodes { attempts { requestHeaders responseHeaders error } } } }`,
      {
        filter: { hookId: encodeGlobalID('Hook', hook.id) },
      },
    );
    const [attempt] = res.data!.deliveries.nodes[0].attempts;
    expect(attempt.responseHeaders).toBeNull();
    expect(attempt.error).toEqual(expect.any(String));
    expect(attempt.requestHeaders).toMatchObject({ 'x-gitlab-event': 'System Hook' });
  });
});
