// The contract between the transports (GraphQL, REST) and the delivery engine (src/delivery/).
// Transports call these; the engine implements them. Everything takes the actor: authorization
// (admin-only publishing, hook visibility) is enforced by the implementation, not the transports.
import type { Delivery, DeliveryAttempt, Event } from '../generated/prisma/client';
import type { HookKind, SubjectType } from '../generated/prisma/enums';
import type { Actor } from './actor';
import type { RecoveryWindow } from './delivery-recovery';
import type { ChangePosition } from './delivery-search';

export interface PublishEventInput {
  /** `build:complete`, `push`, `project_create`, … */
  event: string;
  subjectType?: SubjectType | null;
  subject?: string | null;
  /** Git ref for push-like events (`refs/heads/main`), matched against branch filters. */
  ref?: string | null;
  payload: unknown;
  /** Within 24 h, a repeat with the same key (by the same user) answers what the first answered. */
  idempotencyKey?: string | null;
}

export type DeliveryWithAttempts = Delivery & { attempts: DeliveryAttempt[] };

export interface PublishResult {
  event: Event;
  /** One per matching active hook, created in the same transaction as the event. */
  deliveries: Delivery[];
}

export interface DeliveryUpdate {
  deliveryId: number;
  hookId: number;
  /**
   * Subscriptions with a catch-up: the transport reports the version (`updatedAt`) it sent, so a
   * live notification of a change already sent is not sent again.
   */
  delivered?: (updatedAt: Date) => void;
}

/** What `subscribe` yields: an update, and the way its subscriber should read what it is about. */
export interface SubscribedUpdate extends DeliveryUpdate {
  /**
   * Runs a database read for this subscriber through outages: the first failure of an outage is
   * thrown (the subscriber's one error), later reads wait for the database and try again.
   */
  read<T>(load: () => Promise<T>): Promise<T>;
}

export interface DeliveryOperations {
  publish(actor: Actor, input: PublishEventInput): Promise<PublishResult>;
  /**
   * Sends the hook's sample payload right away and records it. `kind` narrows the hook lookup to
   * one REST dialect (unknown or other-kind ids are "not found"); `event` picks a subject event.
   */
  testHook(actor: Actor, hookId: number, options?: { event?: string; kind?: HookKind }): Promise<DeliveryWithAttempts>;
  /** A new attempt of an existing delivery, with the same `webhook-id`. */
  redeliver(actor: Actor, deliveryId: number): Promise<DeliveryWithAttempts>;
  /**
   * Schedules every FAILED delivery of the hook created in the window again, now (same
   * `webhook-id`); at most MAX_REDELIVER_FAILED, or nothing. Returns how many.
   */
  redeliverFailed(actor: Actor, hookId: number, window: RecoveryWindow): Promise<number>;
  getDelivery(actor: Actor, deliveryId: number): Promise<DeliveryWithAttempts>;
  /**
   * Delivery state changes (all hooks, or one), across every process sharing the database. With
   * `after`, first every delivery changed since that position (from the deliveries table), then
   * the live ones, with none missed or repeated in between.
   */
  subscribe(actor: Actor, hookId: number | null, signal?: AbortSignal, after?: ChangePosition | null): AsyncIterable<SubscribedUpdate>;
}
