// The GitLab system hooks dialect: domain hooks ⇄ its JSON (GitLab's entity, in its key order),
// its parameters (strings from query or form as well as JSON values), and its error bodies.

import type { z } from 'zod';
import { asDatabaseUnavailable } from '../db/unavailable';
import { ConflictError, DomainError, ForbiddenError, NotFoundError, UnauthenticatedError, ValidationError } from '../domain/errors';
import type { SystemEvent } from '../domain/hook-rules';
import type { CreateHookInput, HookRecord, UpdateHookInput } from '../domain/hooks';
import { isGitlabSigningToken } from '../domain/signing';
import { SYSTEM_HOOK_SAMPLE } from '../domain/test-samples';
import type { BranchFilterStrategy } from '../generated/prisma/enums';
import { BadRequestError, ParameterError, type Params, PayloadTooLargeError } from './http';
import { hookParams, keyedValueParams, pageParams } from './system-params';

export function presentHook(hook: HookRecord) {
  const events = new Set(hook.events);
  return {
    id: hook.id,
    url: hook.url,
    name: hook.name,
    description: hook.description,
    created_at: hook.createdAt.toISOString(),
    push_events: events.has('push'),
    tag_push_events: events.has('tag_push'),
    merge_requests_events: events.has('merge_request'),
    repository_update_events: events.has('repository_update'),
    enable_ssl_verification: hook.enableSslVerification,
    url_variables: hook.urlVariables.map((variable) => ({ key: variable.key })),
    push_events_branch_filter: hook.pushEventsBranchFilter,
    branch_filter_strategy: hook.branchFilterStrategy.toLowerCase(),
    alert_status: hook.alertStatus.toLowerCase(),
    disabled_until: hook.disabledUntil ? hook.disabledUntil.toISOString() : null,
    custom_headers: hook.customHeaders.map((header) => ({ key: header.key })),
    token_present: Boolean(hook.secret),
    signing_token_present: Boolean(hook.signingToken),
  };
}

/** GitLab answers a system hook test with the sample it sent, whatever the hook did with it. */
export const TEST_HOOK_RESPONSE = SYSTEM_HOOK_SAMPLE;

// ---- input ---------------------------------------------------------------------------------------

const EVENT_FLAGS = {
  push_events: 'push',
  tag_push_events: 'tag_push',
  merge_requests_events: 'merge_request',
  repository_update_events: 'repository_update',
} as const satisfies Record<string, SystemEvent>;

const STRATEGIES: Record<string, BranchFilterStrategy> = { wildcard: 'WILDCARD', regex: 'REGEX', all_branches: 'ALL_BRANCHES' };

/** The parameters a create or update reads; an update needs at least one of them. */
export const HOOK_PARAMS = Object.keys(hookParams.shape);

/** Parses with a schema; the first bad parameter becomes a ParameterError (a 400 in this dialect). */
function parse<T>(schema: z.ZodType<T>, params: Params): T {
  const result = schema.safeParse(params);
  if (result.success) return result.data;
  const param = String(result.error.issues[0]!.path[0] ?? 'body');
  throw new ParameterError(param, params[param] === undefined ? 'missing' : 'invalid');
}

export function requiredString(params: Params, name: 'value'): string {
  return parse(keyedValueParams, { [name]: params[name] }).value;
}

function strategy(value: string | undefined): BranchFilterStrategy | undefined {
  if (value === undefined) return undefined;
  const found = STRATEGIES[value];
  if (!found) throw ValidationError.of('branchFilterStrategy', `is not included in the list (${Object.keys(STRATEGIES).join(', ')})`);
  return found;
}

/** GitLab 19's `signing_token`: only a `whsec_` secret of 32 bytes (empty removes it). */
function signingToken(value: string | undefined): string | undefined {
  if (value === undefined || value === '') return value;
  if (!isGitlabSigningToken(value)) throw ValidationError.of('signingToken', 'is invalid');
  return value;
}

function hookFields(params: Params) {
  const input = parse(hookParams, params);
  const eventToggles: Partial<Record<SystemEvent, boolean>> = {};
  for (const [flag, event] of Object.entries(EVENT_FLAGS)) {
    const on = input[flag as keyof typeof EVENT_FLAGS];
    if (on !== undefined) eventToggles[event] = on;
  }
  const fields = {
    url: input.url,
    name: input.name,
    description: input.description,
    secret: input.token,
    signingToken: signingToken(input.signing_token),
    customHeaders: input.custom_headers?.map(({ key, value }) => ({ key, value })),
    enableSslVerification: input.enable_ssl_verification,
    pushEventsBranchFilter: input.push_events_branch_filter,
    branchFilterStrategy: strategy(input.branch_filter_strategy),
    eventToggles: Object.keys(eventToggles).length > 0 ? eventToggles : undefined,
  };
  return Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined)) as Partial<typeof fields>;
}

export function parseCreate(params: Params): CreateHookInput {
  // Grape checks `requires :url` before the optional parameters.
  if (params.url === undefined) throw new ParameterError('url', 'missing');
  const fields = hookFields(params);
  return { ...fields, kind: 'SYSTEM', url: fields.url! };
}

export function parseUpdate(params: Params): UpdateHookInput {
  if (!HOOK_PARAMS.some((name) => params[name] !== undefined)) throw new NoParametersError();
  // Any update through this dialect re-enables a disabled system hook (system hooks have no is_active here).
  return { ...hookFields(params), reenable: true };
}

export class NoParametersError extends Error {
  constructor() {
    super('No parameters provided');
  }
}

export interface PageRequest {
  page: number;
  perPage: number;
}

/** `page` and `per_page` as GitLab reads them: out-of-range values are clamped, not refused. */
export function parsePage(params: Params): PageRequest {
  const input = parse(pageParams, params);
  const page = Math.max(1, input.page ?? 1);
  const perPage = Math.min(100, Math.max(1, input.per_page ?? 20));
  return { page, perPage };
}

/** GitLab's offset-pagination headers, `Link` included (clients such as gitbeaker follow it). */
export function paginationHeaders(baseUrl: string, query: URLSearchParams, { page, perPage }: PageRequest, total: number): Record<string, string> {
  const totalPages = Math.max(1, Math.ceil(total / perPage));
  const next = page < totalPages ? page + 1 : null;
  const prev = page > 1 && page <= totalPages ? page - 1 : null;
  const href = (target: number) => {
    const params = new URLSearchParams(query);
    params.set('page', String(target));
    params.set('per_page', String(perPage));
    return `<${baseUrl}?${params.toString()}>`;
  };
  const links = [
    ...(prev ? [`${href(prev)}; rel="prev"`] : []),
    ...(next ? [`${href(next)}; rel="next"`] : []),
    `${href(1)}; rel="first"`,
    `${href(totalPages)}; rel="last"`,
  ];
  return {
    'x-total': String(total),
    'x-total-pages': String(totalPages),
    'x-per-page': String(perPage),
    'x-page': String(page),
    'x-next-page': next ? String(next) : '',
    'x-prev-page': prev ? String(prev) : '',
    link: links.join(', '),
  };
}

// ---- errors --------------------------------------------------------------------------------------

export interface ErrorAnswer {
  status: number;
  body: { message: string | Record<string, string[]> } | { error: string };
  headers?: Record<string, string>;
}

const FIELD_NAMES: Record<string, string> = {
  secret: 'token',
  enableSslVerification: 'enable_ssl_verification',
  pushEventsBranchFilter: 'push_events_branch_filter',
  branchFilterStrategy: 'branch_filter_strategy',
  urlVariables: 'url_variables',
  signingToken: 'signing_token',
  customHeaders: 'custom_headers',
};

export const notFound = (what?: string): ErrorAnswer => ({ status: 404, body: { message: what ? `404 ${what} Not Found` : '404 Not found' } });

/** The one place a failure becomes a system hooks error body; null means "not ours, a bug". */
export function presentError(error: unknown, context: 'hook' | 'url_variable' | 'custom_header' = 'hook'): ErrorAnswer | null {
  if (error instanceof ParameterError) return { status: 400, body: { error: error.message } };
  if (error instanceof NoParametersError) return { status: 400, body: { error: error.message } };
  if (error instanceof BadRequestError) return { status: error.reason === 'unsupported_media_type' ? 415 : 400, body: { error: error.message } };
  if (error instanceof PayloadTooLargeError) return { status: 413, body: { message: '413 Request Entity Too Large' } };
  const unavailable = asDatabaseUnavailable(error);
  if (unavailable) {
    return { status: 503, body: { message: '503 Service Unavailable' }, headers: { 'retry-after': String(unavailable.retryAfterSeconds) } };
  }
  if (!(error instanceof DomainError)) return null;
  if (error instanceof ValidationError) {
    if (context !== 'hook') return { status: 422, body: { error: 'Illegal key or value' } };
    const message: Record<string, string[]> = {};
    for (const issue of error.issues) (message[FIELD_NAMES[issue.field] ?? issue.field] ??= []).push(issue.message);
    return { status: 422, body: { message } };
  }
  if (error instanceof UnauthenticatedError) return { status: 401, body: { message: '401 Unauthorized' } };
  if (error instanceof ForbiddenError) return { status: 403, body: { message: '403 Forbidden' } };
  if (error instanceof NotFoundError) return notFound(error.resource === 'Hook' ? undefined : error.resource);
  if (error instanceof ConflictError) return { status: 409, body: { message: `409 Conflict: ${error.field} ${error.message}` } };
  return null;
}
