// Operational events (hook_temporarily_disabled, hook_disabled, hook_enabled): published through
// the outbox, in the transaction that changes the hook, to every active system hook but the one
// the event is about (the domain builds the event: hook-health.ts).

import { type AlertAnnouncer, type AlertChange, operationalEvent } from '../domain/hook-health';
import type { Prisma } from '../generated/prisma/client';
import { type DeliveryEvents, notifySql } from './events';
import type { Outbox } from './outbox';

export class OperationalEvents implements AlertAnnouncer {
  constructor(
    private readonly outbox: Outbox,
    private readonly events: DeliveryEvents,
  ) {}

  async announce(client: Prisma.TransactionClient, changes: readonly AlertChange[], now: Date): Promise<void> {
    const updates = [];
    for (const change of changes) {
      const { name, payload, excludeHookId } = operationalEvent(change);
      const published = await this.outbox.insert(
        client,
        { name, subjectType: null, subject: null, ref: null, payload: payload as Prisma.InputJsonObject },
        now,
        { excludeHookId },
      );
      for (const delivery of published?.deliveries ?? []) updates.push({ deliveryId: delivery.id, hookId: delivery.hookId });
    }
    if (updates.length === 0) return;
    // PostgreSQL: NOTIFY inside the transaction is heard when it commits. PGlite: one connection,
    // so the workers this wakes read only after the commit (and poll besides).
    const notify = notifySql(this.events.notifyStatements(updates, true));
    if (notify) await client.$executeRaw(notify);
    this.events.emitLocal(updates, true);
  }
}
