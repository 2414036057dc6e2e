// Custom headers: extra request headers a hook's deliveries carry (GitLab 19), for both kinds of
// hook. Values are write-only, like url-variable values.

import type { FieldIssue } from './errors';
import { LIMITS } from './limits';

export const CUSTOM_HEADER_LIMITS = {
  perHook: LIMITS.customHeadersPerHook,
  keyLength: LIMITS.customHeaderKeyLength,
  valueLength: LIMITS.customHeaderValueLength,
} as const;

// An HTTP token (RFC 9110 `tchar`), at most 64 characters.
const HEADER_KEY = /^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,64}$/;
// Printable ASCII: what every receiver reads back unchanged.
const HEADER_VALUE = /^[\x20-\x7e]+$/;
/** Headers Hookgate sets itself; a custom header must never replace or shadow one. */
const RESERVED = new Set(['content-type', 'content-length', 'host', 'user-agent', 'connection', 'transfer-encoding']);
const RESERVED_PREFIXES = ['webhook-', 'x-gitlab-', 'x-hookgate-'];

export interface CustomHeader {
  key: string;
  value: string;
}

/** Why a key cannot be a custom header, or null. Keys compare case-insensitively. */
export function customHeaderKeyIssue(key: string): string | null {
  if (!HEADER_KEY.test(key)) return `must be an HTTP header name (letters, digits and !#$%&'*+.^_\`|~-, at most ${CUSTOM_HEADER_LIMITS.keyLength} characters)`;
  const name = key.toLowerCase();
  if (RESERVED.has(name) || RESERVED_PREFIXES.some((prefix) => name.startsWith(prefix))) return 'is a header Hookgate sets itself';
  return null;
}

export function customHeaderValueIssue(value: string): string | null {
  if (value.length < 1 || value.length > CUSTOM_HEADER_LIMITS.valueLength || !HEADER_VALUE.test(value)) {
    return `must be 1 to ${CUSTOM_HEADER_LIMITS.valueLength} printable ASCII characters`;
  }
  return null;
}

export const sameHeader = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();

/**
 * The rows to write to merge `incoming` into a hook's headers (`existingKeys`), by key
 * (case-insensitive; a replaced header keeps its first spelling, a repeated one its last value),
 * with every issue.
 */
export function planCustomHeaders(existingKeys: readonly string[], incoming: readonly CustomHeader[]): { writes: CustomHeader[]; issues: FieldIssue[] } {
  const issues: FieldIssue[] = [];
  const writes: CustomHeader[] = [];
  for (const { key, value } of incoming) {
    const issue = customHeaderKeyIssue(key) ?? customHeaderValueIssue(value);
    if (issue) {
      // The key is named so the caller can tell which one; the value never is (write-only).
      issues.push({ field: 'customHeaders', message: `${JSON.stringify(key.slice(0, CUSTOM_HEADER_LIMITS.keyLength))} ${issue}` });
      continue;
    }
    const planned = writes.find((write) => sameHeader(write.key, key));
    if (planned) planned.value = value;
    else writes.push({ key: existingKeys.find((existing) => sameHeader(existing, key)) ?? key, value });
  }
  const added = writes.filter((write) => !existingKeys.includes(write.key)).length;
  if (existingKeys.length + added > CUSTOM_HEADER_LIMITS.perHook) {
    issues.push({ field: 'customHeaders', message: `a hook can have at most ${CUSTOM_HEADER_LIMITS.perHook} custom headers` });
  }
  return { writes, issues };
}

/** The headers as sent: lower-case names (as Hookgate's own), so none can appear twice. */
export function customRequestHeaders(headers: readonly CustomHeader[]): Record<string, string> {
  return Object.fromEntries(headers.map((header) => [header.key.toLowerCase(), header.value]));
}
