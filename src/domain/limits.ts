// Quotas an operator may set (HOOKGATE_MAX_HOOKS_PER_NAMESPACE); fixed sizes live in hook-rules.ts.
import type { FieldIssue } from './errors';

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
