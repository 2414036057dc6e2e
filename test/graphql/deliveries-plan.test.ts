// A page of `Query.deliveries` costs the same whatever the size of the delivery log: 100,000
// deliveries are seeded straight in SQL, then the exact statements `DeliverySearch` runs (caught
// with Prisma's query events) are run again under EXPLAIN ANALYZE. No plan may scan the deliveries
// table sequentially, and every plan reads at most 1% of it (a sort over the whole table would
// have to read all of it first). The same for the `deliveryUpdated(after:)` catch-up.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Actor } from '../../src/domain/actor';
import type { DeliveryFilter, DeliveryPageRequest } from '../../src/domain/delivery-search';
import { createServices, type Services } from '../../src/domain/services';
import { PrismaClient } from '../../src/generated/prisma/client';
import { backends, openTestDatabase } from '../helpers';

const DELIVERIES = 100_000;
const HOOKS = 200;
const NAMESPACES = 10;
/** Rows of `deliveries` a page may read: 1% of the log (a page is 21 rows; a namespace has 20 hooks). */
const MAX_ROWS_READ = DELIVERIES / 100;
// A day ago, on a whole minute: inside the log's retention, which would otherwise prune finished seeds.
const T0 = Math.floor(Date.now() / 60_000) * 60_000 - 86_400_000;
const second = (n: number) => new Date(T0 + n * 1000);

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Name'?: string;
  'Actual Rows': number;
  'Actual Loops': number;
  'Rows Removed by Filter'?: number;
  Plans?: PlanNode[];
}

function nodes(plan: PlanNode): PlanNode[] {
  return [plan, ...(plan.Plans ?? []).flatMap(nodes)];
}

function countingClient(adapter: Awaited<ReturnType<typeof openTestDatabase>>['adapterFactory']) {
  return new PrismaClient({ adapter, log: [{ emit: 'event' as const, level: 'query' as const }] });
}

describe.each(backends)('Query.deliveries plans over 100,000 deliveries on %s', { timeout: 300_000 }, (backend) => {
  let db: Awaited<ReturnType<typeof openTestDatabase>>;
  let counted: ReturnType<typeof countingClient>;
  let services: Services;
  let statements: { query: string; params: string }[] = [];
  let firstHookId: number;
  const admin: Actor = { id: 1, username: 'root', isAdmin: true };
  const ns3: Actor = { id: 99_999, username: 'ns3', isAdmin: false };

  beforeAll(async () => {
    db = await openTestDatabase(backend);
    counted = countingClient(db.adapterFactory);
    counted.$on('query', (event) => statements.push({ query: event.query, params: event.params }));
    services = createServices(counted);
    const prisma = db.prisma;
    await prisma.$executeRaw`
      INSERT INTO hooks (kind, url, subject_type, subject, namespace, events, updated_at)
      SELECT 'SUBJECT', 'https://example.com/' || i, 'BUILD_REPO', 'ns' || (i % ${NAMESPACES}) || '/repo' || i, 'ns' || (i % ${NAMESPACES}), ARRAY['build:complete'], now()
      FROM generate_series(1, ${HOOKS}) AS i`;
    await prisma.$executeRaw`
      INSERT INTO events (name, payload)
      SELECT CASE WHEN i % 2 = 0 THEN 'build:complete' ELSE 'job:fail' END, '{}' FROM generate_series(1, 1000) AS i`;
    // One a second, hooks and events in turn, a quarter of each status (in runs of 7).
    await prisma.$executeRaw`
      INSERT INTO deliveries (uuid, event_id, hook_id, status, created_at, updated_at)
      SELECT gen_random_uuid(), (SELECT min(id) FROM events) + i % 1000, (SELECT min(id) FROM hooks) + i % ${HOOKS},
        (ARRAY['SUCCEEDED', 'FAILED', 'RETRYING', 'PENDING'])[1 + (i / 7) % 4]::delivery_status,
        ${second(0)}::timestamptz + i * interval '1 second', ${second(0)}::timestamptz + i * interval '1 second'
      FROM generate_series(0, ${DELIVERIES - 1}) AS i`;
    await prisma.$executeRawUnsafe('ANALYZE hooks');
    await prisma.$executeRawUnsafe('ANALYZE events');
    await prisma.$executeRawUnsafe('ANALYZE deliveries');
    firstHookId = (await prisma.hook.findFirstOrThrow({ orderBy: { id: 'asc' } })).id;
    expect(await prisma.delivery.count()).toBe(DELIVERIES);
  });
  afterAll(async () => {
    await counted?.$disconnect();
    await db?.close();
  });

  /** Runs `action`, then EXPLAIN ANALYZEs each statement it sent that reads `deliveries d`/`deliveries`. */
  async function plansOf(action: () => Promise<unknown>, reads: RegExp): Promise<PlanNode[]> {
    statements = [];
    await action();
    const chosen = statements.filter((statement) => reads.test(statement.query));
    expect(chosen.length, 'statements caught').toBeGreaterThan(0);
    const plans: PlanNode[] = [];
    for (const { query, params } of chosen) {
      const values = JSON.parse(params) as unknown[];
      const [row] = await db.prisma.$queryRawUnsafe<Record<string, unknown>[]>(`EXPLAIN (ANALYZE, FORMAT JSON) ${query}`, ...values);
      const raw = Object.values(row!)[0];
      const [explained] = (typeof raw === 'string' ? JSON.parse(raw) : raw) as { Plan: PlanNode }[];
      plans.push(explained!.Plan);
    }
    return plans;
  }

  function expectRangeScan(plans: PlanNode[], label: string): number {
    let read = 0;
    for (const plan of plans) {
      const onDeliveries = nodes(plan).filter((node) => node['Relation Name'] === 'deliveries');
      expect(onDeliveries.length, `${label}: reads deliveries`).toBeGreaterThan(0);
      for (const node of onDeliveries) {
        expect(node['Node Type'], `${label}: ${JSON.stringify(plan)}`).not.toBe('Seq Scan');
        // An index scan in the page's order, or (the planner's choice when the matching rows are
        // few) a bitmap of just those rows; either way an index chose them, and the bound below holds.
        expect(node['Node Type'], label).toMatch(/^(Index Scan|Index Only Scan|Bitmap Heap Scan)$/);
        read += (node['Actual Rows'] + (node['Rows Removed by Filter'] ?? 0)) * node['Actual Loops'];
      }
    }
    expect(read, `${label}: rows of deliveries read`).toBeLessThanOrEqual(MAX_ROWS_READ);
    return read;
  }

  const middle = { createdAt: second(DELIVERIES / 2), id: DELIVERIES / 2 };
  const cases: [string, Actor, DeliveryFilter, Omit<DeliveryPageRequest, 'limit'>][] = [
    ['admin, no filter', admin, {}, {}],
    ['admin, no filter, after a cursor in the middle', admin, {}, { after: middle }],
    ['admin, no filter, last page before a cursor', admin, {}, { before: middle, inverted: true }],
    ['admin, status', admin, { status: 'FAILED' }, {}],
    ['admin, status, after a cursor', admin, { status: 'FAILED' }, { after: middle }],
    ['admin, event', admin, { event: 'job:fail' }, {}],
    ['admin, created window', admin, { createdAfter: second(20_000), createdBefore: second(30_000) }, {}],
    ['admin, created window, last page', admin, { createdAfter: second(20_000), createdBefore: second(30_000) }, { inverted: true }],
    ['hook', admin, { hookId: -1 }, {}],
    ['hook and status', admin, { hookId: -1, status: 'PENDING' }, {}],
    [
      'every filter',
      admin,
      { hookId: -1, status: 'RETRYING', event: 'build:complete', createdAfter: second(10_000), createdBefore: second(90_000) },
      { after: middle },
    ],
    ['non-admin (20 hooks), no filter', ns3, {}, {}],
    ['non-admin, status and window', ns3, { status: 'FAILED', createdBefore: second(70_000) }, { after: middle }],
  ];

  it.each(cases)('%s: an index range scan reading a page, not the log', async (label, actor, given, page) => {
    const filter = given.hookId === -1 ? { ...given, hookId: firstHookId + 7 } : given;
    let ids: number[] = [];
    const plans = await plansOf(async () => {
      ids = await services.deliverySearch.page(actor, filter, { limit: 21, ...page });
    }, /FROM deliveries d|JOIN LATERAL/);
    expect(ids.length, `${label}: a full page`).toBe(21);
    expectRangeScan(plans, label);
  });

  it('the deliveryUpdated catch-up reads the changes since the cursor, not the log', async () => {
    const since = { updatedAt: second(DELIVERIES - 300), id: 0 };
    for (const [label, actor, hookId] of [
      ['admin, all hooks', admin, null],
      ['admin, one hook', admin, firstHookId],
      ['non-admin', ns3, null],
    ] as const) {
      let changed: unknown[] = [];
      const plans = await plansOf(async () => {
        changed = await services.deliverySearch.changedSince(actor, hookId, since, 500);
      }, /FROM deliveries/);
      expect(changed.length, label).toBeGreaterThan(0);
      expectRangeScan(plans, label);
    }
  });
});
