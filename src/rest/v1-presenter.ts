// The `/v1` dialect: domain hooks ⇄ its JSON, and domain errors → its `{"errors":[…]}` bodies.
import { z } from 'zod';
import { asDatabaseUnavailable } from '../db/unavailable';
import type { PublishEventInput, PublishResult } from '../domain/delivery-operations';
import { ConflictError, DomainError, ForbiddenError, IdempotencyConflictError, NotFoundError, UnauthenticatedError, ValidationError } from '../domain/errors';
import type { CreateHookInput, HookFilter, HookRecord, UpdateHookInput } from '../domain/hooks';
import type { SubjectType } from '../generated/prisma/enums';
import { BadRequestError, ParameterError, type Params, PayloadTooLargeError } from './http';

const SUBJECT_TYPES = { build_repo: 'BUILD_REPO', image_repo: 'IMAGE_REPO', job: 'JOB' } as const satisfies Record<string, SubjectType>;
type DialectSubjectType = keyof typeof SUBJECT_TYPES;

/** Domain field names (camelCase) as this dialect spells them. */
const FIELD_NAMES: Record<string, string> = {
  subjectType: 'subject_type',
  isActive: 'is_active',
  createdBy: 'created_by',
  pushEventsBranchFilter: 'push_events_branch_filter',
  idempotencyKey: 'Idempotency-Key',
};

export function presentHook(hook: HookRecord) {
  return {
    id: hook.id,
    subject: hook.subject,
    subject_type: hook.subjectType ? hook.subjectType.toLowerCase() : null,
    events: hook.events,
    name: hook.name,
    secret: hook.secret,
    url: hook.url,
    // The seed's shape has no alert status: a hook disabled for good (410 Gone, 40 failures) shows
    // as inactive, and `PUT` with `is_active: true` is what re-enables it.
    is_active: hook.isActive && hook.alertStatus !== 'DISABLED',
    created_by: hook.createdBy?.username ?? null,
    created_at: hook.createdAt.toISOString(),
    updated_at: hook.updatedAt.toISOString(),
  };
}

export function presentPublished(result: PublishResult) {
  return { event_id: result.event.id, deliveries: result.deliveries.map((delivery) => delivery.id) };
}

// ---- input ---------------------------------------------------------------------------------------

const subjectType = z.enum(Object.keys(SUBJECT_TYPES) as [DialectSubjectType, ...DialectSubjectType[]]);
const text = z.string();
const nullableText = z.string().nullable();

export const createSchema = z.object({
  subject_type: subjectType,
  subject: text,
  events: z.array(text),
  url: text,
  name: nullableText.optional(),
  secret: nullableText.optional(),
  is_active: z.boolean().optional(),
});

export const updateSchema = z.object({
  subject_type: subjectType.optional(),
  subject: text.optional(),
  events: z.array(text).optional(),
  url: text.optional(),
  name: nullableText.optional(),
  secret: nullableText.optional(),
  is_active: z.boolean().optional(),
});

export const listSchema = z.object({ subject_type: subjectType.optional(), subject: text.optional() });

export const publishSchema = z.object({
  event: text,
  subject_type: subjectType.optional().nullable(),
  subject: nullableText.optional(),
  ref: nullableText.optional(),
  payload: z.json().refine((value) => !JSON.stringify(value).includes('\\u0000'), 'must not contain NUL characters'),
});

/** Parses with a schema; the first bad parameter becomes a ParameterError (a 400 in this dialect). */
function parse<T>(schema: z.ZodType<T>, params: Params): T {
  const result = schema.safeParse(params);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const param = String(issue.path[0] ?? 'body');
  const missing = issue.path.length === 1 && params[param] === undefined;
  throw new ParameterError(param, missing ? 'missing' : 'invalid', issue.message);
}

const definedOnly = <T extends object>(value: T): T => Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;

/** The dialect's hook fields under their domain names; absent fields stay absent. */
function domainFields(input: z.infer<typeof updateSchema>): UpdateHookInput {
  return definedOnly({
    subjectType: input.subject_type && SUBJECT_TYPES[input.subject_type],
    subject: input.subject,
    events: input.events,
    url: input.url,
    name: input.name,
    secret: input.secret,
    isActive: input.is_active,
  });
}

export function parseCreate(params: Params): CreateHookInput {
  const input = parse(createSchema, params);
  return { ...domainFields(input), kind: 'SUBJECT', url: input.url };
}

export function parseUpdate(params: Params): UpdateHookInput {
  return domainFields(parse(updateSchema, params));
}

export function parseListFilter(query: URLSearchParams): HookFilter {
  const input = parse(listSchema, Object.fromEntries(query));
  return { kind: 'SUBJECT', subjectType: input.subject_type ? SUBJECT_TYPES[input.subject_type] : null, subject: input.subject ?? null };
}

/** The body, and the `Idempotency-Key` header (checked by the domain; repeated, it is invalid). */
export function parsePublish(params: Params, idempotencyKey?: string | string[]): PublishEventInput {
  const input = parse(publishSchema, params);
  if (Array.isArray(idempotencyKey)) throw new ParameterError('Idempotency-Key', 'invalid', 'must be given once');
  return {
    idempotencyKey: idempotencyKey ?? null,
    event: input.event,
    subjectType: input.subject_type ? SUBJECT_TYPES[input.subject_type] : null,
    subject: input.subject ?? null,
    ref: input.ref ?? null,
    payload: input.payload,
  };
}

// ---- errors --------------------------------------------------------------------------------------

interface ErrorItem {
  code: string;
  message: string;
  field?: string;
}

export interface ErrorAnswer {
  status: number;
  body: { errors: ErrorItem[] };
  headers?: Record<string, string>;
}

const answer = (status: number, ...errors: ErrorItem[]): ErrorAnswer => ({ status, body: { errors } });

export const fieldName = (field: string): string => FIELD_NAMES[field] ?? field;

const UNAVAILABLE_MESSAGE = 'The service is temporarily unavailable; retry after the time in Retry-After';

export const notFound = (): ErrorAnswer => answer(404, { code: 'resource_not_exist', message: 'The resource does not exist' });

/** The one place a failure becomes a `/v1` error body; null means "not ours, a bug". */
export function presentError(error: unknown): ErrorAnswer | null {
  if (error instanceof ParameterError) {
    const message = error.problem === 'missing' ? `${error.param} is missing` : `${error.param} is invalid${error.detail ? `: ${error.detail}` : ''}`;
    return answer(400, { code: 'invalid_args', message, field: error.param });
  }
  if (error instanceof BadRequestError) return answer(400, { code: 'invalid_args', message: error.message });
  if (error instanceof PayloadTooLargeError) return answer(413, { code: 'request_too_large', message: error.message });
  const unavailable = asDatabaseUnavailable(error);
  if (unavailable) {
    return { ...answer(503, { code: 'service_unavailable', message: UNAVAILABLE_MESSAGE }), headers: { 'retry-after': String(unavailable.retryAfterSeconds) } };
  }
  if (!(error instanceof DomainError)) return null;
  if (error instanceof ValidationError) {
    return answer(
      400,
      ...error.issues.map((issue) => {
        const field = fieldName(issue.field);
        return { code: 'invalid_args', message: `${field} ${issue.message}`, field };
      }),
    );
  }
  if (error instanceof UnauthenticatedError) return answer(401, { code: 'unauthorized', message: error.message });
  if (error instanceof ForbiddenError) return answer(403, { code: 'permission_denied', message: error.message });
  if (error instanceof NotFoundError) return answer(404, { code: 'resource_not_exist', message: `${error.resource} does not exist` });
  if (error instanceof IdempotencyConflictError) return answer(409, { code: 'conflict', message: error.message });
  if (error instanceof ConflictError) {
    return answer(409, { code: 'resource_already_exist', message: `${fieldName(error.field)} ${error.message}`, field: fieldName(error.field) });
  }
  return null;
}
