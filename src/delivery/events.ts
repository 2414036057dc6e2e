// Delivery state changes and "work is due" signals, across every process sharing the database:
// PostgreSQL LISTEN/NOTIFY on a dedicated connection, or in-process only for PGlite (one process).
// Redis is not used even when REDIS_URL is set: NOTIFY already reaches every process on one
// PostgreSQL, and no Redis client is a dependency yet.
import { EventEmitter, on } from 'node:events';
import pg from 'pg';
import { Prisma } from '../generated/prisma/client';
import type { Logger } from '../logger';
import type { DeliveryUpdate } from '../domain/delivery-operations';

const UPDATES_CHANNEL = 'hookgate_delivery_updates';
const DUE_CHANNEL = 'hookgate_deliveries_due';
/** NOTIFY payloads must stay under 8000 bytes; `id:hook` pairs are short, so 300 fit easily. */
const UPDATES_PER_NOTIFY = 300;

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
  private client: pg.Client | null = null;
  private closed = false;
  private reconnectTimer: NodeJS.Timeout | undefined;

  /** `listenUrl` is the PostgreSQL URL; null for PGlite, where everything stays in this process. */
  constructor(private readonly listenUrl: string | null, private readonly logger: Logger) {
    this.emitter.setMaxListeners(0);
  }

  get crossProcess(): boolean {
    return this.listenUrl !== null;
  }

  async start(): Promise<void> {
    if (!this.listenUrl) return;
    await this.connect();
  }

  /**
   * NOTIFY statements to run inside the transaction that makes the change, so other processes hear
   * of it exactly when it commits. Empty for PGlite: call `emitLocal` after the commit instead.
   */
  notifyStatements(updates: readonly DeliveryUpdate[], due: boolean): NotifyStatement[] {
    if (!this.listenUrl) return [];
    const statements: NotifyStatement[] = [];
    for (let start = 0; start < updates.length; start += UPDATES_PER_NOTIFY) {
      const payload = updates.slice(start, start + UPDATES_PER_NOTIFY).map((u) => `${u.deliveryId}:${u.hookId}`).join(',');
      statements.push({ channel: UPDATES_CHANNEL, payload });
    }
    if (due) statements.push({ channel: DUE_CHANNEL, payload: '' });
    return statements;
  }

  /** After a commit: tells this process's listeners (PostgreSQL's do hear it through NOTIFY). */
  emitLocal(updates: readonly DeliveryUpdate[], due: boolean): void {
    if (this.listenUrl) return;
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

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.reconnectTimer);
    const client = this.client;
    this.client = null;
    await client?.end().catch(() => {});
  }

  private deliver(updates: readonly DeliveryUpdate[], due: boolean): void {
    for (const update of updates) this.emitter.emit('update', update);
    if (due) this.emitter.emit('due');
  }

  private async connect(): Promise<void> {
    const client = new pg.Client({ connectionString: this.listenUrl! });
    client.on('notification', (message) => {
      if (message.channel === DUE_CHANNEL) this.deliver([], true);
      else if (message.channel === UPDATES_CHANNEL && message.payload) this.deliver(parseUpdates(message.payload), false);
    });
    // A lost connection is replaced; updates sent meanwhile are missed, the worker pool's polling is not.
    client.on('error', (error) => {
      this.logger.warn({ err: error }, 'delivery notification connection lost; reconnecting');
      this.scheduleReconnect(client);
    });
    client.on('end', () => this.scheduleReconnect(client));
    await client.connect();
    await client.query(`LISTEN ${UPDATES_CHANNEL}`);
    await client.query(`LISTEN ${DUE_CHANNEL}`);
    if (this.closed) {
      await client.end();
      return;
    }
    this.client = client;
  }

  private scheduleReconnect(client: pg.Client): void {
    if (this.closed || this.client !== client) return;
    this.client = null;
    client.end().catch(() => {});
    this.reconnectTimer = setTimeout(() => {
      this.connect().catch((error: unknown) => {
        this.logger.warn({ err: error }, 'could not reconnect the delivery notification connection');
        this.client = client;
        this.scheduleReconnect(client);
      });
    }, 1_000);
    this.reconnectTimer.unref();
  }
}

function parseUpdates(payload: string): DeliveryUpdate[] {
  return payload.split(',').flatMap((pair) => {
    const [delivery, hook] = pair.split(':').map(Number);
    return Number.isInteger(delivery) && Number.isInteger(hook) ? [{ deliveryId: delivery!, hookId: hook! }] : [];
  });
}
