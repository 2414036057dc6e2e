// Every size limit, in one place: the domain's checks, GraphQL's input validation and the REST
// parsers all read these. Quotas an operator may set (HOOKGATE_MAX_HOOKS_PER_NAMESPACE) come last.
import type { FieldIssue } from './errors';

/** Text fields of a hook, url variables and custom headers. */
export const LIMITS = {
  urlLength: 2048,
  nameLength: 255,
  descriptionLength: 2048,
  secretLength: 1024,
  subjectLength: 255,
  branchFilterLength: 5000,
  /** Events one subject hook may name, and the length of one event name. */
  eventsPerHook: 16,
  eventNameLength: 255,
  urlVariablesPerHook: 20,
  urlVariableKeyLength: 255,
  urlVariableValueLength: 2048,
  customHeadersPerHook: 20,
  customHeaderKeyLength: 64,
  customHeaderValueLength: 2048,
  /** A published event's `ref`, and its payload as JSON text. */
  refLength: 1024,
  payloadBytes: 1024 * 1024,
} as const;

/** Request bodies on every transport (413 above). */
export const MAX_BODY_BYTES = 1024 * 1024;

/** Ids are PostgreSQL `integer`s: anything else names no row (and must not reach a query). */
export const MAX_ID = 2_147_483_647;

export function isDatabaseId(id: number): boolean {
  return Number.isSafeInteger(id) && id >= 1 && id <= MAX_ID;
}

export interface HookLimits {
  /** Subject hooks one namespace may hold (GitLab's per-project limit is 100). */
  readonly maxHooksPerNamespace: number;
}

export const DEFAULT_HOOK_LIMITS: HookLimits = { maxHooksPerNamespace: 100 };

/**
 * The issue when a namespace that already holds `existing` hooks may not get one more. Each event
 * is sent once per matching hook, so an unbounded namespace multiplies every event it receives.
 */
export function namespaceQuotaIssue(limits: HookLimits, namespace: string, existing: number): FieldIssue | null {
  if (existing < limits.maxHooksPerNamespace) return null;
  return { field: 'subject', message: `namespace ${namespace} already has the maximum of ${limits.maxHooksPerNamespace} hooks` };
}
