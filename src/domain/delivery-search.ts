// Finding deliveries across hooks: which ones an actor may see (the same rule as `Hook.deliveries`
// and `delivery(id)`: the deliveries of the hooks `HookService.visibleWhere` lets it see), filtered
// and paged newest first, and the changes made since a cursor (the `deliveryUpdated` catch-up).
//
// Every page is an index range scan: newest first means by (created_at, id), and the migration
// `deliveries_search` indexes that order under each combination of the equality filters (none,
// status, hook, hook and status). A caller limited to some hooks reads each hook's page from its
// own index range (`LATERAL … LIMIT`) and keeps the newest: the cost is hooks × page, whatever the
// history. Hooks a non-admin sees are bounded by HOOKGATE_MAX_HOOKS_PER_NAMESPACE.
import type { PrismaClient } from '../generated/prisma/client';
import { Prisma } from '../generated/prisma/client';
import type { DeliveryStatus } from '../generated/prisma/enums';
import type { Actor } from './actor';
import { ValidationError } from './errors';
import { hasNul } from './hook-rules';
import type { HookService } from './hooks';

export interface DeliveryFilter {
  hookId?: number | null;
  status?: DeliveryStatus | null;
  /** The event's name (`build:complete`, `push`, …). */
  event?: string | null;
  /** Created at or after this instant. */
  createdAfter?: Date | null;
  /** Created strictly before this instant. */
  createdBefore?: Date | null;
}

/** A delivery's place in the newest-first order. */
export interface DeliveryPosition {
  createdAt: Date;
  id: number;
}

/** A delivery's place in the log of changes (its latest `updated_at`). */
export interface ChangePosition {
  updatedAt: Date;
  id: number;
}

export interface DeliveryPageRequest {
  /** Older than this (newest-first order). */
  after?: DeliveryPosition | null;
  /** Newer than this. */
  before?: DeliveryPosition | null;
  limit: number;
  /** Oldest first (the end of the range, for `last`). */
  inverted?: boolean;
}

export interface ChangedDelivery {
  id: number;
  hookId: number;
  updatedAt: Date;
}

/** Hooks whose deliveries are in scope: null for all of them (an administrator, no hook filter). */
type HookScope = number[] | null;

/**
 * The catch-up window of `deliveryUpdated(after:)`: the delivery log's retention. A cursor older
 * than that may have lost changes to pruning, so it is refused rather than answered incompletely.
 */
export function checkCatchUpWindow(after: ChangePosition, now: Date, retentionMs: number): void {
  if (after.updatedAt.getTime() < now.getTime() - retentionMs) {
    const days = retentionMs / 86_400_000;
    const window = Number.isInteger(days) ? `${days} day${days === 1 ? '' : 's'}` : `${Math.round(retentionMs / 60_000)} minutes`;
    throw ValidationError.of(
      'after',
      `is older than the catch-up window (${window}, HOOKGATE_LOG_RETENTION): load the deliveries again and subscribe without it`,
    );
  }
}

export class DeliverySearch {
  constructor(
    private readonly prisma: PrismaClient,
    private readonly hooks: HookService,
  ) {}

  /** Ids of one page of the deliveries `actor` may see, in the order asked for. */
  async page(actor: Actor, filter: DeliveryFilter, page: DeliveryPageRequest): Promise<number[]> {
    const scope = await this.scope(actor, filter.hookId ?? null);
    if ((scope && scope.length === 0) || matchesNothing(filter)) return [];
    const direction = Prisma.raw(page.inverted ? 'ASC' : 'DESC');
    const conditions = [
      ...filterConditions(filter),
      ...(page.after ? [Prisma.sql`(d.created_at, d.id) < (${page.after.createdAt}::timestamptz, ${page.after.id}::int)`] : []),
      ...(page.before ? [Prisma.sql`(d.created_at, d.id) > (${page.before.createdAt}::timestamptz, ${page.before.id}::int)`] : []),
    ];
    const where = conditions.length > 0 ? Prisma.sql`AND ${Prisma.join(conditions, ' AND ')}` : Prisma.empty;
    const rows =
      scope === null
        ? await this.prisma.$queryRaw<{ id: number }[]>`
          SELECT d.id FROM deliveries d WHERE true ${where}
          ORDER BY d.created_at ${direction}, d.id ${direction} LIMIT ${page.limit}`
        : await this.prisma.$queryRaw<{ id: number }[]>`
          SELECT d.id FROM unnest(${scope}::int[]) AS h(id)
          CROSS JOIN LATERAL (
            SELECT d.id, d.created_at FROM deliveries d WHERE d.hook_id = h.id ${where}
            ORDER BY d.created_at ${direction}, d.id ${direction} LIMIT ${page.limit}
          ) AS d
          ORDER BY d.created_at ${direction}, d.id ${direction} LIMIT ${page.limit}`;
    return rows.map((row) => row.id);
  }

  /** How many deliveries `actor` may see match `filter` (this one does grow with the log). */
  async count(actor: Actor, filter: DeliveryFilter): Promise<number> {
    const scope = await this.scope(actor, filter.hookId ?? null);
    if ((scope && scope.length === 0) || matchesNothing(filter)) return 0;
    const conditions = [...filterConditions(filter), ...(scope ? [Prisma.sql`d.hook_id = ANY(${scope}::int[])`] : [])];
    const where = conditions.length > 0 ? Prisma.sql`WHERE ${Prisma.join(conditions, ' AND ')}` : Prisma.empty;
    const [row] = await this.prisma.$queryRaw<{ count: number }[]>`SELECT count(*)::int AS count FROM deliveries d ${where}`;
    return row?.count ?? 0;
  }

  /**
   * Deliveries `actor` may see (of one hook, or all) changed after `after`, in the order of their
   * changes, at most `limit`: page on with the last one's position.
   */
  async changedSince(actor: Actor, hookId: number | null, after: ChangePosition, limit: number): Promise<ChangedDelivery[]> {
    const scope = await this.scope(actor, hookId);
    if (scope && scope.length === 0) return [];
    const hooks = scope ? Prisma.sql`AND hook_id = ANY(${scope}::int[])` : Prisma.empty;
    return this.prisma.$queryRaw<ChangedDelivery[]>`
      SELECT id, hook_id AS "hookId", updated_at AS "updatedAt" FROM deliveries
      WHERE (updated_at, id) > (${after.updatedAt}::timestamptz, ${after.id}::int) ${hooks}
      ORDER BY updated_at, id LIMIT ${limit}`;
  }

  /** The hooks in scope: the visibility rule of `HookService`, narrowed to `hookId` when given. */
  private async scope(actor: Actor, hookId: number | null): Promise<HookScope> {
    if (hookId === null && actor.isAdmin) return null;
    const where = this.hooks.visibleWhere(actor);
    const hooks = await this.prisma.hook.findMany({
      where: hookId === null ? where : { AND: [where, { id: hookId }] },
      select: { id: true },
      orderBy: { id: 'asc' },
    });
    return hooks.map((hook) => hook.id);
  }
}

/** Conditions over `deliveries d` for everything in the filter but the hook. */
function filterConditions(filter: DeliveryFilter): Prisma.Sql[] {
  return [
    ...(filter.status ? [Prisma.sql`d.status = ${filter.status}::delivery_status`] : []),
    // Per row looked at, one primary-key probe of its event; the range scan stops at the page.
    ...(filter.event != null ? [Prisma.sql`EXISTS (SELECT 1 FROM events e WHERE e.id = d.event_id AND e.name = ${filter.event})`] : []),
    ...(filter.createdAfter ? [Prisma.sql`d.created_at >= ${filter.createdAfter}::timestamptz`] : []),
    ...(filter.createdBefore ? [Prisma.sql`d.created_at < ${filter.createdBefore}::timestamptz`] : []),
  ];
}

/** No event name holds NUL (PostgreSQL would refuse the comparison): such a filter matches nothing. */
function matchesNothing(filter: DeliveryFilter): boolean {
  return filter.event != null && hasNul(filter.event);
}
