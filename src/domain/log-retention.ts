// What the delivery log keeps, and for how long: a rule of the log, carried out in batches by
// src/delivery/retention.ts.
//
// A delivery is history once it is finished (succeeded, or failed for good): it is kept for the
// retention after its last change (the attempt that finished it, or a later redelivery), then goes
// with its attempts. A pending or retrying delivery is work still to do and is never removed,
// whatever its age. An event is kept while any of its deliveries is; once none is left, its payload
// has nothing to be sent or shown for and goes too.
import type { DeliveryStatus } from '../generated/prisma/enums';

/** The statuses of finished deliveries: the only ones retention removes. */
export const FINISHED_STATUSES = ['SUCCEEDED', 'FAILED'] as const satisfies readonly DeliveryStatus[];

/** Finished deliveries last changed before this moment are expired. */
export function retentionCutoff(now: Date, retentionMs: number): Date {
  return new Date(now.getTime() - retentionMs);
}

export function isFinished(status: DeliveryStatus): boolean {
  return (FINISHED_STATUSES as readonly DeliveryStatus[]).includes(status);
}

/** Whether a delivery (with its attempts) is past the retention. */
export function isDeliveryExpired(delivery: { status: DeliveryStatus; updatedAt: Date }, cutoff: Date): boolean {
  return isFinished(delivery.status) && delivery.updatedAt < cutoff;
}

/**
 * Whether an event (with its payload) is past the retention: none of its deliveries is left, and
 * it is older than the retention itself (an event published just now with no matching hook is
 * still shown for the retention, like any other recent entry).
 */
export function isEventExpired(event: { createdAt: Date; remainingDeliveries: number }, cutoff: Date): boolean {
  return event.remainingDeliveries === 0 && event.createdAt < cutoff;
}
