// `deliveryUpdated(after:)`: the changes a reconnecting subscriber missed, then the live ones.
//
// No gap: listening starts before the catch-up is read, so a change committed after that read is
// heard live, and one committed before it is in the read. No repeat: the transport reports the
// version (`updated_at`) of each delivery it sent; a live notification whose delivery is still at
// a version already sent (the catch-up read it, or an earlier notification did) is dropped.
import type { ChangePosition, ChangedDelivery } from '../domain/delivery-search';
import type { DeliveryUpdate } from '../domain/delivery-operations';

/** Catch-up rows read per statement: memory stays bounded whatever the window holds. */
export const CATCH_UP_BATCH = 500;
/** Versions remembered to drop repeats; far more than one switch from catch-up to live needs. */
const REMEMBERED_VERSIONS = 50_000;

export interface CatchUpSource {
  /** Deliveries changed after `after`, in the order of their changes, at most `limit`. */
  changedSince(after: ChangePosition, limit: number): Promise<ChangedDelivery[]>;
  /** The delivery's current `updated_at` (null once deleted). */
  versionOf(deliveryId: number): Promise<Date | null>;
}

export async function* catchUpThenLive(after: ChangePosition, source: CatchUpSource, live: AsyncIterable<DeliveryUpdate>): AsyncGenerator<DeliveryUpdate> {
  const sent = new Map<number, number>();
  const delivered = (deliveryId: number) => (updatedAt: Date) => {
    if (sent.size >= REMEMBERED_VERSIONS) sent.clear();
    sent.set(deliveryId, Math.max(sent.get(deliveryId) ?? 0, updatedAt.getTime()));
  };
  let position = after;
  for (;;) {
    const changed = await source.changedSince(position, CATCH_UP_BATCH);
    for (const row of changed) yield { deliveryId: row.id, hookId: row.hookId, delivered: delivered(row.id) };
    const last = changed.at(-1);
    if (!last || changed.length < CATCH_UP_BATCH) break;
    position = { updatedAt: last.updatedAt, id: last.id };
  }
  for await (const update of live) {
    const version = sent.get(update.deliveryId);
    if (version !== undefined) {
      const current = await source.versionOf(update.deliveryId);
      if (current === null || current.getTime() <= version) continue;
    }
    yield { ...update, delivered: delivered(update.deliveryId) };
  }
}
