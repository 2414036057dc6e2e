// `Hook.deliveries` for a whole page of hooks in one statement per page shape.
//
// plugin-prisma would join the deliveries into the hooks query, but Prisma's relation joins build
// every delivery of a hook (and its attempts) before keeping the newest few, so a page would cost
// as much as all the hooks' history. Here each hook's page is an index range scan on
// (hook_id, id) under `LATERAL … LIMIT`: its cost is the rows shown, whatever the history.
import { createContextCache } from '@pothos/core';
import { queryFromInfo } from '@pothos/plugin-prisma';
import { type ResolveCursorConnectionArgs, resolveCursorConnection } from '@pothos/plugin-relay';
import DataLoader from 'dataloader';
import { GraphQLError, type GraphQLResolveInfo } from 'graphql';
import type { Delivery } from '../generated/prisma/client';
import { Prisma } from '../generated/prisma/client';
import type { DeliveryStatus } from '../generated/prisma/enums';
import { PAGE_SIZE } from './builder';
import type { GraphQLContext } from './context';
import { deliveryJson, reviveDates } from './delivery-json-sql';

export interface HookDeliveriesArgs {
  first?: number | null;
  last?: number | null;
  before?: string | null;
  after?: string | null;
  status?: DeliveryStatus | null;
}

/** Prisma's `select`/`include` for what the request asks of each delivery (from `queryFromInfo`). */
type DeliveryQuery = Pick<Prisma.DeliveryFindManyArgs, 'select' | 'include'>;

interface PageKey extends ResolveCursorConnectionArgs {
  hookId: number;
  status: DeliveryStatus | null;
  query: DeliveryQuery;
  /** Everything but the hook, as text: hooks whose pages share it load together. Made once per key. */
  shape: string;
}

const CURSOR_PREFIX = 'delivery:';

function toCursor(delivery: Delivery): string {
  return Buffer.from(`${CURSOR_PREFIX}${delivery.id}`).toString('base64url');
}

function parseCursor(cursor: string | undefined): number | null {
  if (cursor === undefined) return null;
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  const id = text.startsWith(CURSOR_PREFIX) ? Number(text.slice(CURSOR_PREFIX.length)) : Number.NaN;
  if (!Number.isSafeInteger(id) || id < 1) {
    throw new GraphQLError(`Invalid cursor: ${JSON.stringify(cursor)}`, { extensions: { code: 'BAD_USER_INPUT' } });
  }
  return id;
}

/**
 * Two statements per distinct page shape (in practice per request): the ids of every hook's page
 * at once, then those deliveries with what the request selects of them (attempts, event, …).
 */
async function loadPages(context: GraphQLContext, keys: readonly PageKey[]): Promise<Delivery[][]> {
  const groups = new Map<string, { page: PageKey; hookIds: number[] }>();
  for (const key of keys) {
    const { shape } = key;
    const group = groups.get(shape) ?? { page: key, hookIds: [] };
    group.hookIds.push(key.hookId);
    groups.set(shape, group);
  }
  const pages = new Map<string, Delivery[]>();
  await Promise.all(
    [...groups.entries()].map(async ([shape, { page, hookIds }]) => {
      const after = parseCursor(page.after);
      const before = parseCursor(page.before);
      // Newest first: `after` a cursor is older (smaller ids), `before` it newer.
      const conditions = [
        page.status ? Prisma.sql`AND status = ${page.status}::delivery_status` : Prisma.empty,
        after !== null ? Prisma.sql`AND id < ${after}` : Prisma.empty,
        before !== null ? Prisma.sql`AND id > ${before}` : Prisma.empty,
      ];
      const json = deliveryJson(page.query as Parameters<typeof deliveryJson>[0]);
      if (json) {
        // One statement: each hook's page under `LATERAL … LIMIT`, built as JSON in PostgreSQL.
        const order = page.inverted ? Prisma.raw('ASC') : Prisma.raw('DESC');
        const loaded = await context.prisma.$queryRaw<{ hook_id: number; deliveries: string }[]>`
        SELECT h.id AS hook_id, json_agg(${json.object} ORDER BY d.id ${order})::text AS deliveries
        FROM unnest(${hookIds}::int[]) AS h(id)
        CROSS JOIN LATERAL (
          SELECT * FROM deliveries WHERE hook_id = h.id ${Prisma.join(conditions, ' ')} ORDER BY id ${order} LIMIT ${page.limit}
        ) AS d
        ${json.joinsEvent ? Prisma.sql`JOIN events e ON e.id = d.event_id` : Prisma.empty}
        GROUP BY h.id`;
        for (const hookId of hookIds) pages.set(`${shape}#${hookId}`, []);
        for (const { hook_id: hookId, deliveries } of loaded) {
          const rows = JSON.parse(deliveries) as Record<string, unknown>[];
          reviveDates(rows, json.dates);
          pages.set(`${shape}#${hookId}`, rows as unknown as Delivery[]);
        }
        return;
      }
      const chosen = await context.prisma.$queryRaw<{ id: number; hook_id: number }[]>`
      SELECT d.id, d.hook_id
      FROM unnest(${hookIds}::int[]) AS h(id)
      CROSS JOIN LATERAL (
        SELECT id, hook_id FROM deliveries WHERE hook_id = h.id ${Prisma.join(conditions, ' ')}
        ORDER BY id ${page.inverted ? Prisma.raw('ASC') : Prisma.raw('DESC')} LIMIT ${page.limit}
      ) AS d`;
      const rows = chosen.length === 0 ? [] : await context.prisma.delivery.findMany({ ...page.query, where: { id: { in: chosen.map((row) => row.id) } } });
      const byId = new Map(rows.map((row) => [row.id, row as Delivery]));
      for (const hookId of hookIds) pages.set(`${shape}#${hookId}`, []);
      // In the order the page was chosen; a delivery deleted in between is simply left out.
      for (const { id, hook_id: hookId } of chosen) {
        const row = byId.get(id);
        if (row) pages.get(`${shape}#${hookId}`)!.push(row);
      }
    }),
  );
  return keys.map((key) => pages.get(`${key.shape}#${key.hookId}`) ?? []);
}

/** Counts for `totalCount`, batched the same way. */
async function loadCounts(context: GraphQLContext, keys: readonly { hookId: number; status: DeliveryStatus | null }[]): Promise<number[]> {
  const statuses = [...new Set(keys.map((key) => key.status))];
  const counts = new Map<string, number>();
  await Promise.all(
    statuses.map(async (status) => {
      const hookIds = [...new Set(keys.filter((key) => key.status === status).map((key) => key.hookId))];
      const rows = await context.prisma.$queryRaw<{ hook_id: number; count: number }[]>`
      SELECT hook_id, count(*)::int AS count FROM deliveries
      WHERE hook_id = ANY(${hookIds}::int[]) ${status ? Prisma.sql`AND status = ${status}::delivery_status` : Prisma.empty}
      GROUP BY hook_id`;
      for (const row of rows) counts.set(`${status}#${row.hook_id}`, row.count);
    }),
  );
  return keys.map((key) => counts.get(`${key.status}#${key.hookId}`) ?? 0);
}

const loaders = createContextCache((context: GraphQLContext) => ({
  pages: new DataLoader<PageKey, Delivery[], string>((keys) => loadPages(context, keys), {
    cacheKeyFn: (key) => `${key.shape}#${key.hookId}`,
  }),
  counts: new DataLoader<{ hookId: number; status: DeliveryStatus | null }, number, string>((keys) => loadCounts(context, keys), {
    cacheKeyFn: (key) => `${key.status}#${key.hookId}`,
  }),
}));

/**
 * The connection for one hook (`info`: its `deliveries` field): its page now, its count when asked
 * for (`DeliveryConnection.totalCount`).
 */
export async function hookDeliveries(context: GraphQLContext, info: GraphQLResolveInfo, hookId: number, args: HookDeliveriesArgs) {
  const status = args.status ?? null;
  const { pages, counts } = loaders(context);
  // Also tells Pothos that the nested fields are loaded, so they resolve from these rows.
  const query = queryFromInfo({ context, info, typeName: 'Delivery', paths: [['nodes'], ['edges', 'node']] }) as DeliveryQuery;
  const connection = await resolveCursorConnection<Promise<Delivery[]>>({ args, toCursor, defaultSize: PAGE_SIZE.default, maxSize: PAGE_SIZE.max }, (page) =>
    pages.load({ hookId, status, query, ...page, shape: JSON.stringify([status, page.before, page.after, page.limit, page.inverted, query]) }),
  );
  return { ...connection, totalCount: () => counts.load({ hookId, status }) };
}
