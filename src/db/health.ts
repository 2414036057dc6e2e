// /healthz on PostgreSQL: a connection of its own, so the check never queues behind the app's
// queries in the pool (a loaded pool would make a healthy database look down).
import pg from 'pg';
import { DatabaseUnavailableError } from './unavailable';

export class PostgresHealth {
  private client: pg.Client | null = null;
  /** Concurrent checks share one round trip. */
  private pending: Promise<void> | null = null;
  /** After close, the app has let go of the database: it is unavailable to it, whatever the server says. */
  private closed = false;

  constructor(
    private readonly url: string,
    private readonly timeoutMs: number,
  ) {}

  check(): Promise<void> {
    if (this.closed) return Promise.reject(new DatabaseUnavailableError('the database connection is closed'));
    this.pending ??= this.probe().finally(() => (this.pending = null));
    return this.pending;
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.pending?.catch(() => undefined);
    const client = this.client;
    this.client = null;
    await client?.end().catch(() => undefined);
  }

  private async probe(): Promise<void> {
    try {
      if (!this.client) {
        const client = new pg.Client({ connectionString: this.url, connectionTimeoutMillis: this.timeoutMs, query_timeout: this.timeoutMs });
        // A lost connection is found by the next check, which opens a new one.
        client.on('error', () => {
          if (this.client === client) this.client = null;
        });
        await client.connect();
        this.client = client;
      }
      await this.client.query('SELECT 1');
    } catch (error) {
      const client = this.client;
      this.client = null;
      void client?.end().catch(() => undefined);
      throw new DatabaseUnavailableError(`the database is not answering: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
}
