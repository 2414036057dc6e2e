// LISTEN/NOTIFY for the parts of Hookgate that must hear of changes made by any process: one
// dedicated connection per process on PostgreSQL (replaced when lost), PGlite's own listener in-process.
import type { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import type { Logger } from '../logger';
import { OutageLog } from './availability';

export type NotificationHandler = (payload: string) => void;

export interface Notifications {
  /** Whether notifications are being heard now; while false, some may be missed. */
  readonly live: boolean;
  /** Starts hearing `channel` (a lowercase identifier); resolves once LISTEN is in place. */
  listen(channel: string, handler: NotificationHandler): Promise<void>;
  /**
   * Called whenever notifications may have been missed (the connection was lost) and again when
   * hearing resumes: whoever caches what notifications invalidate must forget it then.
   */
  onGap(handler: () => void): void;
  close(): Promise<void>;
}

const CHANNEL = /^[a-z_][a-z0-9_]{0,62}$/;

abstract class BaseNotifications implements Notifications {
  abstract readonly live: boolean;
  protected readonly handlers = new Map<string, NotificationHandler[]>();
  protected readonly gapHandlers: (() => void)[] = [];

  async listen(channel: string, handler: NotificationHandler): Promise<void> {
    if (!CHANNEL.test(channel)) throw new Error(`not a channel name: ${channel}`);
    const existing = this.handlers.get(channel);
    if (existing) {
      existing.push(handler);
      return;
    }
    this.handlers.set(channel, [handler]);
    await this.subscribe(channel);
  }

  onGap(handler: () => void): void {
    this.gapHandlers.push(handler);
  }

  protected dispatch(channel: string, payload: string): void {
    for (const handler of this.handlers.get(channel) ?? []) handler(payload);
  }

  protected gap(): void {
    for (const handler of this.gapHandlers) handler();
  }

  protected abstract subscribe(channel: string): Promise<void>;
  abstract close(): Promise<void>;
}

/** PGlite runs in this process: its notifications arrive with the commit, and never go missing. */
export class PGliteNotifications extends BaseNotifications {
  readonly live = true;
  private readonly unlisteners: (() => Promise<void>)[] = [];

  constructor(private readonly pglite: PGlite) {
    super();
  }

  protected async subscribe(channel: string): Promise<void> {
    this.unlisteners.push(await this.pglite.listen(channel, (payload) => this.dispatch(channel, payload)));
  }

  async close(): Promise<void> {
    // The database closes right after; unlistening would only queue queries on a closing engine.
    this.unlisteners.length = 0;
  }
}

/**
 * PGlite in its worker thread is one session: LISTEN once through any pooled connection, and
 * whichever connection's client receives a notification hands it on here.
 */
export class WorkerNotifications extends BaseNotifications {
  constructor(
    private readonly query: (sql: string) => Promise<unknown>,
    private readonly isLive: () => boolean,
  ) {
    super();
  }

  get live(): boolean {
    return this.isLive();
  }

  receive(channel: string, payload: string): void {
    this.dispatch(channel, payload);
  }

  /** The worker stopped: what was heard until now may be all there will be. */
  stopped(): void {
    this.gap();
  }

  protected async subscribe(channel: string): Promise<void> {
    await this.query(`LISTEN ${channel}`);
  }

  async close(): Promise<void> {}
}

const RECONNECT_MS = 1_000;

/** PostgreSQL: a connection of its own, outside the pool, so LISTEN outlives every query. */
export class PostgresNotifications extends BaseNotifications {
  private client: pg.Client | null = null;
  private connecting: Promise<pg.Client> | null = null;
  private closed = false;
  private reconnectTimer: NodeJS.Timeout | undefined;
  /** One warning when the connection is lost and one line when it is back, however many reconnects fail. */
  private readonly outage: OutageLog;

  constructor(
    private readonly url: string,
    logger: Logger,
  ) {
    super();
    this.outage = new OutageLog(logger, 'database notifications');
  }

  get live(): boolean {
    return this.client !== null;
  }

  protected async subscribe(channel: string): Promise<void> {
    const client = this.client ?? (await this.connect());
    // A reconnect in between has already listened to every channel, this one included.
    if (client === this.client) await client.query(`LISTEN ${channel}`);
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.reconnectTimer);
    const client = this.client ?? (await this.connecting?.catch(() => null));
    this.client = null;
    await client?.end().catch(() => {});
  }

  private connect(): Promise<pg.Client> {
    this.connecting ??= this.open().finally(() => (this.connecting = null));
    return this.connecting;
  }

  private async open(): Promise<pg.Client> {
    const client = new pg.Client({ connectionString: this.url });
    client.on('notification', (message) => this.dispatch(message.channel, message.payload ?? ''));
    client.on('error', (error) => {
      this.outage.failed(error);
      this.lost(client);
    });
    client.on('end', () => this.lost(client));
    await client.connect();
    for (const channel of this.handlers.keys()) await client.query(`LISTEN ${channel}`);
    if (this.closed) {
      await client.end();
      throw new Error('notifications closed');
    }
    this.client = client;
    this.outage.recovered();
    this.gap();
    return client;
  }

  private lost(client: pg.Client): void {
    if (this.closed || this.client !== client) return;
    this.client = null;
    client.end().catch(() => {});
    this.gap();
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    this.reconnectTimer = setTimeout(() => {
      this.connect().catch((error: unknown) => {
        if (this.closed) return;
        this.outage.failed(error);
        this.scheduleReconnect();
      });
    }, RECONNECT_MS);
    this.reconnectTimer.unref();
  }
}
