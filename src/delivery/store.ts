// The deliveries table as a work queue: claim due rows under a lease, record attempts, release.
//
// Claiming: `FOR UPDATE SKIP LOCKED` picks due rows no other worker is claiming at that instant,
// and the same statement moves `next_attempt_at` to the lease expiry. A worker that dies simply
// never records its attempt, so the row becomes due again when the lease runs out and any process
// claims it: deliveries are at-least-once, never lost. `lease_owner` guards the write-back: a
// worker whose lease was taken over records its attempt but no longer moves the delivery.

import type { DeliveryUpdate } from '../domain/delivery-operations';
import {
  type AlertAnnouncer,
  type AlertChange,
  type AttemptEffect,
  type AttemptMode,
  attemptEffect,
  combineEffects,
  type HookSendState,
  healthAfter,
  onlyResets,
  operationalEventFor,
  PERMANENT_DISABLE_AT,
} from '../domain/hook-health';
import type { PrismaClient } from '../generated/prisma/client';
import { Prisma } from '../generated/prisma/client';
import type { AlertStatus, DeliveryStatus, HookKind, SubjectType } from '../generated/prisma/enums';
import type { Logger } from '../logger';
import { retryDelay } from './backoff';
import { type DeliveryEvents, notifySql, UPDATES_PER_NOTIFY } from './events';
import type { AttemptResult, DeliveryJob } from './send';

export interface ClaimedDelivery {
  job: DeliveryJob;
  /** Attempts made before this one. */
  attemptCount: number;
  hook: HookSendState & { recentFailures: number };
}

interface JobRow {
  id: number;
  uuid: string;
  hook_id: number;
  attempt_count: number;
  kind: HookKind;
  url: string;
  secret: string | null;
  signing_token: string | null;
  previous_secret: string | null;
  previous_secret_expires_ms: number | null;
  custom_headers: string;
  enable_ssl_verification: boolean;
  is_active: boolean;
  alert_status: AlertStatus;
  disabled_until_ms: number | null;
  retry_after_until_ms: number | null;
  recent_failures: number;
  event_name: string;
  body: string;
  url_variables: string;
}

/**
 * The job columns for the deliveries in `source` (a CTE with id, uuid, hook_id, event_id,
 * attempt_count). `payload::text` is the event's `json` text exactly as published.
 */
function jobSelect(source: Prisma.Sql): Prisma.Sql {
  return Prisma.sql`
    SELECT c.id, c.uuid::text AS uuid, c.hook_id, c.attempt_count, h.kind::text AS kind, h.url, h.secret,
      h.signing_token, h.previous_secret, (extract(epoch FROM h.previous_secret_expires_at) * 1000)::float8 AS previous_secret_expires_ms,
      h.enable_ssl_verification, h.is_active, h.alert_status::text AS alert_status,
      (extract(epoch FROM h.disabled_until) * 1000)::float8 AS disabled_until_ms, h.recent_failures,
      (extract(epoch FROM h.retry_after_until) * 1000)::float8 AS retry_after_until_ms,
      e.name AS event_name, e.payload::text AS body,
      COALESCE((SELECT json_agg(json_build_object('key', v.key, 'value', v.value))::text FROM url_variables v WHERE v.hook_id = h.id), '[]') AS url_variables,
      COALESCE((SELECT json_agg(json_build_object('key', ch.key, 'value', ch.value))::text FROM custom_headers ch WHERE ch.hook_id = h.id), '[]') AS custom_headers
    FROM ${source} c JOIN hooks h ON h.id = c.hook_id JOIN events e ON e.id = c.event_id
    ORDER BY c.id`;
}

function toClaimed(row: JobRow): ClaimedDelivery {
  return {
    attemptCount: row.attempt_count,
    hook: {
      isActive: row.is_active,
      alertStatus: row.alert_status,
      disabledUntil: row.disabled_until_ms === null ? null : new Date(row.disabled_until_ms),
      retryAfterUntil: row.retry_after_until_ms === null ? null : new Date(row.retry_after_until_ms),
      recentFailures: row.recent_failures,
    },
    job: {
      deliveryId: row.id,
      uuid: row.uuid,
      hookId: row.hook_id,
      hookKind: row.kind,
      url: row.url,
      urlVariables: JSON.parse(row.url_variables) as { key: string; value: string }[],
      signing: {
        kind: row.kind,
        secret: row.secret,
        signingToken: row.signing_token,
        previousSecret: row.previous_secret,
        previousSecretExpiresAt: row.previous_secret_expires_ms === null ? null : new Date(row.previous_secret_expires_ms),
      },
      customHeaders: JSON.parse(row.custom_headers) as { key: string; value: string }[],
      verifyTls: row.enable_ssl_verification,
      eventName: row.event_name,
      body: row.body,
    },
  };
}

/**
 * `scheduled`: a worker's attempt (holds the lease, follows the retry schedule, counts towards
 * auto-disable). `test` and `redeliver`: made by hand, outside the schedule; their failures do not
 * count towards auto-disable, their successes do reset it.
 */
export type { AttemptMode };

export interface AttemptToRecord {
  job: DeliveryJob;
  result: AttemptResult;
  attemptCount: number;
  mode: AttemptMode;
  /** The hook's alert status when the delivery was loaded: a success to a system hook that was
   * executable then has nothing to reset (system hooks count no failures), so costs no statement. */
  hookAlertStatus?: AlertStatus;
}

export interface RecordedAttempt {
  status: DeliveryStatus;
  nextAttemptAt: Date | null;
}

export class DeliveryStore {
  constructor(
    private readonly prisma: PrismaClient,
    private readonly events: DeliveryEvents,
    private readonly retrySchedule: readonly number[],
    private readonly logger: Logger,
    /** Publishes the operational events (hook_disabled, …) in the transaction that changes a hook. */
    private readonly announcer: AlertAnnouncer | null = null,
  ) {}

  /** Claims up to `limit` due deliveries, skipping the hooks in `excludedHookIds`. */
  async claim(owner: string, limit: number, excludedHookIds: readonly number[], now: Date, leaseMs: number): Promise<ClaimedDelivery[]> {
    const leaseUntil = new Date(now.getTime() + leaseMs);
    const exclude = excludedHookIds.length > 0 ? Prisma.sql`AND hook_id NOT IN (${Prisma.join(excludedHookIds)})` : Prisma.empty;
    // One statement claims and loads: a round trip per batch, not per delivery.
    const rows = await this.prisma.$queryRaw<JobRow[]>`
      WITH due AS (
        SELECT id FROM deliveries
        WHERE next_attempt_at <= ${now} ${exclude}
        ORDER BY next_attempt_at
        LIMIT ${limit}
        FOR UPDATE SKIP LOCKED
      ), claimed AS (
        UPDATE deliveries AS d
        SET lease_owner = ${owner}, lease_expires_at = ${leaseUntil}, next_attempt_at = ${leaseUntil}, updated_at = ${now}
        FROM due WHERE d.id = due.id
        RETURNING d.id, d.uuid, d.hook_id, d.event_id, d.attempt_count
      )
      ${jobSelect(Prisma.sql`claimed`)}`;
    return rows.map(toClaimed);
  }

  /** Everything needed to send these deliveries (manual attempts: no claim). */
  async load(ids: readonly number[]): Promise<ClaimedDelivery[]> {
    if (ids.length === 0) return [];
    const rows = await this.prisma.$queryRaw<JobRow[]>`
      WITH chosen AS (SELECT id, uuid, hook_id, event_id, attempt_count FROM deliveries WHERE id IN (${Prisma.join(ids)}))
      ${jobSelect(Prisma.sql`chosen`)}`;
    return rows.map(toClaimed);
  }

  /** Gives claimed deliveries back, due at `until` (now by default), for any process to take. */
  async release(owner: string, ids: readonly number[], until: Date): Promise<void> {
    if (ids.length === 0) return;
    await this.prisma.$executeRaw`
      UPDATE deliveries SET lease_owner = NULL, lease_expires_at = NULL, next_attempt_at = ${until}
      WHERE id IN (${Prisma.join(ids)}) AND lease_owner = ${owner} AND next_attempt_at IS NOT NULL`;
  }

  /** Releases every delivery `owner` still holds (graceful shutdown). */
  async releaseAll(owner: string, now: Date): Promise<number> {
    return this.prisma.$executeRaw`
      UPDATE deliveries SET lease_owner = NULL, lease_expires_at = NULL, next_attempt_at = ${now}
      WHERE lease_owner = ${owner} AND next_attempt_at IS NOT NULL`;
  }

  /**
   * PGlite only: one process owns the data directory, so every lease found at start-up belongs to
   * a process that died. Those deliveries are due at once instead of when their leases run out.
   */
  async releaseOrphans(now: Date): Promise<number> {
    return this.prisma.$executeRaw`
      UPDATE deliveries SET lease_owner = NULL, lease_expires_at = NULL, next_attempt_at = ${now}
      WHERE lease_owner IS NOT NULL AND next_attempt_at IS NOT NULL`;
  }

  /** Deliveries whose hook was deactivated or disabled before they were sent are given up. */
  async abandon(owner: string, ids: readonly number[], now: Date): Promise<void> {
    if (ids.length === 0) return;
    const rows = await this.prisma.$queryRaw<{ id: number; hook_id: number }[]>`
      UPDATE deliveries SET status = 'FAILED', next_attempt_at = NULL, lease_owner = NULL, lease_expires_at = NULL, updated_at = ${now}
      WHERE id IN (${Prisma.join(ids)}) AND lease_owner = ${owner}
      RETURNING id, hook_id`;
    const updates = rows.map((row) => ({ deliveryId: row.id, hookId: row.hook_id }));
    await this.notify(updates);
    this.events.emitLocal(updates, false);
  }

  /**
   * `redeliverFailed`: the hook's FAILED deliveries created in [since, until) become due now (the
   * same rows, so the same `webhook-id`), unless there are more than `cap` of them: then nothing
   * changes and null is returned. One statement, so the count and the change agree.
   */
  async rescheduleFailed(hookId: number, since: Date, until: Date, cap: number, now: Date): Promise<DeliveryUpdate[] | null> {
    const [row] = await this.prisma.$queryRaw<{ over: boolean; ids: number[] | null }[]>`
      WITH chosen AS (
        SELECT id FROM deliveries
        WHERE hook_id = ${hookId} AND status = 'FAILED' AND created_at >= ${since} AND created_at < ${until}
        ORDER BY created_at, id LIMIT ${cap + 1}
        FOR UPDATE
      ), over AS (SELECT count(*) > ${cap} AS over FROM chosen),
      moved AS (
        UPDATE deliveries AS d
        SET status = 'PENDING', next_attempt_at = ${now}, lease_owner = NULL, lease_expires_at = NULL, updated_at = ${now}
        FROM chosen WHERE d.id = chosen.id AND NOT (SELECT over FROM over)
        RETURNING d.id
      )
      SELECT (SELECT over FROM over) AS over, (SELECT array_agg(id ORDER BY id) FROM moved) AS ids`;
    if (!row || row.over) return null;
    const updates = (row.ids ?? []).map((deliveryId) => ({ deliveryId, hookId }));
    // After the commit, as publishing does: a missed wake-up is found by the workers' polling.
    const notify = notifySql(this.events.notifyStatements(updates, updates.length > 0));
    if (notify) await this.prisma.$executeRaw(notify).catch(() => 0);
    this.events.emitLocal(updates, updates.length > 0);
    return updates;
  }

  /**
   * Records attempts and moves their deliveries on, in one transaction (one per batch: workers
   * hand in their results together, which is what makes a thousand deliveries a second cheap).
   */
  async record(owner: string, given: readonly AttemptToRecord[], now: Date): Promise<RecordedAttempt[]> {
    if (given.length === 0) return [];
    // What each answer does to its hook is the domain's call (hook-health.ts); batches where it
    // does no more than reset a success take the one-statement path.
    if (given.every((attempt) => attempt.mode === 'scheduled' && onlyResets(effectOf(attempt, now)))) {
      return this.recordScheduled(owner, given, now);
    }
    let attempts = given;
    let outcomes = attempts.map((attempt) => this.outcome(attempt, now));
    let updates = attempts.map((attempt) => ({ deliveryId: attempt.job.deliveryId, hookId: attempt.job.hookId }));
    const alerts = await this.prisma.$transaction(async (tx) => {
      // A hook deleted while its delivery was in flight takes the delivery with it; its attempt
      // has nothing to belong to and must not fail the rest of the batch. The row locks also
      // keep a concurrent delete (or redelivery) out until this batch commits.
      const ids = [...new Set(given.map((attempt) => attempt.job.deliveryId))].sort((a, b) => a - b);
      const alive = new Set(
        (
          await tx.$queryRaw<{ id: number }[]>`
        SELECT id FROM deliveries WHERE id IN (${Prisma.join(ids)}) ORDER BY id FOR UPDATE`
        ).map((row) => row.id),
      );
      if (alive.size < ids.length) {
        const kept = given.flatMap((attempt, index) => (alive.has(attempt.job.deliveryId) ? [{ attempt, outcome: outcomes[index]! }] : []));
        attempts = kept.map((entry) => entry.attempt);
        outcomes = kept.map((entry) => entry.outcome);
        updates = attempts.map((attempt) => ({ deliveryId: attempt.job.deliveryId, hookId: attempt.job.hookId }));
        if (attempts.length === 0) return [];
      }
      await tx.deliveryAttempt.createMany({
        data: attempts.map(({ job, result }) => ({
          deliveryId: job.deliveryId,
          startedAt: result.startedAt,
          durationMs: result.durationMs,
          requestUrl: result.requestUrl,
          requestHeaders: result.requestHeaders,
          responseStatus: result.responseStatus,
          responseHeaders: result.responseHeaders ?? Prisma.DbNull,
          responseBody: result.responseBody,
          error: result.error,
        })),
      });
      const scheduled = attempts.flatMap((attempt, index) => (attempt.mode === 'scheduled' ? [index] : []));
      if (scheduled.length > 0) {
        const values = scheduled.map((index) => {
          const outcome = outcomes[index]!;
          return Prisma.sql`(${attempts[index]!.job.deliveryId}::int, ${outcome.status}::text, ${outcome.nextAttemptAt}::timestamptz)`;
        });
        await tx.$executeRaw`
          UPDATE deliveries AS d
          SET status = v.status::delivery_status, attempt_count = d.attempt_count + 1, next_attempt_at = v.next,
              lease_owner = NULL, lease_expires_at = NULL, updated_at = ${now}
          FROM (VALUES ${Prisma.join(values)}) AS v(id, status, next)
          WHERE d.id = v.id AND d.lease_owner = ${owner}`;
      }
      for (const [index, attempt] of attempts.entries()) {
        if (attempt.mode === 'scheduled') continue;
        const outcome = outcomes[index]!;
        // A manual attempt never reschedules. Success finishes the delivery; a failed test is
        // FAILED (tests are sent once); a failed redelivery fails a finished delivery and leaves
        // a pending one to its schedule.
        const id = attempt.job.deliveryId;
        if (outcome.status === 'SUCCEEDED' || attempt.mode === 'test') {
          await tx.$executeRaw`
            UPDATE deliveries SET status = ${outcome.status}::delivery_status, attempt_count = attempt_count + 1,
              next_attempt_at = NULL, lease_owner = NULL, lease_expires_at = NULL, updated_at = ${now}
            WHERE id = ${id}`;
        } else {
          await tx.$executeRaw`
            UPDATE deliveries SET attempt_count = attempt_count + 1, updated_at = ${now},
              status = CASE WHEN next_attempt_at IS NULL THEN 'FAILED'::delivery_status ELSE status END
            WHERE id = ${id}`;
        }
      }
      const changes = await this.updateHookHealth(tx, attempts, now);
      // Announced in the transaction that makes the change: a hook never goes dark unannounced.
      if (changes.length > 0) await this.announcer?.announce(tx, changes, now);
      const notify = notifySql(this.events.notifyStatements(updates, false));
      if (notify) await tx.$executeRaw(notify);
      return changes;
    });
    this.logChanges(alerts);
    this.events.emitLocal(updates, false);
    return outcomes;
  }

  /**
   * `record` for the common batch, scheduled sends with no subject hook failing (so no failure
   * count to read and raise), as one statement: the same locks, rows and NOTIFYs as the general
   * path, without an interactive transaction's seven round trips.
   */
  private async recordScheduled(owner: string, attempts: readonly AttemptToRecord[], now: Date): Promise<RecordedAttempt[]> {
    const outcomes = attempts.map((attempt) => this.outcome(attempt, now));
    const values = attempts.map(
      ({ job, result }, index) => Prisma.sql`(
      ${index}::int, ${job.deliveryId}::int, ${job.hookId}::int, ${result.startedAt}::timestamptz, ${result.durationMs}::int,
      ${result.requestUrl}::text, ${JSON.stringify(result.requestHeaders)}::jsonb, ${result.responseStatus}::int,
      ${result.responseHeaders === null ? null : JSON.stringify(result.responseHeaders)}::jsonb, ${result.responseBody}::text,
      ${result.error}::text, ${outcomes[index]!.status}::text, ${outcomes[index]!.nextAttemptAt}::timestamptz)`,
    );
    // A success resets its hook's failure count; rows with nothing to reset are not written.
    const succeeded = [...new Set(attempts.filter((a) => a.result.verdict === 'success' && mayNeedReset(a)).map((a) => a.job.hookId))];
    const notify = this.events.notifyUpdatesAggregate(Prisma.sql`v.delivery_id`, Prisma.sql`v.hook_id`);
    // `alive` locks the deliveries in id order, as the general path does; a delivery deleted with
    // its hook while in flight is not in it, and its attempt is dropped. Everything else joins it.
    const rows = await this.prisma.$queryRaw<{ kept: number[]; enabled: string | null }[]>`
      WITH v (i, delivery_id, hook_id, started_at, duration_ms, request_url, request_headers, response_status,
              response_headers, response_body, error, status, next) AS (VALUES ${Prisma.join(values)}),
      alive AS (
        SELECT id FROM deliveries WHERE id IN (SELECT delivery_id FROM v) ORDER BY id FOR UPDATE
      ),
      recorded AS (
        INSERT INTO delivery_attempts (delivery_id, started_at, duration_ms, request_url, request_headers,
          response_status, response_headers, response_body, error)
        SELECT v.delivery_id, v.started_at, v.duration_ms, v.request_url, v.request_headers, v.response_status,
          v.response_headers, v.response_body, v.error
        FROM v JOIN alive ON alive.id = v.delivery_id
      ),
      moved AS (
        UPDATE deliveries AS d
        SET status = v.status::delivery_status, attempt_count = d.attempt_count + 1, next_attempt_at = v.next,
            lease_owner = NULL, lease_expires_at = NULL, updated_at = ${now}
        FROM v JOIN alive ON alive.id = v.delivery_id
        WHERE d.id = v.delivery_id AND d.lease_owner = ${owner}
      ),
      ${resetHealthSql(succeeded, now)}
      SELECT array_agg(v.i) AS kept, (SELECT json_agg(healthy)::text FROM healthy) AS enabled${notify ? Prisma.sql`, ${notify} AS notified` : Prisma.empty}
      FROM v JOIN alive ON alive.id = v.delivery_id
      GROUP BY v.i / ${UPDATES_PER_NOTIFY}::int`;
    const kept = rows.flatMap((row) => row.kept);
    // Rare (a hook back from a backoff): announced after the statement, in a transaction of its own.
    const enabled = reenabledChanges(rows[0]?.enabled ?? null, now);
    if (enabled.length > 0) {
      this.logChanges(enabled);
      await this.prisma
        .$transaction((tx) => this.announcer?.announce(tx, enabled, now) ?? Promise.resolve())
        .catch((error: unknown) => this.logger.error({ err: error }, 'could not announce re-enabled hooks'));
    }
    this.events.emitLocal(
      kept.map((index) => ({ deliveryId: attempts[index]!.job.deliveryId, hookId: attempts[index]!.job.hookId })),
      false,
    );
    return kept.map((index) => outcomes[index]!);
  }

  private outcome(attempt: AttemptToRecord, now: Date): RecordedAttempt {
    const { verdict } = attempt.result;
    if (verdict === 'success') return { status: 'SUCCEEDED', nextAttemptAt: null };
    if (attempt.mode === 'test') return { status: 'FAILED', nextAttemptAt: null };
    if (attempt.mode === 'redeliver') return { status: 'FAILED', nextAttemptAt: null };
    const delay = verdict === 'retry' ? retryDelay(attempt.attemptCount + 1, this.retrySchedule) : null;
    if (delay === null) return { status: 'FAILED', nextAttemptAt: null };
    // The receiver asked for a pause: never sooner than it said, whatever the schedule says.
    const { retryAfterUntil } = effectOf(attempt, now);
    const next = Math.max(now.getTime() + delay, retryAfterUntil?.getTime() ?? 0);
    return { status: 'RETRYING', nextAttemptAt: new Date(next) };
  }

  /**
   * Carries out what the attempts do to their hooks (hook-health.ts decides): resets, auto-disable
   * counts, 410 Gone, Retry-After pauses. Returns the changes of alert status to announce.
   */
  private async updateHookHealth(tx: Prisma.TransactionClient, attempts: readonly AttemptToRecord[], now: Date): Promise<AlertChange[]> {
    const perHook = new Map<number, AttemptEffect[]>();
    for (const attempt of attempts) {
      const effects = perHook.get(attempt.job.hookId) ?? [];
      if (effects.length === 0) perHook.set(attempt.job.hookId, effects);
      effects.push(effectOf(attempt, now));
    }
    const combined = [...perHook].map(([hookId, effects]) => ({ hookId, effect: combineEffects(effects) }));
    // Plain resets are one statement per batch, and it only writes rows that had something to reset.
    const resettable = new Set(attempts.filter(mayNeedReset).map((attempt) => attempt.job.hookId));
    const resets = combined.filter(({ hookId, effect }) => effect.reset && onlyResets(effect) && resettable.has(hookId)).map(({ hookId }) => hookId);
    const changes: AlertChange[] = [];
    if (resets.length > 0) {
      const [row] = await tx.$queryRaw<{ enabled: string | null }[]>`
        WITH ${resetHealthSql(resets, now)} SELECT (SELECT json_agg(healthy)::text FROM healthy) AS enabled`;
      changes.push(...reenabledChanges(row?.enabled ?? null, now));
    }
    for (const { hookId, effect } of combined.sort((a, b) => a.hookId - b.hookId)) {
      if (onlyResets(effect)) continue;
      // Row lock: two processes failing the same hook at once must both count.
      const [row] = await tx.$queryRaw<HealthRow[]>`
        SELECT kind::text AS kind, subject_type::text AS subject_type, subject, recent_failures, alert_status::text AS alert_status,
          disabled_until, retry_after_until
        FROM hooks WHERE id = ${hookId} FOR NO KEY UPDATE`;
      if (!row) continue;
      const before = {
        recentFailures: row.recent_failures,
        alertStatus: row.alert_status,
        disabledUntil: row.disabled_until,
        retryAfterUntil: row.retry_after_until,
      };
      const after = healthAfter(before, effect, now);
      await tx.hook.update({ where: { id: hookId }, data: after });
      const event = operationalEventFor(before, after, now);
      if (event) changes.push({ event, hook: { id: hookId, kind: row.kind, subjectType: row.subject_type, subject: row.subject }, state: after, at: now });
    }
    return changes;
  }

  private logChanges(changes: readonly AlertChange[]): void {
    for (const { event, hook, state } of changes) {
      const fields = { hookId: hook.id, alertStatus: state.alertStatus, disabledUntil: state.disabledUntil, failures: state.recentFailures };
      if (event === 'hook_enabled') this.logger.info(fields, `hook ${hook.id} is executable again`);
      else if (event === 'hook_disabled')
        this.logger.warn(fields, `hook ${hook.id} disabled (410 Gone, or ${PERMANENT_DISABLE_AT} consecutive failed deliveries)`);
      else this.logger.warn(fields, `hook ${hook.id} temporarily disabled after ${state.recentFailures} consecutive failed deliveries`);
    }
  }

  private async notify(updates: readonly DeliveryUpdate[]): Promise<void> {
    const notify = notifySql(this.events.notifyStatements(updates, false));
    if (notify) await this.prisma.$executeRaw(notify);
  }
}

interface HealthRow {
  kind: HookKind;
  subject_type: SubjectType | null;
  subject: string | null;
  recent_failures: number;
  alert_status: AlertStatus;
  disabled_until: Date | null;
  retry_after_until: Date | null;
}

/** Subject hooks may have failures to wipe; a system hook only a status (a 410) to clear. */
function mayNeedReset(attempt: AttemptToRecord): boolean {
  return attempt.job.hookKind === 'SUBJECT' || attempt.hookAlertStatus !== 'EXECUTABLE';
}

function effectOf(attempt: AttemptToRecord, now: Date): AttemptEffect {
  const { result } = attempt;
  return attemptEffect(
    attempt.job.hookKind,
    attempt.mode,
    {
      succeeded: result.verdict === 'success',
      responseStatus: result.responseStatus,
      responseHeaders: result.responseHeaders,
    },
    now,
  );
}

/**
 * CTEs `was` and `healthy`: a success's reset of these hooks (failure count, alert status), only
 * where there is something to reset. `healthy` returns each reset hook with the status it had
 * (`was` locks the rows first, so that is the status as committed, not as this statement's
 * snapshot saw it), which tells the re-enabled ones apart.
 */
function resetHealthSql(hookIds: readonly number[], now: Date): Prisma.Sql {
  return Prisma.sql`
    was AS (
      SELECT id, alert_status FROM hooks
      WHERE id IN (${hookIds.length > 0 ? Prisma.join(hookIds) : Prisma.sql`NULL`})
        AND (recent_failures <> 0 OR alert_status <> 'EXECUTABLE')
      ORDER BY id FOR NO KEY UPDATE
    ),
    healthy AS (
      UPDATE hooks AS h SET recent_failures = 0, alert_status = 'EXECUTABLE', disabled_until = NULL, updated_at = ${now}
      FROM was WHERE h.id = was.id
      RETURNING h.id, h.kind::text AS kind, h.subject_type::text AS subject_type, h.subject, was.alert_status::text AS previous
    )`;
}

/** The hook_enabled changes among the rows `healthy` returned (as json_agg text). */
function reenabledChanges(json: string | null, now: Date): AlertChange[] {
  if (!json) return [];
  const rows = JSON.parse(json) as { id: number; kind: HookKind; subject_type: SubjectType | null; subject: string | null; previous: AlertStatus }[];
  return rows.flatMap((row) =>
    row.previous === 'EXECUTABLE'
      ? []
      : [
          {
            event: 'hook_enabled' as const,
            hook: { id: row.id, kind: row.kind, subjectType: row.subject_type, subject: row.subject },
            state: { alertStatus: 'EXECUTABLE' as const, disabledUntil: null, recentFailures: 0 },
            at: now,
          },
        ],
  );
}
