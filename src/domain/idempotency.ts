// Idempotent publishing: the rules of an `Idempotency-Key` (what a key may be, how long it holds,
// which requests count as the same). The engine stores keys (src/delivery/idempotency.ts).
import { createHash } from 'node:crypto';
import { ValidationError } from './errors';

/** A repeat within this long answers what the first request answered. */
export const IDEMPOTENCY_KEY_TTL_MS = 24 * 60 * 60 * 1000;
const KEY = /^[\x21-\x7e](?:[\x20-\x7e]{0,253}[\x21-\x7e])?$/;

/**
 * The key, or null when none was given. 1 to 255 printable ASCII characters; surrounding spaces
 * are not part of an HTTP header value, so a key cannot start or end with one.
 */
export function checkIdempotencyKey(value: string | null | undefined): string | null {
  if (value === null || value === undefined) return null;
  if (!KEY.test(value)) throw ValidationError.of('idempotencyKey', 'must be 1 to 255 printable ASCII characters');
  return value;
}

export interface PublishRequest {
  name: string;
  subjectType: string | null;
  subject: string | null;
  ref: string | null;
  payload: unknown;
}

/**
 * SHA-256 (hex) of what makes two publish requests the same: event, subject, ref and payload as
 * JSON values (object key order does not matter, as it does not to a JSON reader).
 */
export function requestFingerprint(request: PublishRequest): string {
  const canonical = canonicalJson([request.name, request.subjectType, request.subject, request.ref, request.payload]);
  return createHash('sha256').update(canonical).digest('hex');
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}
