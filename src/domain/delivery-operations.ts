// The contract between the transports (GraphQL, REST) and the delivery engine (src/delivery/).
// Transports call these; the engine implements them. Everything takes the actor: authorization
// (admin-only publishing, hook visibility) is enforced by the implementation, not the transports.
import type { Delivery, DeliveryAttempt, Event } from '../generated/prisma/client';
import type { HookKind, SubjectType } from '../generated/prisma/enums';
import type { Actor } from './actor';

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
  getDelivery(actor: Actor, deliveryId: number): Promise<DeliveryWithAttempts>;
  /** Delivery state changes (all hooks, or one), across every process sharing the database. */
  subscribe(actor: Actor, hookId: number | null, signal?: AbortSignal): AsyncIterable<DeliveryUpdate>;
}
