// Publishing: an event and one delivery per matching hook, written in one transaction (the
// outbox), so an accepted event is never lost even if the process dies before delivering it.

import type { PublishEventInput, PublishResult } from '../domain/delivery-operations';
import { type FieldIssue, ValidationError } from '../domain/errors';
import { branchFilterMatches, checkSubject, hasNul, SUBJECT_EVENTS, SYSTEM_EVENTS } from '../domain/hook-rules';
import { LIMITS } from '../domain/limits';
import type { Delivery, Event, PrismaClient } from '../generated/prisma/client';
import { Prisma } from '../generated/prisma/client';
import type { BranchFilterStrategy, SubjectType } from '../generated/prisma/enums';
import { type DeliveryEvents, notifySql } from './events';
import { claimKeySql, type IdempotentRequest } from './idempotency';

/** System events that only reach hooks with the matching `*_events` flag. */
const FLAGGED_SYSTEM_EVENTS: readonly string[] = SYSTEM_EVENTS;
/** System events whose `ref` is matched against the hook's branch filter. */
const BRANCH_FILTERED_EVENTS = new Set(['push', 'tag_push']);
const SYSTEM_EVENT_NAME = /^[a-z][a-z0-9_]*$/;
const MAX_EVENT_NAME = LIMITS.eventNameLength;
const MAX_REF = LIMITS.refLength;
export const MAX_PAYLOAD_BYTES = LIMITS.payloadBytes;

export interface ValidEvent {
  name: string;
  subjectType: SubjectType | null;
  subject: string | null;
  ref: string | null;
  payload: Prisma.InputJsonValue | typeof Prisma.JsonNull;
}

/** Checks a publish request; every problem is reported with its field. */
export function validateEvent(input: PublishEventInput): ValidEvent {
  const issues: FieldIssue[] = [];
  const name = typeof input.event === 'string' ? input.event.trim() : '';
  const subjectType = input.subjectType ?? null;
  const subject = input.subject ?? null;
  const ref = input.ref ?? null;
  if (name === '') issues.push({ field: 'event', message: "can't be blank" });
  else if (name.length > MAX_EVENT_NAME) issues.push({ field: 'event', message: `is too long (maximum is ${MAX_EVENT_NAME} characters)` });
  if (subjectType !== null) {
    if (!(subjectType in SUBJECT_EVENTS)) issues.push({ field: 'subjectType', message: 'is not a subject type' });
    else {
      if (name && !SUBJECT_EVENTS[subjectType].includes(name)) {
        issues.push({
          field: 'event',
          message: `${JSON.stringify(name)} not supported for ${subjectType.toLowerCase()}; allowed: ${SUBJECT_EVENTS[subjectType].join(', ')}`,
        });
      }
      if (subject === null) issues.push({ field: 'subject', message: 'is missing' });
      else {
        const subjectIssue = typeof subject === 'string' ? checkSubject(subjectType, subject) : 'must be a string';
        if (subjectIssue) issues.push({ field: 'subject', message: subjectIssue });
      }
    }
  } else {
    if (subject !== null) issues.push({ field: 'subjectType', message: 'is missing' });
    else if (name && !SYSTEM_EVENT_NAME.test(name)) {
      const subjectEvent = Object.values(SUBJECT_EVENTS).some((events) => events.includes(name));
      issues.push(
        subjectEvent
          ? { field: 'subjectType', message: 'is missing' }
          : { field: 'event', message: 'is not a system event name (lowercase letters, digits and underscores)' },
      );
    }
  }
  if (ref !== null && (typeof ref !== 'string' || ref.length > MAX_REF))
    issues.push({ field: 'ref', message: `must be a string of at most ${MAX_REF} characters` });
  else if (ref !== null && hasNul(ref)) issues.push({ field: 'ref', message: 'must not contain NUL characters' });
  if (name !== '' && hasNul(name)) issues.push({ field: 'event', message: 'must not contain NUL characters' });
  let payload: ValidEvent['payload'] = Prisma.JsonNull;
  if (input.payload === undefined) issues.push({ field: 'payload', message: 'is missing' });
  else if (input.payload !== null) {
    let text: string | undefined;
    try {
      text = JSON.stringify(input.payload);
    } catch {
      text = undefined;
    }
    if (text === undefined) issues.push({ field: 'payload', message: 'must be JSON' });
    else if (Buffer.byteLength(text) > MAX_PAYLOAD_BYTES) issues.push({ field: 'payload', message: 'is too large (maximum is 1 MiB)' });
    else payload = JSON.parse(text) as Prisma.InputJsonValue;
  }
  if (issues.length > 0) throw new ValidationError(issues);
  return { name, subjectType, subject, ref, payload };
}

/** The delivery columns under Prisma's field names, so rows come back shaped like `Delivery`. */
const DELIVERY_COLUMNS = Prisma.raw(`id, uuid::text AS uuid, event_id AS "eventId", hook_id AS "hookId", status::text AS status,
  attempt_count AS "attemptCount", next_attempt_at AS "nextAttemptAt", lease_owner AS "leaseOwner",
  lease_expires_at AS "leaseExpiresAt", created_at AS "createdAt", updated_at AS "updatedAt"`);

interface PublishedRow {
  event_id: number;
  event_created_at: Date;
  delivery: Delivery | null;
}

export class Outbox {
  constructor(
    private readonly prisma: PrismaClient,
    private readonly events: DeliveryEvents,
  ) {}

  /**
   * One statement stores the event and its deliveries (atomic by itself: the outbox needs no
   * interactive transaction, which costs a round trip per step). Hooks are matched inside it,
   * except for branch-filtered events, whose filters (globs, RE2) run here first.
   */
  async publish(event: ValidEvent, now: Date): Promise<PublishResult>;
  /** With an idempotency key: null when the key is already taken (nothing was stored). */
  async publish(event: ValidEvent, now: Date, once: IdempotentRequest): Promise<PublishResult | null>;
  async publish(event: ValidEvent, now: Date, once?: IdempotentRequest): Promise<PublishResult | null> {
    const result = await this.insert(this.prisma, event, now, { once });
    if (!result) return null;
    const updates = result.deliveries.map((delivery) => ({ deliveryId: delivery.id, hookId: delivery.hookId }));
    // After the commit: a wake-up call, not part of the record. Missed, the workers' polling finds the work.
    const notify = notifySql(this.events.notifyStatements(updates, updates.length > 0));
    // The event is committed: a failed wake-up must not turn that into an error (the client would
    // retry and duplicate it). Workers poll, and reconnecting listeners look for due work.
    if (notify) await this.prisma.$executeRaw(notify).catch(() => 0);
    this.events.emitLocal(updates, updates.length > 0);
    return result;
  }

  /**
   * The statement of `publish`, through `client` (a transaction's, for events published with the
   * change that causes them), with no wake-up. `excludeHookId`: a hook the event must not reach.
   * `once`: stored only if the idempotency key is free (see idempotency.ts); null otherwise.
   */
  async insert(
    client: Prisma.TransactionClient | PrismaClient,
    event: ValidEvent,
    now: Date,
    options: { excludeHookId?: number; once?: IdempotentRequest | undefined } = {},
  ): Promise<PublishResult | null> {
    const chosen = branchFiltered(event) ? await this.branchMatches(event, now, client) : null;
    const exclude = options.excludeHookId === undefined ? Prisma.empty : Prisma.sql`AND h.id <> ${options.excludeHookId}`;
    const values = Prisma.sql`${event.name}, ${event.subjectType}::subject_type, ${event.subject}, ${event.ref}, ${payloadText(event)}::json`;
    const rows = await client.$queryRaw<PublishedRow[]>`
      WITH ${
        options.once
          ? Prisma.sql`${claimKeySql(options.once, now)},
      event AS (
        INSERT INTO events (id, name, subject_type, subject, ref, payload)
        SELECT claim.event_id, ${values} FROM claim
        RETURNING id, created_at
      )`
          : Prisma.sql`event AS (
        INSERT INTO events (name, subject_type, subject, ref, payload)
        VALUES (${values})
        RETURNING id, created_at
      )`
      }, inserted AS (
        INSERT INTO deliveries (uuid, event_id, hook_id, next_attempt_at, updated_at)
        SELECT gen_random_uuid(), event.id, h.id, ${now}, ${now}
        FROM event CROSS JOIN hooks h
        WHERE ${matchSql(event, now)} ${chosen ? Prisma.sql`AND h.id = ANY(${chosen}::int[])` : Prisma.empty} ${exclude}
        ORDER BY h.id
        RETURNING ${DELIVERY_COLUMNS}
      )
      SELECT event.id AS event_id, event.created_at AS event_created_at, to_jsonb(inserted) AS delivery
      FROM event LEFT JOIN inserted ON true
      ORDER BY inserted.id`;
    const first = rows[0];
    if (!first) return null;
    const deliveries = rows.flatMap((row) => (row.delivery ? [deliveryFromJson(row.delivery)] : []));
    const stored: Event = {
      id: first.event_id,
      name: event.name,
      subjectType: event.subjectType,
      subject: event.subject,
      ref: event.ref,
      // Validated JSON (parsed from text), so the input type is the stored one.
      payload: (event.payload === Prisma.JsonNull ? null : event.payload) as Prisma.JsonValue,
      createdAt: first.event_created_at,
    };
    return { event: stored, deliveries };
  }

  /**
   * Hooks that match this push-like event and whose branch filter takes its ref: the same SQL
   * match as `publish`, then the filters, which are not SQL (globs, RE2).
   */
  private async branchMatches(event: ValidEvent, now: Date, client: Prisma.TransactionClient | PrismaClient): Promise<number[]> {
    const hooks = await client.$queryRaw<{ id: number; filter: string | null; strategy: BranchFilterStrategy }[]>`
      SELECT h.id, h.push_events_branch_filter AS filter, h.branch_filter_strategy::text AS strategy
      FROM hooks h WHERE ${matchSql(event, now)}`;
    return hooks.filter((hook) => branchFilterMatches(hook.strategy, hook.filter, event.ref)).map((hook) => hook.id);
  }
}

function branchFiltered(event: ValidEvent): boolean {
  return !event.subjectType && BRANCH_FILTERED_EVENTS.has(event.name);
}

function payloadText(event: ValidEvent): string {
  return event.payload === Prisma.JsonNull ? 'null' : JSON.stringify(event.payload);
}

/**
 * Which hooks an event goes to, in SQL over `hooks h`: subject hooks by subject and event; system
 * hooks all, or those with the event's flag; active, and not disabled (for now or for good).
 */
function matchSql(event: ValidEvent, now: Date): Prisma.Sql {
  const executable = Prisma.sql`h.alert_status <> 'DISABLED'
    AND NOT (h.alert_status = 'TEMPORARILY_DISABLED' AND h.disabled_until IS NOT NULL AND h.disabled_until > ${now})`;
  if (event.subjectType) {
    return Prisma.sql`h.kind = 'SUBJECT' AND h.is_active AND h.subject_type = ${event.subjectType}::subject_type
      AND h.subject = ${event.subject} AND ${event.name} = ANY(h.events) AND ${executable}`;
  }
  const flagged = FLAGGED_SYSTEM_EVENTS.includes(event.name) ? Prisma.sql`AND ${event.name} = ANY(h.events)` : Prisma.empty;
  return Prisma.sql`h.kind = 'SYSTEM' AND h.is_active ${flagged} AND ${executable}`;
}

/** A delivery row that came back through `to_jsonb`: its timestamps are ISO strings again. */
function deliveryFromJson(row: Delivery): Delivery {
  const date = (value: unknown) => (value === null ? null : new Date(value as string));
  return {
    ...row,
    nextAttemptAt: date(row.nextAttemptAt),
    leaseExpiresAt: date(row.leaseExpiresAt),
    createdAt: date(row.createdAt)!,
    updatedAt: date(row.updatedAt)!,
  };
}
