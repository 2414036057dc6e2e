// What both REST routers share: their dependencies and the request wrapper that turns every
// failure into the dialect's error answer (one place per dialect, the presenter, decides how).
import type { ServerResponse } from 'node:http';
import type { DeliveryOperations } from '../domain/delivery-operations';
import type { HookService } from '../domain/hooks';
import type { UserService } from '../domain/users';
import { PayloadTooLargeError, sendJson } from './http';

/** The domain services REST calls. */
export interface RestDependencies {
  readonly hooks: HookService;
  readonly users: Pick<UserService, 'authenticate'>;
  readonly deliveries: DeliveryOperations;
}

export interface ErrorAnswer {
  status: number;
  body: unknown;
  /** Extra response headers (`Retry-After` on a 503). */
  headers?: Record<string, string>;
}

/**
 * Runs one route. A failure the dialect knows becomes its error answer; anything else is a bug and
 * propagates to the server, which logs it and answers 500.
 */
export async function runRoute(res: ServerResponse, presentError: (error: unknown) => ErrorAnswer | null, route: () => Promise<void>): Promise<true> {
  try {
    await route();
  } catch (error) {
    const answer = presentError(error);
    if (!answer) throw error;
    // An unread oversized body is not worth draining: close the connection after answering.
    const headers: Record<string, string> = { ...answer.headers, ...(error instanceof PayloadTooLargeError ? { connection: 'close' } : {}) };
    sendJson(res, answer.status, answer.body, headers);
  }
  return true;
}

export function methodNotAllowed(res: ServerResponse, allowed: readonly string[], body: unknown): true {
  sendJson(res, 405, body, { allow: allowed.join(', ') });
  return true;
}
