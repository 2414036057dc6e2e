// Helpers for the REST suites: a small HTTP client and the shape checks both dialects share.
import { expect } from 'vitest';

export interface Answer {
  status: number;
  headers: Headers;
  text: string;
  /** The parsed JSON body, or undefined when the body is empty or not JSON. */
  body: unknown;
}

export interface CallOptions {
  headers?: Record<string, string>;
  /** An object is sent as JSON; a string as it is. */
  body?: unknown;
}

export async function call(baseUrl: string, method: string, path: string, options: CallOptions = {}): Promise<Answer> {
  const headers: Record<string, string> = { ...options.headers };
  let body: string | undefined;
  if (typeof options.body === 'string') body = options.body;
  else if (options.body !== undefined) {
    body = JSON.stringify(options.body);
    headers['content-type'] ??= 'application/json';
  }
  const response = await fetch(`${baseUrl}${path}`, { method, headers, ...(body === undefined ? {} : { body }) });
  const text = await response.text();
  let parsed: unknown;
  try {
    parsed = text === '' ? undefined : JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  return { status: response.status, headers: response.headers, text, body: parsed };
}

/** `{key: type}` in key order, `null` and `array` told apart, so key order and types compare at once. */
export function shape(value: unknown): Array<[string, string]> {
  expect(value).toBeTypeOf('object');
  return Object.entries(value as Record<string, unknown>).map(([key, v]) => [key, v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v]);
}

export const ISO_MS_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/** Every `/v1` error body: `{"errors":[{code, message, field?}]}`. */
export function expectV1Error(answer: Answer, status: number, code: string): void {
  expect(answer.status, answer.text).toBe(status);
  expect(answer.headers.get('content-type')).toBe('application/json');
  const body = answer.body as { errors: Array<Record<string, unknown>> };
  expect(Array.isArray(body.errors) && body.errors.length > 0, answer.text).toBe(true);
  for (const error of body.errors) {
    expect(Object.keys(error).filter((key) => !['code', 'message', 'field'].includes(key))).toEqual([]);
    expect(error.code).toBe(code);
    expect(typeof error.message).toBe('string');
    if ('field' in error) expect(typeof error.field).toBe('string');
  }
}

/** Every system hooks error body: `{"message": "…" | {field: [reasons]}}` or `{"error": "…"}`. */
export function isSystemErrorBody(body: unknown): boolean {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return false;
  const keys = Object.keys(body);
  if (keys.length !== 1) return false;
  const record = body as Record<string, unknown>;
  if (keys[0] === 'error') return typeof record.error === 'string';
  if (keys[0] !== 'message') return false;
  const message = record.message;
  if (typeof message === 'string') return true;
  return (
    typeof message === 'object' &&
    message !== null &&
    Object.values(message).every((reasons) => Array.isArray(reasons) && reasons.every((reason) => typeof reason === 'string'))
  );
}

export function isV1ErrorBody(body: unknown): boolean {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return false;
  const errors = (body as Record<string, unknown>).errors;
  return (
    Object.keys(body).length === 1 &&
    Array.isArray(errors) &&
    errors.length > 0 &&
    errors.every(
      (error) =>
        typeof error === 'object' &&
        error !== null &&
        typeof error.code === 'string' &&
        typeof error.message === 'string' &&
        (error.field === undefined || typeof error.field === 'string'),
    )
  );
}
