// Deliveries (with their event and attempts) as JSON built in PostgreSQL, for the Prisma query
// plugin-prisma planned for them (`queryFromInfo`): one statement instead of Prisma's
// relation-join rows, and only the columns that query names. A plan asking for something not
// described here (another relation, a filtered or limited nested list) gets `null`: the caller
// then loads it through Prisma as before, so a new field is never silently left out.
import { Prisma } from '../generated/prisma/client';

interface Column {
  /** The value in the JSON. */
  sql: string;
  /** The column itself, to order by (timestamps: not their text). */
  column?: string;
  /** Timestamps travel as ISO text and are made `Date`s again, as Prisma returns them. */
  date?: true;
}

/** `to_char` of a `timestamptz(3)` column: exactly `Date#toISOString`'s text, or null. */
function iso(column: string): Column {
  return { sql: `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`, column, date: true };
}

// Prisma field -> column, by model (prisma/schema.prisma; tables aliased d, e, a below).
const DELIVERY: Record<string, Column> = {
  id: { sql: 'd.id' },
  uuid: { sql: 'd.uuid' },
  eventId: { sql: 'd.event_id' },
  hookId: { sql: 'd.hook_id' },
  status: { sql: 'd.status' },
  attemptCount: { sql: 'd.attempt_count' },
  nextAttemptAt: iso('d.next_attempt_at'),
  leaseOwner: { sql: 'd.lease_owner' },
  leaseExpiresAt: iso('d.lease_expires_at'),
  createdAt: iso('d.created_at'),
  updatedAt: iso('d.updated_at'),
};
const EVENT: Record<string, Column> = {
  id: { sql: 'e.id' },
  name: { sql: 'e.name' },
  subjectType: { sql: 'e.subject_type' },
  subject: { sql: 'e.subject' },
  ref: { sql: 'e.ref' },
  // `json`: embedded as published, key order included.
  payload: { sql: 'e.payload' },
  createdAt: iso('e.created_at'),
};
const ATTEMPT: Record<string, Column> = {
  id: { sql: 'a.id' },
  deliveryId: { sql: 'a.delivery_id' },
  startedAt: iso('a.started_at'),
  durationMs: { sql: 'a.duration_ms' },
  requestUrl: { sql: 'a.request_url' },
  requestHeaders: { sql: 'a.request_headers' },
  responseStatus: { sql: 'a.response_status' },
  responseHeaders: { sql: 'a.response_headers' },
  responseBody: { sql: 'a.response_body' },
  error: { sql: 'a.error' },
};

type Planned = { select?: Record<string, unknown>; include?: Record<string, unknown> } & Record<string, unknown>;

/** The timestamp fields to turn back into `Date`s, per level of the JSON. */
export interface DateFields {
  own: string[];
  event: string[];
  attempts: string[];
}

export interface DeliveryJson {
  /** `json_build_object(…)` of one delivery `d`, joined to its event `e` when `joinsEvent`. */
  object: Prisma.Sql;
  joinsEvent: boolean;
  dates: DateFields;
}

/** The scalar fields a nested `select` names, or every field for `true` / include mode. */
function scalarFields(columns: Record<string, Column>, planned: unknown): string[] | null {
  if (planned === true) return Object.keys(columns);
  if (typeof planned !== 'object' || planned === null) return null;
  const { select, ...rest } = planned as Planned;
  if (Object.keys(rest).length > 0) return null;
  if (select === undefined) return Object.keys(columns);
  const fields = Object.keys(select).filter((field) => select[field]);
  return fields.every((field) => Object.hasOwn(columns, field) && select[field] === true) ? fields : null;
}

function pairs(columns: Record<string, Column>, fields: string[]): { sql: string; dates: string[] } {
  const dates = fields.filter((field) => columns[field]!.date);
  return { sql: fields.map((field) => `'${field}', ${columns[field]!.sql}`).join(', '), dates };
}

/** `ORDER BY` for the attempts from Prisma's `orderBy` (an object or a list of one-field objects). */
function attemptOrder(orderBy: unknown): string | null {
  const terms = Array.isArray(orderBy) ? orderBy : orderBy === undefined ? [] : [orderBy];
  const sql: string[] = [];
  for (const term of terms) {
    const entries = typeof term === 'object' && term !== null ? Object.entries(term) : [];
    if (entries.length !== 1) return null;
    const [field, direction] = entries[0]!;
    if (!Object.hasOwn(ATTEMPT, field) || (direction !== 'asc' && direction !== 'desc')) return null;
    sql.push(`${ATTEMPT[field]!.column ?? ATTEMPT[field]!.sql} ${direction.toUpperCase()}`);
  }
  // Ties broken by the primary key, so the order is total.
  if (!sql.some((term) => term.startsWith('a.id '))) sql.push('a.id ASC');
  return sql.join(', ');
}

/** The JSON of one delivery for `query`, or null when `query` asks for what this does not describe. */
export function deliveryJson(query: Planned): DeliveryJson | null {
  const { select, include, ...rest } = query;
  if (Object.keys(rest).length > 0 || (select && include)) return null;
  // Include mode (how `Delivery` is declared) loads every column, as Prisma would.
  const level = select ?? include ?? {};
  const own = select ? Object.keys(select).filter((field) => Object.hasOwn(DELIVERY, field) && select[field] === true) : Object.keys(DELIVERY);
  const parts = [pairs(DELIVERY, own).sql];
  const dates: DateFields = { own: pairs(DELIVERY, own).dates, event: [], attempts: [] };
  let joinsEvent = false;
  for (const [relation, planned] of Object.entries(level)) {
    if (!planned || Object.hasOwn(DELIVERY, relation)) continue;
    if (relation === 'event') {
      const fields = scalarFields(EVENT, planned);
      if (!fields) return null;
      const event = pairs(EVENT, fields);
      parts.push(`'event', json_build_object(${event.sql})`);
      dates.event = event.dates;
      joinsEvent = true;
    } else if (relation === 'attempts') {
      if (typeof planned !== 'object') return null;
      const { orderBy, ...selection } = planned as Planned;
      const fields = scalarFields(ATTEMPT, selection);
      const order = attemptOrder(orderBy);
      if (!fields || !order) return null;
      const attempt = pairs(ATTEMPT, fields);
      parts.push(
        `'attempts', coalesce((SELECT json_agg(json_build_object(${attempt.sql}) ORDER BY ${order}) FROM delivery_attempts a WHERE a.delivery_id = d.id), '[]')`,
      );
      dates.attempts = attempt.dates;
    } else {
      return null;
    }
  }
  return { object: Prisma.raw(`json_build_object(${parts.join(', ')})`), joinsEvent, dates };
}

function revive(row: Record<string, unknown>, fields: string[]): void {
  for (const field of fields) if (typeof row[field] === 'string') row[field] = new Date(row[field]);
}

/** Turns the timestamps of deliveries parsed from `deliveryJson`'s JSON back into `Date`s, in place. */
export function reviveDates(deliveries: Record<string, unknown>[], dates: DateFields): void {
  if (dates.own.length === 0 && dates.event.length === 0 && dates.attempts.length === 0) return;
  for (const delivery of deliveries) {
    revive(delivery, dates.own);
    if (dates.event.length > 0) revive(delivery.event as Record<string, unknown>, dates.event);
    if (dates.attempts.length > 0) for (const attempt of delivery.attempts as Record<string, unknown>[]) revive(attempt, dates.attempts);
  }
}
