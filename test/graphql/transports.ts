// Helpers for the GraphQL transport tests: real graphql-ws clients over real sockets, bounded waits.
import { type Client, createClient, type FormattedExecutionResult } from 'graphql-ws';
import WebSocket from 'ws';

/** Rejects saying what it waited for when `promise` takes longer than `ms`. */
export async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: nothing after ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export interface Closed {
  code: number;
  reason: string;
}

export interface WsConnection {
  client: Client;
  /** Resolves with the first close the client saw (code and reason). */
  closed: Promise<Closed>;
  dispose(): Promise<void>;
}

export function webSocketUrl(baseUrl: string): string {
  return `${baseUrl.replace(/^http/, 'ws')}/graphql`;
}

/**
 * A graphql-ws client on `ws`. The token goes in `connectionParams.Authorization`, or with
 * `via: 'header'` in the upgrade request's Authorization header; `null` sends none.
 */
export function connectWs(baseUrl: string, token: string | null, via: 'params' | 'header' = 'params'): WsConnection {
  let onClosed: (closed: Closed) => void = () => {};
  const closed = new Promise<Closed>((resolve) => (onClosed = resolve));
  const headers = token && via === 'header' ? { authorization: `Bearer ${token}` } : {};
  class HeaderWebSocket extends WebSocket {
    constructor(address: string, protocols?: string | string[]) {
      super(address, protocols, { headers });
    }
  }
  const client = createClient({
    url: webSocketUrl(baseUrl),
    webSocketImpl: HeaderWebSocket,
    connectionParams: token && via === 'params' ? { Authorization: `Bearer ${token}` } : {},
    // A test sees each failure as it is: no reconnecting behind its back.
    retryAttempts: 0,
    lazy: false,
    on: {
      closed: (event) => {
        const { code, reason } = event as { code: number; reason: unknown };
        onClosed({ code, reason: String(reason) });
      },
    },
    // An eager client otherwise reports a refused connection as an unhandled error.
    onNonLazyError: () => {},
  });
  return { client, closed, dispose: () => Promise.resolve(client.dispose()) };
}

/** Runs one query or mutation over the socket and returns its single result. */
export async function wsExecute<T = Record<string, any>>(
  client: Client,
  query: string,
  variables: Record<string, unknown> = {},
): Promise<FormattedExecutionResult<T, unknown>> {
  const results = client.iterate<T>({ query, variables });
  const first = await within(results.next(), 30_000, `a result of ${query.slice(0, 60)}`);
  await results.return?.();
  if (first.done) throw new Error('the operation completed without a result');
  return first.value;
}

/** A live subscription: its results so far, and a bounded wait for one matching `predicate`. */
export interface LiveSubscription<T> {
  results: FormattedExecutionResult<T, unknown>[];
  waitFor(predicate: (result: FormattedExecutionResult<T, unknown>) => boolean, what: string, ms?: number): Promise<FormattedExecutionResult<T, unknown>>;
  /** Resolves with the error the subscription ended with, if it ends with one. */
  error: Promise<unknown>;
  stop(): void;
}

export function wsSubscribe<T = Record<string, any>>(client: Client, query: string, variables: Record<string, unknown> = {}): LiveSubscription<T> {
  return liveSubscription<T>((sink) => client.subscribe<T>({ query, variables }, sink));
}

/** Any client with graphql-ws's sink interface (graphql-sse has the same). */
export interface Sink<T> {
  next(result: FormattedExecutionResult<T, unknown>): void;
  error(reason: unknown): void;
  complete(): void;
}

export function liveSubscription<T>(subscribe: (sink: Sink<T>) => () => void): LiveSubscription<T> {
  const results: FormattedExecutionResult<T, unknown>[] = [];
  let onError: (error: unknown) => void = () => {};
  const error = new Promise<unknown>((resolve) => (onError = resolve));
  let failed: { reason: unknown } | undefined;
  const stop = subscribe({
    next: (result) => void results.push(result),
    error: (reason) => {
      failed = { reason };
      onError(reason);
    },
    complete: () => {},
  });
  return {
    results,
    error,
    stop,
    // Polls rather than checking each result once: a predicate may start matching a result that
    // arrived earlier (an update can beat the mutation response that names its delivery).
    waitFor: (predicate, what, ms = 30_000) =>
      waitUntil(
        () => {
          const found = results.find(predicate);
          if (found || !failed) return found;
          const { code, reason } = failed.reason as { code?: unknown; reason?: unknown };
          throw new Error(`${what}: the subscription failed first (${code ?? ''} ${String(reason ?? failed.reason)})`);
        },
        ms,
        () => `${what} (got ${JSON.stringify(results).slice(0, 500)})`,
      ),
  };
}

/** Polls `probe` until it returns a value; fails after `ms` with `describe()`. */
export async function waitUntil<T>(probe: () => T | undefined | Promise<T | undefined>, ms: number, describe: () => string): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${describe()}: nothing after ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
