// Deliveries as a first-class connection: `Query.deliveries(filter:)` across every hook the caller
// may see, `redeliverFailed` to recover a hook's failed range, the headers of each attempt and the
// cursor of a delivery's latest change (for `deliveryUpdated(after:)`). Which deliveries a caller
// sees and how a page is chosen is the domain's `DeliverySearch`; this file only translates.
import { queryFromInfo } from '@pothos/plugin-prisma';
import { resolveCursorConnection } from '@pothos/plugin-relay';
import type { GraphQLResolveInfo } from 'graphql';
import type { DeliveryFilter as DomainDeliveryFilter } from '../../domain/delivery-search';
import { LIMITS } from '../../domain/limits';
import type { Delivery as DeliveryRow, Prisma } from '../../generated/prisma/client';
import type { DeliveryStatus } from '../../generated/prisma/enums';
import { builder, PAGE_SIZE, pageComplexity, UserError, type UserErrorsPayload } from '../builder';
import type { GraphQLContext } from '../context';
import { changeCursor, listCursor, parseListCursor } from '../delivery-cursors';
import { decodeId } from '../errors';
import { Delivery, DeliveryConnection } from './delivery';
import { DeliveryStatusEnum } from './enums';

const DeliveryFilter = builder.inputType('DeliveryFilter', {
  fields: (t) => ({
    hookId: t.id({ required: false }),
    status: t.field({ type: DeliveryStatusEnum, required: false }),
    event: t.string({ required: false, description: 'The event name: `build:complete`, `push`, …', validate: { maxLength: LIMITS.eventNameLength } }),
    createdAfter: t.field({ type: 'DateTime', required: false, description: 'Created at or after this instant.' }),
    createdBefore: t.field({ type: 'DateTime', required: false, description: 'Created before this instant.' }),
  }),
});

interface DeliveryFilterArgs {
  hookId?: string | number | null;
  status?: DeliveryStatus | null;
  event?: string | null;
  createdAfter?: Date | null;
  createdBefore?: Date | null;
}

interface DeliveriesArgs {
  first?: number | null;
  last?: number | null;
  after?: string | null;
  before?: string | null;
  filter?: DeliveryFilterArgs | null;
}

type DeliveryQuery = Pick<Prisma.DeliveryFindManyArgs, 'select' | 'include'>;

function domainFilter(filter: DeliveryFilterArgs | null | undefined): DomainDeliveryFilter {
  if (!filter) return {};
  return {
    hookId: filter.hookId == null ? null : decodeId(String(filter.hookId), 'Hook', ['filter', 'hookId']),
    status: filter.status ?? null,
    event: filter.event ?? null,
    createdAfter: filter.createdAfter ?? null,
    createdBefore: filter.createdBefore ?? null,
  };
}

/**
 * One page: the domain picks the ids (an index range scan), then one statement loads them with
 * what the request selects (event, attempts, …). `totalCount` is counted only when asked for.
 */
async function resolveDeliveries(context: GraphQLContext, info: GraphQLResolveInfo, args: DeliveriesArgs) {
  const actor = context.actor!;
  const filter = domainFilter(args.filter);
  const search = context.services.deliverySearch;
  // Also tells Pothos that the nested fields are loaded, so they resolve from these rows.
  const query = queryFromInfo({ context, info, typeName: 'Delivery', paths: [['nodes'], ['edges', 'node']] }) as DeliveryQuery;
  const connection = await resolveCursorConnection<Promise<DeliveryRow[]>>(
    { args, toCursor: listCursor, defaultSize: PAGE_SIZE.default, maxSize: PAGE_SIZE.max },
    async (page): Promise<DeliveryRow[]> => {
      const ids = await search.page(actor, filter, {
        after: parseListCursor(page.after),
        before: parseListCursor(page.before),
        limit: page.limit,
        inverted: page.inverted,
      });
      if (ids.length === 0) return [];
      const rows = (await context.prisma.delivery.findMany({ ...query, where: { id: { in: ids } } })) as DeliveryRow[];
      const byId = new Map(rows.map((row) => [row.id, row]));
      // In the order chosen; one deleted in between is simply left out.
      return ids.flatMap((id) => byId.get(id) ?? []);
    },
  );
  return { ...connection, totalCount: () => search.count(actor, filter) };
}

builder.queryField('deliveries', (t) =>
  t.connection(
    {
      type: Delivery,
      description: "Every delivery the caller may see (its hooks' deliveries), newest first (at most 100 a page).",
      args: { filter: t.arg({ type: DeliveryFilter, required: false }) },
      complexity: pageComplexity,
      resolve: (_root, args, context, info) => resolveDeliveries(context, info, args),
    },
    DeliveryConnection,
  ),
);

builder.prismaObjectFields('DeliveryAttempt', (t) => ({
  requestHeaders: t.expose('requestHeaders', {
    type: 'JSON',
    description: 'As sent, with signatures, tokens and custom header values replaced by `[redacted]`.',
  }),
  responseHeaders: t.expose('responseHeaders', { type: 'JSON', nullable: true, description: 'Null when no answer came.' }),
}));

builder.prismaObjectField('Delivery', 'updateCursor', (t) =>
  t.string({
    description: "The position of this delivery's latest change: `deliveryUpdated(after:)` sends every change since.",
    resolve: (delivery) => changeCursor(delivery),
  }),
);

interface RedeliverFailedPayload extends UserErrorsPayload {
  count?: number;
}

builder.relayMutationField(
  'redeliverFailed',
  {
    inputFields: (t) => ({
      hookId: t.id({ required: true }),
      since: t.field({ type: 'DateTime', required: true, description: 'Deliveries created at or after this instant.' }),
      until: t.field({ type: 'DateTime', required: false, description: 'Created before this instant (default: now).' }),
    }),
  },
  {
    description: 'Schedules every FAILED delivery of the hook created in the window again, now, with the same `webhook-id` (at most 10,000).',
    resolve: async (_root, { input }, context): Promise<RedeliverFailedPayload> => {
      const hookId = decodeId(String(input.hookId), 'Hook', ['input', 'hookId']);
      const count = await context.services.deliveries.redeliverFailed(context.actor!, hookId, { since: input.since, until: input.until ?? null });
      return { count, userErrors: [] };
    },
  },
  {
    outputFields: (t) => ({
      count: t.int({ description: 'How many were scheduled (0 with user errors).', resolve: (payload) => payload.count ?? 0 }),
      userErrors: t.field({ type: [UserError], resolve: (payload) => payload.userErrors ?? [] }),
    }),
  },
);
