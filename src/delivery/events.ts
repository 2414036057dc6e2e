// Delivery state changes and "work is due" signals, across every process sharing the database:
// PostgreSQL LISTEN/NOTIFY (the process's shared notification connection), or in-process only for
// PGlite (one process).
// Redis is not used even when REDIS_URL is set: NOTIFY already reaches every process on one
// PostgreSQL, and no Redis client is a dependency yet.
import { EventEmitter, on } from 'node:events';
import type { Notifications } from '../db/notifications';
import type { DeliveryUpdate } from '../domain/delivery-operations';
import { Prisma } from '../generated/prisma/client';

const UPDATES_CHANNEL = 'hookgate_delivery_updates';
const DUE_CHANNEL = 'hookgate_deliveries_due';
/** NOTIFY payloads must stay under 8000 bytes; `id:hook` pairs are short, so 300 fit easily. */
export const UPDATES_PER_NOTIFY = 300;

/** All of `statements` as one `SELECT pg_notify(…), …` (one round trip), or null when there are none. */
export function notifySql(statements: readonly NotifyStatement[]): Prisma.Sql | null {
  if (statements.length === 0) return null;
  return Prisma.sql`SELECT ${Prisma.join(statements.map((s) => Prisma.sql`pg_notify(${s.channel}, ${s.payload})`))}`;
}

export interface NotifyStatement {
  channel: string;
  payload: string;
}

export class DeliveryEvents {
  private readonly emitter = new EventEmitter();

  /** `notifications` reach every process on one PostgreSQL; null for PGlite, where everything stays in this process. */
  constructor(private readonly notifications: Notifications | null) {
    this.emitter.setMaxListeners(0);
  }

  get crossProcess(): boolean {
    return this.notifications !== null;
  }

  async start(): Promise<void> {
    if (!this.notifications) return;
    await this.notifications.listen(UPDATES_CHANNEL, (payload) => {
      if (payload) this.deliver(parseUpdates(payload), false);
    });
    await this.notifications.listen(DUE_CHANNEL, () => this.deliver([], true));
    // Signals missed while the connection was down: the workers look for due work at once.
    this.notifications.onGap(() => this.deliver([], true));
  }

  /**
   * NOTIFY statements to run inside the transaction that makes the change, so other processes hear
   * of it exactly when it commits. Empty for PGlite: call `emitLocal` after the commit instead.
   */
  notifyStatements(updates: readonly DeliveryUpdate[], due: boolean): NotifyStatement[] {
    if (!this.notifications) return [];
    const statements: NotifyStatement[] = [];
    for (let start = 0; start < updates.length; start += UPDATES_PER_NOTIFY) {
      const payload = updates
        .slice(start, start + UPDATES_PER_NOTIFY)
        .map((u) => `${u.deliveryId}:${u.hookId}`)
        .join(',');
      statements.push({ channel: UPDATES_CHANNEL, payload });
    }
    if (due) statements.push({ channel: DUE_CHANNEL, payload: '' });
    return statements;
  }

  /**
   * `notifyStatements` for updates only the statement itself knows (rows it kept): a select-list
   * item that NOTIFYs its group's `deliveryId:hookId` pairs, in the payload format `start` parses.
   * The statement groups its rows at most UPDATES_PER_NOTIFY at a time. Null for PGlite.
   */
  notifyUpdatesAggregate(deliveryId: Prisma.Sql, hookId: Prisma.Sql): Prisma.Sql | null {
    if (!this.notifications) return null;
    // pg_notify returns void, which the driver cannot read back: the `IS NULL` makes it a boolean.
    return Prisma.sql`(pg_notify(${UPDATES_CHANNEL}, string_agg(${deliveryId}::text || ':' || ${hookId}::text, ',')) IS NULL)`;
  }

  /** After a commit: tells this process's listeners (PostgreSQL's do hear it through NOTIFY). */
  emitLocal(updates: readonly DeliveryUpdate[], due: boolean): void {
    if (this.notifications) return;
    this.deliver(updates, due);
  }

  onDue(listener: () => void): () => void {
    this.emitter.on('due', listener);
    return () => this.emitter.off('due', listener);
  }

  /** Every update from this call on (listening starts at once, not at the first `next()`), until `signal` aborts. */
  updates(signal?: AbortSignal): AsyncIterable<DeliveryUpdate> {
    const source = on(this.emitter, 'update', signal ? { signal } : {});
    return {
      async *[Symbol.asyncIterator]() {
        try {
          for await (const [update] of source) yield update as DeliveryUpdate;
        } catch (error) {
          if (!(error instanceof Error && error.name === 'AbortError')) throw error;
        }
      },
    };
  }

  private deliver(updates: readonly DeliveryUpdate[], due: boolean): void {
    for (const update of updates) this.emitter.emit('update', update);
    if (due) this.emitter.emit('due');
  }
}

function parseUpdates(payload: string): DeliveryUpdate[] {
  return payload.split(',').flatMap((pair) => {
    const [delivery, hook] = pair.split(':').map(Number);
    return Number.isInteger(delivery) && Number.isInteger(hook) ? [{ deliveryId: delivery!, hookId: hook! }] : [];
  });
}
