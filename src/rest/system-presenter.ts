// The GitLab system hooks dialect: domain hooks ⇄ its JSON (GitLab's entity, in its key order),
// its parameters (strings from query or form as well as JSON values), and its error bodies.
import type { BranchFilterStrategy } from '../generated/prisma/enums';
import { ConflictError, DomainError, ForbiddenError, NotFoundError, UnauthenticatedError, ValidationError } from '../domain/errors';
import type { CreateHookInput, HookRecord, UpdateHookInput } from '../domain/hooks';
import type { SystemEvent } from '../domain/hook-rules';
import type { CustomHeader } from '../domain/custom-headers';
import { isGitlabSigningToken } from '../domain/signing';
import { asDatabaseUnavailable } from '../db/unavailable';
import { BadRequestError, ParameterError, PayloadTooLargeError, type Params } from './http';
import { SYSTEM_HOOK_SAMPLE } from '../delivery/samples';

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
export const HOOK_PARAMS = [
  'url', 'name', 'description', 'token', ...Object.keys(EVENT_FLAGS), 'enable_ssl_verification',
  'push_events_branch_filter', 'branch_filter_strategy', 'signing_token', 'custom_headers',
] as const;

// Grape's Boolean coercion: JSON booleans and these spellings from query strings and forms.
const TRUE_WORDS = new Set(['1', 'on', 't', 'true', 'y', 'yes']);
const FALSE_WORDS = new Set(['0', 'off', 'f', 'false', 'n', 'no']);

function booleanParam(params: Params, name: string): boolean | undefined {
  const value = params[name];
  if (value === undefined) return undefined;
  if (typeof value === 'boolean') return value;
  if (typeof value === 'string') {
    const word = value.trim().toLowerCase();
    if (TRUE_WORDS.has(word)) return true;
    if (FALSE_WORDS.has(word)) return false;
  }
  throw new ParameterError(name, 'invalid');
}

function stringParam(params: Params, name: string): string | undefined {
  const value = params[name];
  if (value === undefined) return undefined;
  if (typeof value === 'string') return value;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  throw new ParameterError(name, 'invalid');
}

export function requiredString(params: Params, name: string): string {
  const value = stringParam(params, name);
  if (value === undefined || value === null) throw new ParameterError(name, 'missing');
  return value;
}

function strategyParam(params: Params): BranchFilterStrategy | undefined {
  const value = stringParam(params, 'branch_filter_strategy');
  if (value === undefined) return undefined;
  const strategy = STRATEGIES[value];
  if (!strategy) throw ValidationError.of('branchFilterStrategy', `is not included in the list (${Object.keys(STRATEGIES).join(', ')})`);
  return strategy;
}

/** GitLab 19's `signing_token`: only a `whsec_` secret of 32 bytes (empty removes it). */
function signingTokenParam(params: Params): string | undefined {
  const value = stringParam(params, 'signing_token');
  if (value === undefined || value === '') return value;
  if (!isGitlabSigningToken(value)) throw ValidationError.of('signingToken', 'is invalid');
  return value;
}

/** `custom_headers: [{"key", "value"}]` (JSON bodies). */
function customHeadersParam(params: Params): CustomHeader[] | undefined {
  const value = params.custom_headers;
  if (value === undefined) return undefined;
  const valid = Array.isArray(value) && value.every((item: unknown) =>
    typeof item === 'object' && item !== null && typeof (item as CustomHeader).key === 'string' && typeof (item as CustomHeader).value === 'string');
  if (!valid) throw new ParameterError('custom_headers', 'invalid');
  return (value as CustomHeader[]).map(({ key, value: headerValue }) => ({ key, value: headerValue }));
}

function hookFields(params: Params) {
  const eventToggles: Partial<Record<SystemEvent, boolean>> = {};
  for (const [flag, event] of Object.entries(EVENT_FLAGS)) {
    const on = booleanParam(params, flag);
    if (on !== undefined) eventToggles[event] = on;
  }
  const fields = {
    url: stringParam(params, 'url'),
    name: stringParam(params, 'name'),
    description: stringParam(params, 'description'),
    secret: stringParam(params, 'token'),
    signingToken: signingTokenParam(params),
    customHeaders: customHeadersParam(params),
    enableSslVerification: booleanParam(params, 'enable_ssl_verification'),
    pushEventsBranchFilter: stringParam(params, 'push_events_branch_filter'),
    branchFilterStrategy: strategyParam(params),
    eventToggles: Object.keys(eventToggles).length > 0 ? eventToggles : undefined,
  };
  return Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined)) as Partial<typeof fields>;
}

export function parseCreate(params: Params): CreateHookInput {
  const url = requiredString(params, 'url');
  return { ...hookFields(params), kind: 'SYSTEM', url };
}

export function parseUpdate(params: Params): UpdateHookInput {
  if (!HOOK_PARAMS.some((name) => params[name] !== undefined)) throw new NoParametersError();
  return hookFields(params);
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

function positiveInteger(params: Params, name: string, fallback: number): number {
  const value = params[name];
  if (value === undefined || value === '') return fallback;
  const text = String(value).trim();
  if (!/^-?[0-9]{1,15}$/.test(text)) throw new ParameterError(name, 'invalid');
  return Number(text);
}

/** `page` and `per_page` as GitLab reads them: out-of-range values are clamped, not refused. */
export function parsePage(params: Params): PageRequest {
  const page = Math.max(1, positiveInteger(params, 'page', 1));
  const perPage = Math.min(100, Math.max(1, positiveInteger(params, 'per_page', 20)));
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
