// `redeliverFailed`: only the hook's FAILED deliveries created in the window go out again, to a
// real receiver, with the `webhook-id` they had; more than 10,000 is refused and changes nothing.
// Deliveries are seeded in SQL (the engine would take minutes to fail 10,000 of them).
import { encodeGlobalID } from '@pothos/plugin-relay';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, type Receiver, startReceiver } from '../delivery/receiver';
import { backends, createUser, graphql, startTestApp, type TestApp } from '../helpers';

const REDELIVER = `mutation($input: RedeliverFailedInput!) { redeliverFailed(input: $input) { count userErrors { field message code } } }`;
// A day ago, on a whole minute: inside the log's retention, which would otherwise prune finished seeds.
const T0 = Math.floor(Date.now() / 60_000) * 60_000 - 86_400_000;
const at = (minutes: number) => new Date(T0 + minutes * 60_000);

describe.each(backends)('redeliverFailed on %s', (backend) => {
  let t: TestApp;
  let receiver: Receiver;
  let alice: { token: string };
  let bob: { token: string };

  beforeAll(async () => {
    t = await startTestApp(backend);
    receiver = await startReceiver();
    alice = await createUser(t.app, 'alice');
    bob = await createUser(t.app, 'bob');
  });
  afterAll(async () => {
    await t?.close();
    await receiver?.close();
  });

  /** One delivery straight in SQL, as the engine would have left it. */
  async function seedDelivery(hookId: number, status: string, createdAt: Date): Promise<{ id: number; uuid: string }> {
    const [row] = await t.app.db.prisma.$queryRaw<{ id: number; uuid: string }[]>`
      WITH e AS (INSERT INTO events (name, payload) VALUES ('build:complete', ${JSON.stringify({ status, at: createdAt })}::json) RETURNING id)
      INSERT INTO deliveries (uuid, event_id, hook_id, status, attempt_count, created_at, updated_at)
      SELECT gen_random_uuid(), e.id, ${hookId}, ${status}::delivery_status, 4, ${createdAt}::timestamptz, ${createdAt}::timestamptz FROM e
      RETURNING id, uuid::text AS uuid`;
    return row!;
  }

  it('sends again only the FAILED deliveries of that hook created in the window, with their webhook-id', async () => {
    const prisma = t.app.db.prisma;
    const subject = (name: string, path: string) => ({
      kind: 'SUBJECT' as const,
      url: `${receiver.url}/${path}`,
      subjectType: 'BUILD_REPO' as const,
      subject: `alice/${name}`,
      namespace: 'alice',
      events: ['build:complete'],
    });
    const hook = await prisma.hook.create({ data: subject('app', 'recover') });
    const other = await prisma.hook.create({ data: subject('other', 'other') });
    const inWindow = [
      await seedDelivery(hook.id, 'FAILED', at(10)),
      await seedDelivery(hook.id, 'FAILED', at(20)),
      await seedDelivery(hook.id, 'FAILED', at(29)),
    ];
    const untouched = [
      await seedDelivery(hook.id, 'FAILED', at(9)), // before since
      await seedDelivery(hook.id, 'FAILED', at(30)), // at until: the window is [since, until)
      await seedDelivery(hook.id, 'SUCCEEDED', at(15)),
      await seedDelivery(hook.id, 'RETRYING', at(16)),
      await seedDelivery(other.id, 'FAILED', at(15)), // another hook
    ];
    const before = await prisma.delivery.findMany({ where: { id: { in: untouched.map((d) => d.id) } }, orderBy: { id: 'asc' } });

    const res = await graphql(
      t.url,
      REDELIVER,
      { input: { hookId: encodeGlobalID('Hook', hook.id), since: at(10).toISOString(), until: at(30).toISOString() } },
      alice.token,
    );
    expect(res.errors).toBeUndefined();
    expect(res.data!.redeliverFailed).toEqual({ count: 3, userErrors: [] });

    const received = await receiver.waitFor(3, 20_000);
    const recovered = received.filter((r) => r.path === '/recover');
    expect(recovered.map((r) => r.headers['webhook-id']).sort()).toEqual(inWindow.map((d) => d.uuid).sort());
    expect(recovered.map((r) => JSON.parse(r.body).status)).toEqual(['FAILED', 'FAILED', 'FAILED']);
    // The engine recorded the new attempts on the same deliveries.
    const done = await eventually(
      async () => {
        const rows = await prisma.delivery.findMany({ where: { id: { in: inWindow.map((d) => d.id) } }, include: { attempts: true } });
        return rows.every((row) => row.status === 'SUCCEEDED' && row.attempts.length === 1) ? rows : null;
      },
      20_000,
      'the recovered deliveries to succeed',
    );
    expect(done.map((row) => row.attemptCount)).toEqual([5, 5, 5]);
    // Nothing else was rescheduled (a rescheduled delivery has a due time), so nothing else is sent.
    const after = await prisma.delivery.findMany({ where: { id: { in: untouched.map((d) => d.id) } }, orderBy: { id: 'asc' } });
    expect(after).toEqual(before);
    expect(receiver.requests.filter((r) => r.path === '/recover' || r.path === '/other')).toHaveLength(3);

    // A second call finds nothing left to recover; `until` defaults to now.
    const again = await graphql(t.url, REDELIVER, { input: { hookId: encodeGlobalID('Hook', hook.id), since: at(10).toISOString() } }, alice.token);
    // Only the one at `until` is left, and now it is inside [since, now).
    expect(again.data!.redeliverFailed).toEqual({ count: 1, userErrors: [] });
  });

  it('answers user errors for a hidden hook, a bad id and an empty window', async () => {
    const hook = await t.app.db.prisma.hook.create({
      data: {
        kind: 'SUBJECT',
        url: `${receiver.url}/hidden`,
        subjectType: 'BUILD_REPO',
        subject: 'alice/hidden',
        namespace: 'alice',
        events: ['build:complete'],
      },
    });
    const input = { hookId: encodeGlobalID('Hook', hook.id), since: at(0).toISOString(), until: at(10).toISOString() };
    const hidden = await graphql(t.url, REDELIVER, { input }, bob.token);
    expect(hidden.data!.redeliverFailed).toEqual({ count: 0, userErrors: [{ field: ['input', 'hookId'], message: expect.any(String), code: 'NOT_FOUND' }] });
    const badId = await graphql(t.url, REDELIVER, { input: { ...input, hookId: encodeGlobalID('Delivery', 1) } }, alice.token);
    expect(badId.data!.redeliverFailed.userErrors).toEqual([{ field: ['input', 'hookId'], message: expect.any(String), code: 'VALIDATION_FAILED' }]);
    const backwards = await graphql(t.url, REDELIVER, { input: { ...input, until: at(0).toISOString() } }, alice.token);
    expect(backwards.data!.redeliverFailed.userErrors).toEqual([{ field: ['input', 'until'], message: 'must be after since', code: 'VALIDATION_FAILED' }]);
    const future = await graphql(t.url, REDELIVER, { input: { hookId: input.hookId, since: new Date(Date.now() + 86_400_000).toISOString() } }, alice.token);
    expect(future.data!.redeliverFailed.userErrors).toEqual([{ field: ['input', 'since'], message: 'must be in the past', code: 'VALIDATION_FAILED' }]);
    const anonymous = await graphql(t.url, REDELIVER, { input }, null);
    expect(anonymous.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });
});

describe.each(backends)('redeliverFailed cap on %s', (backend) => {
  let t: TestApp;
  let receiver: Receiver;
  let alice: { token: string };

  beforeAll(async () => {
    // No delivery workers: the 10,000 rescheduled deliveries stay as the call left them.
    t = await startTestApp(backend, { HOOKGATE_DELIVERY_CONCURRENCY: '0' });
    receiver = await startReceiver();
    alice = await createUser(t.app, 'alice');
  });
  afterAll(async () => {
    await t?.close();
    await receiver?.close();
  });

  it('refuses more than 10,000 at once and changes nothing; 10,000 go', async () => {
    const prisma = t.app.db.prisma;
    const hook = await prisma.hook.create({
      data: { kind: 'SUBJECT', url: `${receiver.url}/cap`, subjectType: 'BUILD_REPO', subject: 'alice/cap', namespace: 'alice', events: ['build:complete'] },
    });
    await prisma.$executeRaw`
      WITH e AS (INSERT INTO events (name, payload) VALUES ('build:complete', '{}') RETURNING id)
      INSERT INTO deliveries (uuid, event_id, hook_id, status, attempt_count, created_at, updated_at)
      SELECT gen_random_uuid(), e.id, ${hook.id}, 'FAILED', 4, ${at(0)}::timestamptz + i * interval '1 second', now()
      FROM e, generate_series(0, 10000) AS i`;
    const input = { hookId: encodeGlobalID('Hook', hook.id), since: at(0).toISOString(), until: at(24 * 60).toISOString() };
    const refused = await graphql(t.url, REDELIVER, { input }, alice.token);
    expect(refused.data!.redeliverFailed).toEqual({
      count: 0,
      userErrors: [{ field: ['input', 'since'], message: expect.stringContaining('more than 10,000'), code: 'VALIDATION_FAILED' }],
    });
    const still = await prisma.delivery.count({ where: { hookId: hook.id, status: 'FAILED', nextAttemptAt: null } });
    expect(still).toBe(10_001);
    // One second later: the oldest is left out, and exactly 10,000 are scheduled.
    const capped = await graphql(t.url, REDELIVER, { input: { ...input, since: new Date(T0 + 1000).toISOString() } }, alice.token);
    expect(capped.data!.redeliverFailed).toEqual({ count: 10_000, userErrors: [] });
    const oldest = await prisma.delivery.findFirstOrThrow({ where: { hookId: hook.id }, orderBy: { createdAt: 'asc' } });
    expect(oldest).toMatchObject({ status: 'FAILED', nextAttemptAt: null });
    expect(await prisma.delivery.count({ where: { hookId: hook.id, status: 'PENDING', nextAttemptAt: { not: null } } })).toBe(10_000);
  });
});
