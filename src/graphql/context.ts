// What every resolver receives. Built once per request by the Yoga handler (see yoga.ts).
import type { Actor } from '../domain/actor';
import type { Services } from '../domain/services';
import type { PrismaClient } from '../generated/prisma/client';

/** The domain services GraphQL calls. */
export type GraphQLServices = Services;

export interface GraphQLContext {
  /** The authenticated caller, or null (then `authFailure` says why). */
  readonly actor: Actor | null;
  readonly authFailure: string;
  readonly services: GraphQLServices;
  /**
   * Read-only use by plugin-prisma's planned queries (one client per app, so several apps can
   * live in one process, as the tests do). Writes go through `services`, never through this.
   */
  readonly prisma: PrismaClient;
  /** This server's origin as the client addressed it (`http://host:port`), for absolute links. */
  readonly origin: string;
  /** Aborted when the client goes away; ends subscriptions. */
  readonly signal: AbortSignal;
}
