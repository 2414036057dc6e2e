// One HTTP attempt of one delivery: build the signed request, POST it through the SSRF guard, and
// describe what happened in the shape the delivery log stores.
import { readFileSync } from 'node:fs';
import { Agent, request, errors as undiciErrors } from 'undici';
import { type CustomHeader, customRequestHeaders } from '../domain/custom-headers';
import { type SigningState, signingSecrets } from '../domain/signing';
import type { HookKind } from '../generated/prisma/enums';
import { signatureHeaders } from './sign';
import { BlockedRequestError, type SsrfGuard } from './ssrf';

export const MAX_STORED_BODY = 64 * 1024;
const REDACTED = '[redacted]';
/** Header names whose values are secrets or derived from one; never stored. */
const SECRET_HEADERS = new Set(['webhook-signature', 'x-gitlab-token']);

const version = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
export const USER_AGENT = `Hookgate/${version}`;

/** Everything needed to send one attempt, loaded with the claimed delivery. */
export interface DeliveryJob {
  deliveryId: number;
  uuid: string;
  hookId: number;
  hookKind: HookKind;
  /** As configured, `{key}` placeholders included. */
  url: string;
  urlVariables: readonly { key: string; value: string }[];
  /** What signs the request, and the token a system hook sends as `X-Gitlab-Token`. */
  signing: SigningState;
  /** Sent as they are; their values are never stored. */
  customHeaders: readonly CustomHeader[];
  verifyTls: boolean;
  eventName: string;
  body: string;
}

/** `success` 2xx; `stop` never retry (410 Gone, a refused destination); `retry` anything else. */
export type Verdict = 'success' | 'retry' | 'stop';

export interface AttemptResult {
  verdict: Verdict;
  startedAt: Date;
  durationMs: number;
  requestUrl: string;
  requestHeaders: Record<string, string>;
  responseStatus: number | null;
  responseHeaders: Record<string, string | string[]> | null;
  responseBody: string | null;
  error: string | null;
}

/** Fills `{key}` placeholders, URL-encoding the values; unknown keys stay as written. */
export function substituteUrlVariables(url: string, variables: readonly { key: string; value: string }[]): string {
  const values = new Map(variables.map((variable) => [variable.key, variable.value]));
  return url.replace(/\{([^{}]*)\}/g, (whole, key: string) => {
    const value = values.get(key);
    return value === undefined ? whole : encodeURIComponent(value);
  });
}

export function requestHeaders(job: DeliveryJob, now: Date): Record<string, string> {
  // Custom headers first: none can have a name Hookgate sets (the domain refuses those), and were
  // one stored anyway, Hookgate's own value still wins.
  const headers: Record<string, string> = {
    ...customRequestHeaders(job.customHeaders),
    'content-type': 'application/json',
    'user-agent': USER_AGENT,
    ...signatureHeaders(job.uuid, now, job.body, signingSecrets(job.signing, now)),
  };
  if (job.hookKind === 'SYSTEM') {
    headers['x-gitlab-event'] = 'System Hook';
    headers['x-gitlab-event-uuid'] = job.uuid;
    if (job.signing.secret) headers['x-gitlab-token'] = job.signing.secret;
  } else {
    headers['x-hookgate-event'] = job.eventName;
  }
  return headers;
}

/** The headers as the delivery log stores them: signatures, tokens and custom header values redacted. */
export function redactHeaders(headers: Record<string, string>, customHeaders: readonly CustomHeader[] = []): Record<string, string> {
  const secret = new Set([...SECRET_HEADERS, ...customHeaders.map((header) => header.key.toLowerCase())]);
  return Object.fromEntries(Object.entries(headers).map(([name, value]) => [name, secret.has(name) ? REDACTED : value]));
}

export interface SenderOptions {
  guard: SsrfGuard;
  timeoutMs: number;
  /** Connections kept per destination; matches the per-host concurrency. */
  connectionsPerOrigin: number;
  now?: () => Date;
}

export class Sender {
  private readonly verifying: Agent;
  /** Only for hooks with `enable_ssl_verification: false`, so no other hook loses verification. */
  private readonly insecure: Agent;
  readonly now: () => Date;

  constructor(private readonly options: SenderOptions) {
    this.now = options.now ?? (() => new Date());
    const agentOptions = (rejectUnauthorized: boolean): Agent.Options => ({
      connections: options.connectionsPerOrigin,
      keepAliveTimeout: 4_000,
      connect: { lookup: options.guard.pinnedLookup, rejectUnauthorized, timeout: options.timeoutMs },
    });
    this.verifying = new Agent(agentOptions(true));
    this.insecure = new Agent(agentOptions(false));
  }

  /** Makes one attempt; never throws: every failure is described in the result. */
  async send(job: DeliveryJob, signal?: AbortSignal): Promise<AttemptResult> {
    const startedAt = this.now();
    const started = performance.now();
    const headers = requestHeaders(job, startedAt);
    const result = (partial: Omit<AttemptResult, 'startedAt' | 'durationMs' | 'requestUrl' | 'requestHeaders'>): AttemptResult => ({
      startedAt,
      durationMs: Math.round(performance.now() - started),
      // The configured URL: substituted values may be secrets.
      requestUrl: job.url,
      requestHeaders: redactHeaders(headers, job.customHeaders),
      ...partial,
    });
    const url = substituteUrlVariables(job.url, job.urlVariables);
    const refusal = this.options.guard.preflight(url) ?? unsendableHeader(headers);
    if (refusal) return result({ verdict: 'stop', responseStatus: null, responseHeaders: null, responseBody: null, error: refusal });

    const timeout = new AbortController();
    const timer = setTimeout(() => timeout.abort(new TimeoutError(this.options.timeoutMs)), this.options.timeoutMs);
    const aborted = signal ? AbortSignal.any([timeout.signal, signal]) : timeout.signal;
    try {
      // undici's `request` follows no redirects: a 3xx is an answer like any other (and retried).
      const response = await request(url, {
        method: 'POST',
        headers,
        body: job.body,
        dispatcher: job.verifyTls ? this.verifying : this.insecure,
        signal: aborted,
      });
      const body = await readCapped(response.body, MAX_STORED_BODY);
      const status = response.statusCode;
      const verdict: Verdict = status >= 200 && status < 300 ? 'success' : status === 410 ? 'stop' : 'retry';
      return result({ verdict, responseStatus: status, responseHeaders: plainHeaders(response.headers), responseBody: body, error: null });
    } catch (error) {
      const blocked = findCause(error, BlockedRequestError);
      if (blocked) return result({ verdict: 'stop', responseStatus: null, responseHeaders: null, responseBody: null, error: blocked.message });
      const reason = aborted.aborted ? aborted.reason : error;
      return result({ verdict: 'retry', responseStatus: null, responseHeaders: null, responseBody: null, error: describeError(reason) });
    } finally {
      clearTimeout(timer);
    }
  }

  /** Drops every connection; called once the pool has drained (or given up on) its sends. */
  async close(): Promise<void> {
    await Promise.all([this.verifying.destroy(), this.insecure.destroy()]);
  }
}

/**
 * Why these headers cannot be sent, or null. Tokens are checked when saved, but a row written
 * before that rule (or by hand) may still hold one that is not a valid header value. Such a request
 * must never reach undici: besides failing, it can leave the origin's other queued requests
 * waiting forever (undici 7.x, connection-limited pools). The value is never part of the message.
 */
function unsendableHeader(headers: Record<string, string>): string | null {
  for (const [name, value] of Object.entries(headers)) {
    if (!/^[\t\x20-\x7e]*$/.test(value)) {
      return `The ${name} header cannot be sent: its value has characters HTTP headers do not allow (set a new token)`;
    }
  }
  return null;
}

class TimeoutError extends Error {
  override name = 'TimeoutError';
  constructor(ms: number) {
    super(`Request timed out after ${ms} ms`);
  }
}

/** Reads at most `max` bytes as text, then drops the rest (a huge answer costs nothing to store). */
async function readCapped(body: AsyncIterable<Buffer> & { destroy(): void }, max: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    chunks.push(chunk);
    size += chunk.length;
    if (size >= max) {
      body.destroy();
      break;
    }
  }
  // PostgreSQL text cannot hold NUL; a cut multi-byte character decodes as U+FFFD.
  return Buffer.concat(chunks).subarray(0, max).toString('utf8').replace(/\0/g, '');
}

function plainHeaders(headers: Record<string, string | string[] | undefined>): Record<string, string | string[]> {
  const plain: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers)) if (value !== undefined) plain[name] = value;
  return plain;
}

function findCause<T extends Error>(error: unknown, type: new (...args: never[]) => T): T | null {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current instanceof Error; depth++) {
    if (current instanceof type) return current;
    current = current.cause;
  }
  return null;
}

function describeError(error: unknown): string {
  if (error instanceof TimeoutError) return error.message;
  if (error instanceof undiciErrors.ConnectTimeoutError) return 'Connection timed out';
  if (!(error instanceof Error)) return String(error);
  const code = (error as NodeJS.ErrnoException).code;
  const cause = error.cause instanceof Error ? `: ${error.cause.message}` : '';
  return `${code ? `${code} ` : ''}${error.message}${cause}`.slice(0, 1000);
}
