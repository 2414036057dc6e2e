// Retention of the delivery log: a task of its own that removes what the rules in
// src/domain/log-retention.ts say has expired, in small steps, in one process at a time.
//
// Why batches: one `DELETE` of a day of traffic is one transaction as large as that day (its WAL,
// its locks, its dead tuples at once) run beside the workers. Here every statement removes at
// most `batchSize` rows and commits, and the task rests between statements as long as the last
// one took, so it never holds more than about half of one connection.
//
// Why a keyset walk by id: ids grow with creation time, so the expired rows are the first ones.
// Each batch reads the next `batchSize` rows after the previous batch's last id through the
// primary key (no extra index to maintain on every claim and record), removes those that expired,
// and the walk stops at the first batch reaching rows created after the cutoff. A run costs the
// rows it removes plus the few old rows it must keep (pending deliveries), never the whole log.

import { asDatabaseUnavailable } from '../db/unavailable';
import { FINISHED_STATUSES, retentionCutoff } from '../domain/log-retention';
import type { PrismaClient } from '../generated/prisma/client';
import { Prisma } from '../generated/prisma/client';
import type { Logger } from '../logger';
import { pruneIdempotencyKeys } from './idempotency';

export interface RetentionBatchInput {
  /** The last id the previous batch of this step reached; 0 at the start of a run. */
  cursor: number;
  limit: number;
  now: Date;
  /** `now` minus the retention (HOOKGATE_LOG_RETENTION). */
  cutoff: Date;
}

export interface RetentionBatchResult {
  /** Rows removed, by table. */
  removed: Record<string, number>;
  /** Where the next batch starts, or null when this step has nothing more to do in this run. */
  next: number | null;
}

/**
 * One kind of expiring row. Steps run in order, each batch after batch until it returns
 * `next: null`. Another table that expires is one more step in `logRetentionSteps`; a table with
 * no integer id walks by `ctid` instead, e.g. idempotency keys kept for a day:
 *
 *     {
 *       name: 'idempotency_keys', tables: ['idempotency_keys'],
 *       async batch({ limit, now }) {
 *         const removed = await prisma.$executeRaw`DELETE FROM idempotency_keys WHERE ctid IN (
 *           SELECT ctid FROM idempotency_keys WHERE created_at <= ${expiry(now)} LIMIT ${limit})`;
 *         return { removed: { idempotency_keys: removed }, next: removed < limit ? null : 0 };
 *       },
 *     }
 */
export interface RetentionStep {
  readonly name: string;
  /** The tables it removes rows from (vacuumed after a run on PGlite). */
  readonly tables: readonly string[];
  batch(input: RetentionBatchInput): Promise<RetentionBatchResult>;
}

export interface RetentionRun {
  startedAt: Date;
  durationMs: number;
  batches: number;
  /** Rows removed, by table (every table of every step, zeros included). */
  removed: Record<string, number>;
}

interface WalkRow {
  last_id: number | null;
  reached_cutoff: boolean | null;
}

const finishedStatuses = Prisma.join(FINISHED_STATUSES.map((status) => Prisma.sql`${status}::delivery_status`));

/** Where a walk goes next: on past this batch, or nowhere once it is empty or reached the cutoff. */
function nextCursor(row: WalkRow | undefined): number | null {
  if (!row || row.last_id === null || row.reached_cutoff) return null;
  return row.last_id;
}

/** Finished deliveries past the retention, with their attempts. */
export function expiredDeliveriesStep(prisma: PrismaClient): RetentionStep {
  return {
    name: 'deliveries',
    tables: ['delivery_attempts', 'deliveries'],
    async batch({ cursor, limit, cutoff }) {
      // SKIP LOCKED: a delivery being redelivered right now is left for the next run. The attempts
      // are deleted here rather than by the foreign key's cascade: one join instead of a trigger
      // query per delivery, and a count of what went.
      const [row] = await prisma.$queryRaw<(WalkRow & { deliveries: number; attempts: number })[]>`
        WITH batch AS (
          SELECT id, created_at FROM deliveries WHERE id > ${cursor} ORDER BY id LIMIT ${limit}
        ), expired AS (
          SELECT d.id FROM deliveries d JOIN batch USING (id)
          WHERE d.status IN (${finishedStatuses}) AND d.updated_at < ${cutoff}
          FOR UPDATE OF d SKIP LOCKED
        ), attempts AS (
          DELETE FROM delivery_attempts a USING expired WHERE a.delivery_id = expired.id RETURNING 1
        ), removed AS (
          DELETE FROM deliveries d USING expired WHERE d.id = expired.id RETURNING 1
        )
        SELECT (SELECT max(id) FROM batch) AS last_id,
          (SELECT bool_or(created_at >= ${cutoff}) FROM batch) AS reached_cutoff,
          (SELECT count(*) FROM removed)::int AS deliveries,
          (SELECT count(*) FROM attempts)::int AS attempts`;
      return { removed: { deliveries: row?.deliveries ?? 0, delivery_attempts: row?.attempts ?? 0 }, next: nextCursor(row) };
    },
  };
}

/** Events older than the retention with no delivery left, with their payloads. */
export function orphanEventsStep(prisma: PrismaClient): RetentionStep {
  return {
    name: 'events',
    tables: ['events'],
    async batch({ cursor, limit, cutoff }) {
      // Deliveries are only ever added to an event in the transaction that publishes it, so an old
      // event with none left can get none: deleting it cannot race a publish.
      const [row] = await prisma.$queryRaw<(WalkRow & { events: number })[]>`
        WITH batch AS (
          SELECT id, created_at FROM events WHERE id > ${cursor} ORDER BY id LIMIT ${limit}
        ), removed AS (
          DELETE FROM events e USING batch b
          WHERE e.id = b.id AND b.created_at < ${cutoff} AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.event_id = e.id)
          RETURNING 1
        )
        SELECT (SELECT max(id) FROM batch) AS last_id,
          (SELECT bool_or(created_at >= ${cutoff}) FROM batch) AS reached_cutoff,
          (SELECT count(*) FROM removed)::int AS events`;
      return { removed: { events: row?.events ?? 0 }, next: nextCursor(row) };
    },
  };
}

/** Idempotency keys past their 24 hours (they expire on their own clock, not the log's). */
export function expiredIdempotencyKeysStep(prisma: PrismaClient): RetentionStep {
  return {
    name: 'idempotency_keys',
    tables: ['idempotency_keys'],
    async batch({ limit, now }) {
      const removed = await pruneIdempotencyKeys(prisma, now, limit);
      return { removed: { idempotency_keys: removed }, next: removed < limit ? null : 0 };
    },
  };
}

/** The delivery log's steps, in the order that lets each one see what the previous removed. */
export function logRetentionSteps(prisma: PrismaClient): RetentionStep[] {
  return [expiredDeliveriesStep(prisma), orphanEventsStep(prisma), expiredIdempotencyKeysStep(prisma)];
}

/** Arbitrary but fixed, and not the migrations' key: one retention run at a time per database. */
export const RETENTION_LOCK_KEY = 0x6c6f6721; // "log!"

export interface RetentionTaskOptions {
  prisma: PrismaClient;
  /** The database's try-lock (an advisory lock on PostgreSQL, in-process on PGlite). */
  tryWithLock: <T>(key: number, fn: () => Promise<T>) => Promise<{ ran: true; value: T } | { ran: false }>;
  logger: Logger;
  retentionMs: number;
  /** Time between runs; the first one starts soon after start (5 s, or the interval if shorter). */
  intervalMs: number;
  batchSize: number;
  /**
   * VACUUM the tables runs removed rows from (see VACUUM_SHARE). PGlite has no autovacuum: without
   * it, deleted rows' space would never be reused and the files would grow anyway. PostgreSQL's
   * autovacuum does it there.
   */
  vacuum: boolean;
  steps?: RetentionStep[];
  /** Rest after each batch, as a multiple of the time it took (at least `minPauseMs`). */
  pauseRatio?: number;
  minPauseMs?: number;
  now?: () => Date;
}

export class RetentionTask {
  private readonly steps: RetentionStep[];
  private readonly now: () => Date;
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private stopping = false;
  private current: Promise<unknown> | undefined;
  private last: RetentionRun | undefined;
  /** Rows removed from each table since this process last vacuumed it. */
  private readonly removedSinceVacuum = new Map<string, number>();

  constructor(private readonly options: RetentionTaskOptions) {
    this.steps = options.steps ?? logRetentionSteps(options.prisma);
    this.now = options.now ?? (() => new Date());
  }

  /** The last run this process made (not another process's). */
  get lastRun(): RetentionRun | undefined {
    return this.last;
  }

  /** Every table the steps remove from, for metrics. */
  get tables(): string[] {
    return [...new Set(this.steps.flatMap((step) => step.tables))];
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.stopping = false;
    // Soon after start: a process that restarts more often than the interval still runs it.
    this.scheduleNext(Math.min(5_000, this.options.intervalMs));
  }

  /** Stops scheduling, and ends a run in progress after its current batch. */
  async stop(): Promise<void> {
    this.running = false;
    this.stopping = true;
    clearTimeout(this.timer);
    await this.current?.catch(() => undefined);
  }

  /**
   * One run now: every step until it has nothing left. Resolves to null when another process
   * holds the lock (its run does the work).
   */
  run(): Promise<RetentionRun | null> {
    const run = this.options.tryWithLock(RETENTION_LOCK_KEY, () => this.runLocked()).then((result) => (result.ran ? result.value : null));
    this.current = run;
    return run;
  }

  private scheduleNext(delayMs: number): void {
    if (!this.running) return;
    this.timer = setTimeout(() => {
      void this.run()
        .then(
          (run) => {
            if (run && Object.values(run.removed).some((n) => n > 0)) {
              this.options.logger.info(
                { removed: run.removed, batches: run.batches, durationMs: Math.round(run.durationMs) },
                'removed expired delivery log entries',
              );
            }
          },
          (error: unknown) => {
            // An outage is logged once by the components that wait it out; here, one line, no stack.
            const unavailable = asDatabaseUnavailable(error);
            if (unavailable) this.options.logger.warn({ reason: unavailable.message }, 'delivery log retention skipped: the database is unavailable');
            else this.options.logger.warn({ err: error }, 'delivery log retention run failed; retrying at the next interval');
          },
        )
        .finally(() => this.scheduleNext(this.options.intervalMs));
    }, delayMs);
    this.timer.unref();
  }

  private async vacuum(removed: Record<string, number>): Promise<void> {
    const { prisma } = this.options;
    for (const [table, count] of Object.entries(removed)) {
      if (count === 0) continue;
      if (!/^[a-z_][a-z0-9_]*$/.test(table)) throw new Error(`not a table name: ${table}`);
      const first = !this.removedSinceVacuum.has(table);
      const since = (this.removedSinceVacuum.get(table) ?? 0) + count;
      const [estimate] = await prisma.$queryRaw<{ rows: number }[]>`SELECT reltuples::float8 AS rows FROM pg_class WHERE oid = to_regclass(${table})`;
      if (first || since >= VACUUM_SHARE * Math.max(0, estimate?.rows ?? 0)) {
        // ANALYZE too: it refreshes the row estimates the planner and the log's metrics read.
        await prisma.$executeRawUnsafe(`VACUUM (ANALYZE) "${table}"`);
        this.removedSinceVacuum.set(table, 0);
      } else {
        this.removedSinceVacuum.set(table, since);
      }
    }
  }

  private async runLocked(): Promise<RetentionRun> {
    const { batchSize, retentionMs } = this.options;
    const pauseRatio = this.options.pauseRatio ?? 1;
    const minPauseMs = this.options.minPauseMs ?? 5;
    const startedAt = this.now();
    const cutoff = retentionCutoff(startedAt, retentionMs);
    const started = performance.now();
    const removed: Record<string, number> = Object.fromEntries(this.tables.map((table) => [table, 0]));
    let batches = 0;
    for (const step of this.steps) {
      let cursor = 0;
      while (!this.stopping) {
        const batchStarted = performance.now();
        const result = await step.batch({ cursor, limit: batchSize, now: startedAt, cutoff });
        batches++;
        for (const [table, count] of Object.entries(result.removed)) removed[table] = (removed[table] ?? 0) + count;
        if (result.next === null) break;
        cursor = result.next;
        await sleep(Math.max(minPauseMs, (performance.now() - batchStarted) * pauseRatio));
      }
    }
    if (this.options.vacuum && !this.stopping) await this.vacuum(removed);
    const run = { startedAt, durationMs: performance.now() - started, batches, removed };
    this.last = run;
    return run;
  }
}

/**
 * Vacuums, as autovacuum would, a table once a fifth of it was removed since the last time (and on
 * this process's first run that removed anything from it, since the count does not survive a
 * restart). Fewer, larger vacuums cost less in all: each one scans every index of the table whole.
 */
const VACUUM_SHARE = 0.2;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
