// `deliveryUpdated(after:)`: the changes a reconnecting subscriber missed, then the live ones.
//
// No gap: listening starts before the catch-up is read, so a change committed after that read is
// heard live, and one committed before it is in the read. A change's `updated_at` is taken when it
// is made, a little before it commits, so another change can commit after the cursor's with an
// older time: the catch-up starts CATCH_UP_OVERLAP before the cursor (only the cursor's own
// version is left out), and a client applies what it receives by id. No repeat across the switch
// from catch-up to live: the transport reports the version of each delivery it sent; a live
// notification whose delivery is still at a version already sent is dropped.

import type { DeliveryUpdate } from '../domain/delivery-operations';
import type { ChangedDelivery, ChangePosition } from '../domain/delivery-search';

/** Catch-up rows read per statement: memory stays bounded whatever the window holds. */
export const CATCH_UP_BATCH = 500;
/** How far before the cursor's change the catch-up starts: longer than a change takes to commit. */
export const CATCH_UP_OVERLAP = 5_000;
/** Versions remembered to drop repeats; far more than one switch from catch-up to live needs. */
const REMEMBERED_VERSIONS = 50_000;

export interface CatchUpSource {
  /** Deliveries changed after `after`, in the order of their changes, at most `limit`. */
  changedSince(after: ChangePosition, limit: number): Promise<ChangedDelivery[]>;
  /** The delivery's current `updated_at` (null once deleted). */
  versionOf(deliveryId: number): Promise<Date | null>;
}

/** `withReader` gives a caught-up row what a live update carries besides its ids. */
export async function* catchUpThenLive<U extends DeliveryUpdate>(
  after: ChangePosition,
  source: CatchUpSource,
  live: AsyncIterable<U>,
  withReader: (update: DeliveryUpdate) => U,
): AsyncGenerator<U> {
  const sent = new Map<number, number>();
  const delivered = (deliveryId: number) => (updatedAt: Date) => {
    if (sent.size >= REMEMBERED_VERSIONS) sent.clear();
    sent.set(deliveryId, Math.max(sent.get(deliveryId) ?? 0, updatedAt.getTime()));
  };
  let position: ChangePosition = { updatedAt: new Date(after.updatedAt.getTime() - CATCH_UP_OVERLAP), id: 0 };
  for (;;) {
    const changed = await source.changedSince(position, CATCH_UP_BATCH);
    for (const row of changed) {
      // The version the cursor names is the one the client has.
      if (row.id === after.id && row.updatedAt.getTime() === after.updatedAt.getTime()) continue;
      yield withReader({ deliveryId: row.id, hookId: row.hookId, delivered: delivered(row.id) });
    }
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
