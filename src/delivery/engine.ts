// The delivery engine: implements the domain's DeliveryOperations contract and owns the worker
// pool, the sender and the cross-process notifications of one Hookgate process.

import type { Config } from '../config';
import { DatabaseAvailability } from '../db/availability';
import type { Notifications } from '../db/notifications';
import { DatabaseUnavailableError } from '../db/unavailable';
import { type Actor, canAccessHook, requirePublisher } from '../domain/actor';
import type { DeliveryOperations, DeliveryWithAttempts, PublishEventInput, PublishResult, SubscribedUpdate } from '../domain/delivery-operations';
import { checkRecoveryWindow, MAX_REDELIVER_FAILED, type RecoveryWindow, tooManyToRedeliver } from '../domain/delivery-recovery';
import { type ChangePosition, checkCatchUpWindow, DeliverySearch } from '../domain/delivery-search';
import { IdempotencyConflictError, NotFoundError, ValidationError } from '../domain/errors';
import { SUBJECT_EVENTS } from '../domain/hook-rules';
import type { HookService } from '../domain/hooks';
import { checkIdempotencyKey, requestFingerprint } from '../domain/idempotency';
import { isDatabaseId } from '../domain/limits';
import { SYSTEM_HOOK_SAMPLE, SYSTEM_HOOK_SAMPLE_EVENT, subjectSample } from '../domain/test-samples';
import { Prisma, type PrismaClient } from '../generated/prisma/client';
import type { HookKind } from '../generated/prisma/enums';
import type { Logger } from '../logger';
import { catchUpThenLive } from './catch-up';
import { DeliveryEvents } from './events';
import { findLiveKey } from './idempotency';
import { OperationalEvents } from './operational-events';
import { Outbox, type ValidEvent, validateEvent } from './outbox';
import { Sender } from './send';
import { SsrfGuard } from './ssrf';
import { type AttemptMode, DeliveryStore } from './store';
import { SubscriptionOutages } from './subscription-outages';
import { WorkerPool } from './worker';

export type DeliverySettings = Pick<
  Config,
  | 'HOOKGATE_ALLOW_LOCAL_REQUESTS'
  | 'HOOKGATE_OUTBOUND_ALLOWLIST'
  | 'HOOKGATE_DELIVERY_TIMEOUT'
  | 'HOOKGATE_RETRY_SCHEDULE'
  | 'HOOKGATE_LOG_RETENTION'
  | 'HOOKGATE_DELIVERY_CONCURRENCY'
  | 'HOOKGATE_DELIVERY_CONCURRENCY_PER_HOST'
  | 'HOOKGATE_DELIVERY_LEASE'
  | 'HOOKGATE_SHUTDOWN_GRACE'
>;

export interface DeliveryEngineOptions {
  prisma: PrismaClient;
  hooks: HookService;
  settings: DeliverySettings;
  logger: Logger;
  /** Cross-process LISTEN/NOTIFY (PostgreSQL); null (PGlite) keeps notifications in this process. */
  notifications: Notifications | null;
  /** The guard that also checks URLs when hooks are saved; one per app so both agree. */
  guard?: SsrfGuard;
  /** PGlite: this process owns the database, so leases found at start-up are orphans. */
  exclusiveDatabase: boolean;
  now?: () => Date;
}

/** Owner recorded for attempts made by hand (test, redeliver); they hold no lease. */
const MANUAL = 'manual';

/** The lease must outlast a send (its timeout) and the recording of its result. */
export function leaseDuration(settings: Pick<DeliverySettings, 'HOOKGATE_DELIVERY_TIMEOUT' | 'HOOKGATE_DELIVERY_LEASE'>): number {
  const minimum = settings.HOOKGATE_DELIVERY_TIMEOUT + 1_000;
  return Math.max(minimum, settings.HOOKGATE_DELIVERY_LEASE ?? settings.HOOKGATE_DELIVERY_TIMEOUT + 60_000);
}

export class DeliveryEngine implements DeliveryOperations {
  readonly guard: SsrfGuard;
  readonly events: DeliveryEvents;
  readonly store: DeliveryStore;
  readonly sender: Sender;
  readonly pool: WorkerPool;
  /** Whether the database answers; the pool and subscriptions wait out outages with it. */
  readonly availability: DatabaseAvailability;
  private readonly outbox: Outbox;
  private readonly search: DeliverySearch;
  private readonly subscriptionOutages: SubscriptionOutages;
  private readonly now: () => Date;
  private started = false;

  constructor(private readonly options: DeliveryEngineOptions) {
    const { settings, logger } = options;
    this.now = options.now ?? (() => new Date());
    this.guard =
      options.guard ?? new SsrfGuard({ allowLocalRequests: settings.HOOKGATE_ALLOW_LOCAL_REQUESTS, allowlist: settings.HOOKGATE_OUTBOUND_ALLOWLIST });
    this.events = new DeliveryEvents(options.notifications);
    this.outbox = new Outbox(options.prisma, this.events);
    const operational = new OperationalEvents(this.outbox, this.events);
    options.hooks.announceAlertChangesWith(operational);
    this.store = new DeliveryStore(options.prisma, this.events, settings.HOOKGATE_RETRY_SCHEDULE, logger, operational);
    this.sender = new Sender({
      guard: this.guard,
      timeoutMs: settings.HOOKGATE_DELIVERY_TIMEOUT,
      connectionsPerOrigin: settings.HOOKGATE_DELIVERY_CONCURRENCY_PER_HOST,
      now: this.now,
    });
    this.search = new DeliverySearch(options.prisma, options.hooks);
    this.availability = new DatabaseAvailability(() => options.prisma.$queryRaw`SELECT 1`);
    this.subscriptionOutages = new SubscriptionOutages(this.availability, logger);
    this.pool = new WorkerPool({
      store: this.store,
      sender: this.sender,
      events: this.events,
      logger,
      availability: this.availability,
      concurrency: settings.HOOKGATE_DELIVERY_CONCURRENCY,
      perHostConcurrency: settings.HOOKGATE_DELIVERY_CONCURRENCY_PER_HOST,
      leaseMs: leaseDuration(settings),
      now: this.now,
    });
  }

  /** Listens for notifications and starts the worker pool. */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    await this.events.start();
    if (this.options.exclusiveDatabase && this.options.settings.HOOKGATE_DELIVERY_CONCURRENCY > 0) {
      const released = await this.store.releaseOrphans(this.now());
      if (released > 0) this.options.logger.info({ released }, 'took over deliveries left by a previous process');
    }
    this.pool.start();
  }

  /** Graceful: see WorkerPool.stop. Safe to call when never started. */
  async stop(): Promise<void> {
    await this.pool.stop(this.options.settings.HOOKGATE_SHUTDOWN_GRACE);
    this.availability.close();
    await this.sender.close();
  }

  async publish(actor: Actor, input: PublishEventInput): Promise<PublishResult> {
    requirePublisher(actor);
    const event = validateEvent(input);
    const key = checkIdempotencyKey(input.idempotencyKey);
    if (key === null) {
      const result = await this.outbox.publish(event, this.now());
      if (result.deliveries.length > 0) this.pool.wake();
      return result;
    }
    const once = { userId: actor.id, key, requestHash: requestFingerprint({ ...event, payload: event.payload === Prisma.JsonNull ? null : event.payload }) };
    // The key is claimed by the publishing statement; when it is taken, the first answer is read
    // back. A key that expires (or is pruned) between the two is simply claimed on the next turn.
    for (let attempt = 0; attempt < 3; attempt++) {
      const now = this.now();
      const result = await this.outbox.publish(event, now, once);
      if (result) {
        if (result.deliveries.length > 0) this.pool.wake();
        return result;
      }
      const stored = await findLiveKey(this.options.prisma, actor.id, key, now);
      if (!stored) continue;
      if (stored.requestHash !== once.requestHash) throw new IdempotencyConflictError();
      return this.published(stored.eventId, event, stored.createdAt);
    }
    throw new Error('idempotency key neither claimed nor found after 3 tries');
  }

  /**
   * An event as publishing answered it: the event and its deliveries, in id order. An event the
   * log's retention removed meanwhile is the same request (the same fingerprint), so `request`
   * stands in for it.
   */
  private async published(eventId: number, request: ValidEvent, createdAt: Date): Promise<PublishResult> {
    const { prisma } = this.options;
    const [event, deliveries] = await Promise.all([
      prisma.event.findUnique({ where: { id: eventId } }),
      prisma.delivery.findMany({ where: { eventId }, orderBy: { id: 'asc' } }),
    ]);
    const payload = (request.payload === Prisma.JsonNull ? null : request.payload) as Prisma.JsonValue;
    return {
      event: event ?? { id: eventId, name: request.name, subjectType: request.subjectType, subject: request.subject, ref: request.ref, payload, createdAt },
      deliveries,
    };
  }

  async testHook(actor: Actor, hookId: number, options: { event?: string; kind?: HookKind } = {}): Promise<DeliveryWithAttempts> {
    const hook = await this.options.hooks.get(actor, hookId, options.kind);
    let name = SYSTEM_HOOK_SAMPLE_EVENT;
    let payload: Record<string, unknown> = SYSTEM_HOOK_SAMPLE;
    if (hook.kind === 'SUBJECT' && hook.subjectType && hook.subject !== null) {
      const allowed = SUBJECT_EVENTS[hook.subjectType];
      name = options.event ?? hook.events[0] ?? allowed[0]!;
      if (!allowed.includes(name)) {
        throw ValidationError.of('event', `${JSON.stringify(name)} not supported for ${hook.subjectType.toLowerCase()}; allowed: ${allowed.join(', ')}`);
      }
      payload = subjectSample(name, hook.subjectType, hook.subject);
    }
    const delivery = await this.options.prisma.$transaction(async (tx) => {
      const event = await tx.event.create({
        data: { name, subjectType: hook.subjectType, subject: hook.subject, payload: payload as Prisma.InputJsonObject },
      });
      // Not due (nextAttemptAt null): it is sent right here, once, and never by a worker.
      return tx.delivery.create({ data: { eventId: event.id, hookId: hook.id, nextAttemptAt: null } });
    });
    return this.attemptNow(delivery.id, 'test');
  }

  async redeliver(actor: Actor, deliveryId: number): Promise<DeliveryWithAttempts> {
    await this.getDelivery(actor, deliveryId);
    return this.attemptNow(deliveryId, 'redeliver');
  }

  async getDelivery(actor: Actor, deliveryId: number): Promise<DeliveryWithAttempts> {
    const found = isDatabaseId(deliveryId)
      ? await this.options.prisma.delivery.findUnique({
          where: { id: deliveryId },
          include: {
            attempts: { orderBy: [{ startedAt: 'asc' }, { id: 'asc' }] },
            hook: { select: { kind: true, namespace: true, createdById: true } },
          },
        })
      : null;
    if (!found || !canAccessHook(actor, found.hook)) throw new NotFoundError('Delivery');
    const { hook: _hook, ...delivery } = found;
    return delivery;
  }

  async redeliverFailed(actor: Actor, hookId: number, window: RecoveryWindow): Promise<number> {
    await this.options.hooks.get(actor, hookId);
    const now = this.now();
    const { since, until } = checkRecoveryWindow(window, now);
    const updates = await this.store.rescheduleFailed(hookId, since, until, MAX_REDELIVER_FAILED, now);
    if (updates === null) throw tooManyToRedeliver();
    if (updates.length > 0) this.pool.wake();
    return updates.length;
  }

  subscribe(actor: Actor, hookId: number | null, signal?: AbortSignal, after?: ChangePosition | null): AsyncIterable<SubscribedUpdate> {
    // Listening starts now, so nothing between this call and the first `next()` is missed.
    const read = this.subscriptionOutages.reader(signal);
    const live = this.liveUpdates(actor, hookId, read, signal);
    if (!after) return live;
    checkCatchUpWindow(after, this.now(), this.options.settings.HOOKGATE_LOG_RETENTION);
    const search = this.search;
    const prisma = this.options.prisma;
    return catchUpThenLive(
      after,
      {
        changedSince: (position, limit) => search.changedSince(actor, hookId, position, limit),
        versionOf: async (id) => (await prisma.delivery.findUnique({ where: { id }, select: { updatedAt: true } }))?.updatedAt ?? null,
      },
      live,
      (update) => ({ ...update, read }),
    );
  }

  /** The live updates `actor` may see, of one hook or of all. */
  private liveUpdates(actor: Actor, hookId: number | null, read: SubscribedUpdate['read'], signal?: AbortSignal): AsyncIterable<SubscribedUpdate> {
    const source = this.events.updates(signal);
    const hooks = this.options.hooks;
    const prisma = this.options.prisma;
    const outages = this.subscriptionOutages;
    return {
      async *[Symbol.asyncIterator]() {
        if (hookId !== null) await hooks.get(actor, hookId);
        const visible = new Map<number, boolean>();
        for await (const update of source) {
          // While the database is down, updates wait (their reads would only fail).
          await outages.pause(signal);
          if (hookId !== null) {
            if (update.hookId === hookId) yield { ...update, read };
            continue;
          }
          if (actor.isAdmin) {
            yield { ...update, read };
            continue;
          }
          let allowed = visible.get(update.hookId);
          if (allowed === undefined) {
            const hook = await readThrough(read, () =>
              prisma.hook.findUnique({ where: { id: update.hookId }, select: { kind: true, namespace: true, createdById: true } }),
            );
            allowed = hook !== null && canAccessHook(actor, hook);
            if (visible.size > 10_000) visible.clear();
            visible.set(update.hookId, allowed);
          }
          if (allowed) yield { ...update, read };
        }
      },
    };
  }

  /** Sends one attempt of a delivery right away and records it. */
  private async attemptNow(deliveryId: number, mode: AttemptMode): Promise<DeliveryWithAttempts> {
    const [claimed] = await this.store.load([deliveryId]);
    if (!claimed) throw new NotFoundError('Delivery');
    const result = await this.sender.send(claimed.job);
    await this.store.record(
      MANUAL,
      [{ job: claimed.job, result, attemptCount: claimed.attemptCount, mode, hookAlertStatus: claimed.hook.alertStatus }],
      this.now(),
    );
    const delivery = await this.options.prisma.delivery.findUniqueOrThrow({
      where: { id: deliveryId },
      include: { attempts: { orderBy: [{ startedAt: 'asc' }, { id: 'asc' }] } },
    });
    return delivery;
  }
}

/** `read`, but an outage never ends the stream here: the read waits for the database and runs again. */
async function readThrough<T>(read: SubscribedUpdate['read'], load: () => Promise<T>): Promise<T> {
  for (;;) {
    try {
      return await read(load);
    } catch (error) {
      if (!(error instanceof DatabaseUnavailableError)) throw error;
    }
  }
}
