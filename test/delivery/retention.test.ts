// Retention of the delivery log on both backends: what a run removes and keeps, its bounded
// batches, one run at a time (advisory lock on PostgreSQL), and the figures on /metrics.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/db/database';
import { logRetentionSteps, type RetentionBatchResult, type RetentionStep, RetentionTask, type RetentionTaskOptions } from '../../src/delivery/retention';
import type { PrismaClient } from '../../src/generated/prisma/client';
import type { DeliveryStatus } from '../../src/generated/prisma/enums';
import { createLogger } from '../../src/logger';
import { backends, startTestApp, type TestApp } from '../helpers';
import { eventually, type Receiver, startReceiver } from './receiver';

const HOUR = 3_600_000;

/** A retention task over `prisma` as the app would make one, with a small batch and no rests. */
function task(prisma: PrismaClient, tryWithLock: RetentionTaskOptions['tryWithLock'], extra: Partial<RetentionTaskOptions> = {}): RetentionTask {
  return new RetentionTask({
    prisma,
    tryWithLock,
    logger: createLogger('silent'),
    retentionMs: 1_000,
    intervalMs: HOUR,
    batchSize: 2,
    vacuum: false,
    minPauseMs: 0,
    pauseRatio: 0,
    ...extra,
  });
}

/** The same steps, each batch's result recorded. */
function recorded(steps: RetentionStep[], log: { step: string; result: RetentionBatchResult }[]): RetentionStep[] {
  return steps.map((step) => ({
    ...step,
    batch: async (input) => {
      const result = await step.batch(input);
      log.push({ step: step.name, result });
      return result;
    },
  }));
}

describe.each(backends)('log retention (%s)', { timeout: 60_000 }, (backend) => {
  let t: TestApp;
  let r: Receiver;

  beforeAll(async () => {
    r = await startReceiver();
    t = await startTestApp(backend, { HOOKGATE_LOG_RETENTION: '1s', HOOKGATE_RETENTION_INTERVAL: '1h' });
    // The app's own scheduled run would race the runs these tests make.
    await t.app.retention.stop();
  });
  afterAll(async () => {
    await t?.close();
    await r?.close();
  });

  const prisma = () => t.app.db.prisma;
  const hook = (subject: string, url = r.url) =>
    t.app.services.hooks.create(t.admin, { kind: 'SUBJECT', subjectType: 'BUILD_REPO', subject, events: ['build:complete'], url });
  const event = () =>
    prisma().event.create({ data: { name: 'build:complete', subjectType: 'BUILD_REPO', subject: 'kept/repo', payload: { big: 'x'.repeat(100) } } });
  /** A delivery written straight to the table (not due unless `nextAttemptAt` says so), with one attempt. */
  const delivery = async (eventId: number, hookId: number, status: DeliveryStatus, nextAttemptAt: Date | null = null, updatedAt?: Date) => {
    const row = await prisma().delivery.create({ data: { eventId, hookId, status, nextAttemptAt, attemptCount: 1 } });
    await prisma().deliveryAttempt.create({ data: { deliveryId: row.id, durationMs: 1, requestUrl: r.url, requestHeaders: {}, responseStatus: 500 } });
    // updated_at is Prisma's @updatedAt: set by hand after the fact to place it in time.
    if (updatedAt) await prisma().$executeRaw`UPDATE deliveries SET updated_at = ${updatedAt} WHERE id = ${row.id}`;
    return row;
  };
  const exists = {
    delivery: async (id: number) => (await prisma().delivery.count({ where: { id } })) === 1,
    attempts: (deliveryId: number) => prisma().deliveryAttempt.count({ where: { deliveryId } }),
    event: async (id: number) => (await prisma().event.count({ where: { id } })) === 1,
  };

  it('removes finished deliveries past the retention with their attempts and events; keeps pending ones and what they need', async () => {
    const kept = await hook('kept/repo');
    // A real delivery, published and received: SUCCEEDED with its attempt.
    const published = await t.app.services.deliveries.publish(t.admin, {
      event: 'build:complete',
      subjectType: 'BUILD_REPO',
      subject: 'kept/repo',
      payload: { n: 1 },
    });
    const sent = published.deliveries[0]!;
    await eventually(
      async () => (await prisma().delivery.findUnique({ where: { id: sent.id } }))?.status === 'SUCCEEDED',
      10_000,
      'the published delivery to succeed',
    );
    expect(await exists.attempts(sent.id)).toBe(1);

    const later = new Date(Date.now() + HOUR);
    const mixed = await event();
    const failed = await delivery(mixed.id, kept.id, 'FAILED');
    const retrying = await delivery(mixed.id, kept.id, 'RETRYING', later);
    const lonelyPending = await event();
    const pending = await delivery(lonelyPending.id, kept.id, 'PENDING', later);
    const noDeliveries = await event();
    // Finished, but changed "after" the cutoff (a redelivery just now, say): within the retention.
    const recentEvent = await event();
    const recent = await delivery(recentEvent.id, kept.id, 'SUCCEEDED', null, later);
    // Enough finished ones for many batches of 2.
    const many = await event();
    const bulk = [];
    for (let i = 0; i < 9; i++) bulk.push(await delivery(many.id, kept.id, i % 2 ? 'FAILED' : 'SUCCEEDED'));

    // Idempotency keys expire on their own 24 hours, whatever the log's retention: one past it goes.
    await prisma().$executeRaw`INSERT INTO idempotency_keys (user_id, key, request_hash, event_id, created_at)
      VALUES (${t.admin.id}, 'expired-key', 'h', ${mixed.id}, now() - interval '25 hours'), (${t.admin.id}, 'live-key', 'h', ${mixed.id}, now())`;

    await new Promise((resolve) => setTimeout(resolve, 1_100)); // past the 1 s retention
    const batches: { step: string; result: RetentionBatchResult }[] = [];
    const retention = task(prisma(), (key, fn) => t.app.db.tryWithLock(key, fn), { steps: recorded(logRetentionSteps(prisma()), batches) });
    const run = await retention.run();

    expect(run).not.toBeNull();
    // Finished and expired: gone, with their attempts and the events left without deliveries.
    for (const id of [sent.id, failed.id, ...bulk.map((d) => d.id)]) {
      expect(await exists.delivery(id)).toBe(false);
      expect(await exists.attempts(id)).toBe(0);
    }
    expect(await exists.event(published.event.id)).toBe(false);
    expect(await exists.event(many.id)).toBe(false);
    expect(await exists.event(noDeliveries.id)).toBe(false);
    // Pending and retrying stay whatever their age, with their attempts and events.
    for (const id of [retrying.id, pending.id]) {
      expect(await exists.delivery(id)).toBe(true);
      expect(await exists.attempts(id)).toBe(1);
    }
    expect(await exists.event(mixed.id)).toBe(true);
    expect(await exists.event(lonelyPending.id)).toBe(true);
    expect(await exists.delivery(recent.id)).toBe(true);
    expect(await exists.event(recentEvent.id)).toBe(true);

    expect(run!.removed).toEqual({ delivery_attempts: 11, deliveries: 11, events: 3, idempotency_keys: 1 });
    expect((await prisma().idempotencyKey.findMany({ select: { key: true } })).map((row) => row.key)).toEqual(['live-key']);
    // Bounded: no statement removed more than the batch size, and the work took many of them.
    expect(batches.every(({ result }) => Object.values(result.removed).every((n) => n <= 2))).toBe(true);
    expect(batches.filter((b) => b.step === 'deliveries').length).toBeGreaterThanOrEqual(8);
    expect(run!.batches).toBe(batches.length);
    expect(retention.lastRun).toBe(run);

    // A second run finds nothing more to remove.
    const again = await task(prisma(), (key, fn) => t.app.db.tryWithLock(key, fn)).run();
    expect(again!.removed).toEqual({ delivery_attempts: 0, deliveries: 0, events: 0, idempotency_keys: 0 });
  });

  it('vacuums a table (PGlite has no autovacuum) on the first removal, then once a fifth of it went', async () => {
    const own = await hook('vacuum/repo');
    const e = await event();
    for (let i = 0; i < 100; i++) await delivery(e.id, own.id, 'RETRYING', new Date(Date.now() + HOUR));
    const ids = (await prisma().delivery.findMany({ where: { hookId: own.id }, select: { id: true }, orderBy: { id: 'asc' } })).map((d) => d.id);
    const expire = (some: number[]) => prisma().$executeRaw`
      UPDATE deliveries SET status = 'SUCCEEDED', next_attempt_at = NULL, updated_at = now() - interval '1 hour' WHERE id = ANY(${some}::int[])`;
    const estimate = async () =>
      (await prisma().$queryRaw<{ rows: number }[]>`SELECT reltuples::float8 AS rows FROM pg_class WHERE oid = 'deliveries'::regclass`)[0]!.rows;
    const count = () => prisma().delivery.count();
    const retention = task(prisma(), (key, fn) => t.app.db.tryWithLock(key, fn), { vacuum: true, batchSize: 1_000 });

    await expire(ids.slice(0, 10));
    expect((await retention.run())!.removed.deliveries).toBe(10);
    const afterFirst = await count();
    expect(await estimate()).toBe(afterFirst); // VACUUM (ANALYZE) ran: the estimate is exact

    await expire(ids.slice(10, 15)); // 5 more: under a fifth of the table, no vacuum
    expect((await retention.run())!.removed.deliveries).toBe(5);
    expect(await estimate()).toBe(afterFirst);

    await expire(ids.slice(15, 40)); // 30 since the last vacuum: over a fifth
    expect((await retention.run())!.removed.deliveries).toBe(25);
    expect(await estimate()).toBe(await count());
  });

  it('runs one at a time: a run while another holds the lock does nothing', async () => {
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let entered!: () => void;
    const holding = new Promise<void>((resolve) => (entered = resolve));
    const blocking: RetentionStep = {
      name: 'blocking',
      tables: [],
      batch: async () => {
        entered();
        await released;
        return { removed: {}, next: null };
      },
    };
    const first = task(prisma(), (key, fn) => t.app.db.tryWithLock(key, fn), { steps: [blocking] }).run();
    await holding;
    if (backend === 'postgres') {
      // Another process: its own connections to the same database.
      const other = await openDatabase(
        t.app.db.kind === 'postgres' ? { kind: 'postgres', url: t.app.config.DATABASE_URL!, poolSize: 2 } : { kind: 'pglite', dataDir: null },
      );
      try {
        expect(await task(other.prisma, (key, fn) => other.tryWithLock(key, fn)).run()).toBeNull();
      } finally {
        await other.close();
      }
    }
    expect(await task(prisma(), (key, fn) => t.app.db.tryWithLock(key, fn)).run()).toBeNull();
    release();
    expect(await first).not.toBeNull();
    expect(await task(prisma(), (key, fn) => t.app.db.tryWithLock(key, fn)).run()).not.toBeNull();
  });
});

describe.each(backends)('scheduled log retention and its metrics (%s)', { timeout: 60_000 }, (backend) => {
  it('runs by itself every interval and shows the log and the last run on /metrics', async () => {
    const t = await startTestApp(backend, { HOOKGATE_LOG_RETENTION: '1s', HOOKGATE_RETENTION_INTERVAL: '1s', HOOKGATE_DELIVERY_CONCURRENCY: '0' });
    try {
      const prisma = t.app.db.prisma;
      const hook = await t.app.services.hooks.create(t.admin, {
        kind: 'SUBJECT',
        subjectType: 'BUILD_REPO',
        subject: 'm/repo',
        events: ['build:complete'],
        url: 'http://127.0.0.1:9/',
      });
      const event = await prisma.event.create({ data: { name: 'build:complete', payload: {} } });
      const old = await prisma.delivery.create({ data: { eventId: event.id, hookId: hook.id, status: 'SUCCEEDED', nextAttemptAt: null } });
      await prisma.deliveryAttempt.create({ data: { deliveryId: old.id, durationMs: 1, requestUrl: 'http://127.0.0.1:9/', requestHeaders: {} } });

      const metrics = async () => (await fetch(`${t.url}/metrics`)).text();
      const gauge = (text: string, name: string, table?: string) => {
        const line = text.split('\n').find((l) => l.startsWith(table ? `${name}{table="${table}"} ` : `${name} `));
        return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
      };
      const before = await metrics();
      expect(gauge(before, 'hookgate_log_table_rows', 'deliveries')).toBe(1);
      expect(gauge(before, 'hookgate_log_table_rows', 'delivery_attempts')).toBe(1);
      expect(gauge(before, 'hookgate_log_table_bytes', 'deliveries')).toBeGreaterThan(0);
      expect(gauge(before, 'hookgate_log_table_bytes', 'events')).toBeGreaterThan(0);

      // The first run comes within the interval; the delivery expires a second after it was made.
      const after = await eventually(
        async () => {
          const text = await metrics();
          return (gauge(text, 'hookgate_retention_last_run_removed_rows', 'deliveries') ?? 0) >= 1 ? text : null;
        },
        20_000,
        'a scheduled retention run to remove the expired delivery',
      );
      expect(gauge(after, 'hookgate_retention_last_run_removed_rows', 'delivery_attempts')).toBe(1);
      expect(gauge(after, 'hookgate_retention_last_run_removed_rows', 'events')).toBe(1);
      expect(gauge(after, 'hookgate_retention_last_run_duration_seconds')).toBeGreaterThan(0);
      expect(gauge(after, 'hookgate_retention_last_run_timestamp_seconds')! * 1000).toBeGreaterThan(Date.now() - 60_000);
      expect(await prisma.delivery.count({ where: { id: old.id } })).toBe(0);
      expect(await prisma.event.count({ where: { id: event.id } })).toBe(0);
      const rows = await eventually(
        async () => {
          const text = await metrics();
          return gauge(text, 'hookgate_log_table_rows', 'deliveries') === 0 ? text : null;
        },
        10_000,
        'the row metric to show the emptied table',
      );
      expect(gauge(rows, 'hookgate_log_table_rows', 'events')).toBe(0);
    } finally {
      await t.close();
    }
  });
});
