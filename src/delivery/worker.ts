// The worker pool of one Hookgate process: claims due deliveries, sends them within a global and a
// per-destination concurrency limit, and hands the results to the store in batches.
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { type DatabaseAvailability, OutageLog } from '../db/availability';
import { sendDecision } from '../domain/hook-health';
import type { Logger } from '../logger';
import type { DeliveryEvents } from './events';
import { HostLimiter } from './host-limiter';
import { PendingWrites } from './pending-writes';
import { type AttemptResult, type DeliveryJob, type Sender, substituteUrlVariables } from './send';
import type { AttemptToRecord, ClaimedDelivery, DeliveryStore, RecordedAttempt } from './store';

export interface WorkerPoolOptions {
  store: DeliveryStore;
  sender: Sender;
  events: DeliveryEvents;
  logger: Logger;
  /** Whether the database answers: during an outage the pool waits for it instead of retrying blindly. */
  availability: DatabaseAvailability;
  /** Sends in flight at once; 0 makes the pool do nothing. */
  concurrency: number;
  /** Sends in flight at once to one destination (`host:port`). */
  perHostConcurrency: number;
  leaseMs: number;
  /** Polling catches what no signal announces: expired leases, other processes' retries. */
  pollMs?: number;
  now?: () => Date;
}

const CLAIM_BATCH = 100;
/**
 * A claimed delivery whose destination is at its limit waits in this process at most this long,
 * then goes back to the table (for another process, or later), so a dead receiver cannot keep
 * deliveries to other destinations waiting for slots.
 */
const QUEUE_WAIT = 1_000;
const RECORD_BATCH = 500;
const RECORD_GATHER_MS = 3;
/** At shutdown, how long results kept through an outage may still take to be written. */
const PENDING_FLUSH_ON_STOP_MS = 3_000;

export class WorkerPool {
  /** Unique per pool: a lease names the process (and pool) that holds it. */
  readonly owner = `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
  private readonly now: () => Date;
  private readonly pollMs: number;
  private running = false;
  private loop: Promise<void> | undefined;
  private wakeUp: (() => void) | undefined;
  private wakePending = false;
  /** Deliveries being sent or recorded. */
  private inFlight = 0;
  private readonly limiter: HostLimiter;
  /** Claimed deliveries waiting for a free slot at their destination. */
  private readonly waiting = new Map<string, { delivery: ClaimedDelivery; since: number }[]>();
  private waitingCount = 0;
  private lastClaimEmpty = false;
  /** Hooks last seen sending to each host: a saturated host's hooks are left out of claims. */
  private readonly hooksByHost = new Map<string, Set<number>>();
  private readonly toRecord: { attempt: AttemptToRecord; done: () => void }[] = [];
  private recording: Promise<void> | undefined;
  private readonly abort = new AbortController();
  /** Aborted when stopping starts: ends waits for the database. */
  private readonly stopping = new AbortController();
  /** Results and releases an outage kept from being written (see pending-writes.ts). */
  private readonly pending: PendingWrites;
  private readonly claimsLog: OutageLog;
  private readonly timers = new Set<NodeJS.Timeout>();
  private unsubscribeDue: (() => void) | undefined;
  private drained: (() => void) | undefined;

  constructor(private readonly options: WorkerPoolOptions) {
    this.now = options.now ?? (() => new Date());
    this.pollMs = options.pollMs ?? 500;
    this.limiter = new HostLimiter({ concurrency: options.concurrency, perHost: options.perHostConcurrency });
    this.pending = new PendingWrites({
      store: options.store,
      owner: this.owner,
      availability: options.availability,
      logger: options.logger,
      now: this.now,
      onRecorded: (outcomes) => this.scheduleRetries(outcomes),
    });
    this.claimsLog = new OutageLog(options.logger, 'delivery claims');
  }

  start(): void {
    if (this.running || this.options.concurrency === 0) return;
    this.running = true;
    this.unsubscribeDue = this.options.events.onDue(() => this.wake());
    this.loop = this.claimLoop();
  }

  /** Something may be due now (a publish, a notification, a freed slot). */
  wake(): void {
    if (this.wakeUp) this.wakeUp();
    else this.wakePending = true;
  }

  /**
   * Graceful stop: claim nothing more, let sends in flight finish within `graceMs`, abort the rest,
   * record what finished, and release every lease still held so another process takes them at once.
   */
  async stop(graceMs: number): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.stopping.abort();
    this.unsubscribeDue?.();
    for (const timer of this.timers) clearTimeout(timer);
    this.wake();
    await this.loop;
    // Waiting deliveries were never sent: releaseAll below gives them back with the rest.
    this.waiting.clear();
    this.waitingCount = 0;
    if (!(await this.drain(graceMs))) {
      this.abort.abort();
      // Aborted sends settle at once; give them a moment to hand in (and skip) their results.
      await this.drain(1_000);
    }
    await this.recording;
    await this.flushRecords();
    // Before releasing: a delivery released first would no longer take its late result.
    await this.pending.stop(PENDING_FLUSH_ON_STOP_MS);
    const released = await this.options.store.releaseAll(this.owner, this.now()).catch((error: unknown) => {
      this.options.logger.error({ err: error }, 'could not release delivery leases on shutdown');
      return 0;
    });
    if (released > 0) this.options.logger.info({ released }, 'released unfinished deliveries for other workers');
  }

  /** Resolves true once nothing is in flight, false if that takes longer than `ms`. */
  private drain(ms: number): Promise<boolean> {
    if (this.inFlight === 0) return Promise.resolve(true);
    return new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), ms);
      this.drained = () => {
        clearTimeout(timer);
        resolve(true);
      };
    });
  }

  private async claimLoop(): Promise<void> {
    const { store, logger, concurrency } = this.options;
    while (this.running) {
      const free = Math.min(concurrency - this.inFlight, concurrency - this.waitingCount);
      let claimed: ClaimedDelivery[] = [];
      let wanted = 0;
      if (this.claimWorthIt()) {
        wanted = Math.min(free, CLAIM_BATCH);
        try {
          claimed = await store.claim(this.owner, wanted, this.excludedHooks(), this.now(), this.options.leaseMs);
        } catch (error) {
          if (!this.running) break;
          // An outage is one warning, and a wait for the database; anything else is a bug to see.
          if (await this.options.availability.check()) {
            this.claimsLog.failed(error);
            await this.options.availability.waitUntilUp(this.stopping.signal);
          } else {
            logger.error({ err: error }, 'claiming deliveries failed; retrying');
            await this.sleep(1_000);
          }
          continue;
        }
        this.claimsLog.recovered();
        this.lastClaimEmpty = claimed.length === 0;
        await this.dispatch(claimed);
      }
      if (claimed.length < wanted || wanted === 0) await this.sleep(this.pollMs);
    }
  }

  /** Claim when a good share of the slots is free (batches, not one row per finished send). */
  private claimWorthIt(): boolean {
    // Waiting deliveries do not hold sending slots (a dead destination must not starve the
    // others), but they are capped too: no more of them than slots.
    const free = Math.min(this.options.concurrency - this.inFlight, this.options.concurrency - this.waitingCount);
    return free > 0 && (this.inFlight === 0 || free >= Math.max(1, Math.floor(this.options.concurrency / 4)));
  }

  private async dispatch(claimed: ClaimedDelivery[]): Promise<void> {
    const now = this.now();
    const abandoned: number[] = [];
    const postponed = new Map<number, number[]>();
    for (const delivery of claimed) {
      const { hook, job } = delivery;
      // Whether the hook may be sent to now is the domain's rule (hook-health.ts).
      const decision = sendDecision(hook, now);
      if (decision.action === 'abandon') {
        abandoned.push(job.deliveryId);
        continue;
      }
      if (decision.action === 'wait') {
        // Given back unsent: the attempt count is untouched.
        const until = decision.until.getTime();
        postponed.set(until, [...(postponed.get(until) ?? []), job.deliveryId]);
        continue;
      }
      const host = destinationOf(job);
      this.rememberHost(host, job.hookId);
      if (!this.waiting.has(host) && this.limiter.canStart(host)) {
        this.run(delivery, host);
        continue;
      }
      const queue = this.waiting.get(host) ?? [];
      if (queue.length === 0) this.waiting.set(host, queue);
      queue.push({ delivery, since: Date.now() });
      this.waitingCount++;
      this.schedule(() => void this.releaseStale(), QUEUE_WAIT);
    }
    const { store } = this.options;
    await Promise.all([
      store.abandon(this.owner, abandoned, now).catch((error: unknown) => this.pending.keepAbandon(abandoned, error)),
      ...[...postponed].map(([until, ids]) =>
        store.release(this.owner, ids, new Date(until)).catch((error: unknown) => this.pending.keepRelease(ids, new Date(until), error)),
      ),
    ]);
  }

  /** Gives back deliveries that waited too long for their destination; their hooks stay excluded while it is full. */
  private async releaseStale(): Promise<void> {
    const cutoff = Date.now() - QUEUE_WAIT;
    const stale: number[] = [];
    for (const [host, queue] of this.waiting) {
      while (queue.length > 0 && queue[0]!.since <= cutoff) {
        stale.push(queue.shift()!.delivery.job.deliveryId);
        this.waitingCount--;
      }
      if (queue.length === 0) this.waiting.delete(host);
    }
    if (stale.length === 0) return;
    this.wake();
    const now = this.now();
    await this.options.store.release(this.owner, stale, now).catch((error: unknown) => this.pending.keepRelease(stale, now, error));
  }

  private run(delivery: ClaimedDelivery, host: string): void {
    this.inFlight++;
    this.limiter.start(host);
    void this.options.sender
      .send(delivery.job, this.abort.signal)
      .then((result) => {
        this.hostDone(host);
        // Cut short by shutdown: not an answer from the receiver, so nothing to record; released.
        if (this.abort.signal.aborted && result.verdict !== 'success' && result.responseStatus === null) return;
        return this.record({ job: delivery.job, result, attemptCount: delivery.attemptCount, mode: 'scheduled', hookAlertStatus: delivery.hook.alertStatus });
      })
      .catch((error: unknown) => this.options.logger.error({ err: error, deliveryId: delivery.job.deliveryId }, 'delivery attempt failed unexpectedly'))
      .finally(() => {
        this.inFlight--;
        if (this.inFlight === 0) this.drained?.();
        // After a claim that found nothing, only news (a publish, a free destination, the poll)
        // is worth another one; otherwise every finished send would cost an empty query.
        if (!this.lastClaimEmpty && this.claimWorthIt()) this.wake();
      });
  }

  /** A send finished: deliveries waiting for a slot take it, this destination's first. */
  private hostDone(host: string): void {
    this.limiter.finish(host);
    if (!this.running) return; // Stopping: waiting deliveries stay queued; releaseAll gives them back.
    const started = this.startWaiting(host) + [...this.waiting.keys()].reduce((n, other) => n + this.startWaiting(other), 0);
    // A slot is free and nothing here waits for it: its hooks may be claimed.
    if (started === 0) this.wake();
  }

  private startWaiting(host: string): number {
    const queue = this.waiting.get(host);
    let started = 0;
    while (queue && queue.length > 0 && this.limiter.canStart(host)) {
      this.waitingCount--;
      started++;
      this.run(queue.shift()!.delivery, host);
    }
    if (queue && queue.length === 0) this.waiting.delete(host);
    return started;
  }

  private rememberHost(host: string, hookId: number): void {
    if (this.hooksByHost.size > 10_000) this.hooksByHost.clear();
    let hooks = this.hooksByHost.get(host);
    if (!hooks) this.hooksByHost.set(host, (hooks = new Set()));
    hooks.add(hookId);
  }

  private excludedHooks(): number[] {
    return this.limiter.blockedHosts().flatMap((host) => [...(this.hooksByHost.get(host) ?? [])]);
  }

  /** Queues a result; results are written in batches, one transaction each. */
  private record(attempt: AttemptToRecord): Promise<void> {
    return new Promise<void>((resolve) => {
      this.toRecord.push({ attempt, done: resolve });
      this.ensureRecording();
    });
  }

  private ensureRecording(): void {
    if (this.recording || this.toRecord.length === 0) return;
    // A few milliseconds of gathering turn a burst of finished sends into one transaction.
    this.recording = new Promise<void>((resolve) => setTimeout(resolve, RECORD_GATHER_MS))
      .then(() => this.flushRecords())
      .finally(() => {
        this.recording = undefined;
        this.ensureRecording();
      });
  }

  private async flushRecords(): Promise<void> {
    while (this.toRecord.length > 0) {
      const batch = this.toRecord.splice(0, RECORD_BATCH);
      try {
        this.scheduleRetries(
          await this.options.store.record(
            this.owner,
            batch.map((entry) => entry.attempt),
            this.now(),
          ),
        );
      } catch (error) {
        // Kept and written when the database answers, so the deliveries need not wait for their leases.
        this.pending.keepAttempts(
          batch.map((entry) => entry.attempt),
          error,
        );
      }
      for (const entry of batch) entry.done();
    }
  }

  private scheduleRetries(outcomes: readonly RecordedAttempt[]): void {
    for (const outcome of outcomes) {
      if (outcome.nextAttemptAt) this.schedule(() => this.wake(), outcome.nextAttemptAt.getTime() - Date.now());
    }
  }

  private schedule(fn: () => void, delayMs: number): void {
    if (!this.running) return;
    const timer = setTimeout(
      () => {
        this.timers.delete(timer);
        fn();
      },
      Math.max(0, delayMs),
    );
    timer.unref();
    this.timers.add(timer);
  }

  /** Waits `ms`, or less if woken; a wake that came while busy ends the next sleep at once. */
  private sleep(ms: number): Promise<void> {
    if (this.wakePending || !this.running) {
      this.wakePending = false;
      return Promise.resolve();
    }
    return new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wakeUp = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wakeUp = done;
    });
  }
}

/** The concurrency key of a delivery: host and port, after url variables are filled in. */
function destinationOf(job: DeliveryJob): string {
  try {
    return new URL(substituteUrlVariables(job.url, job.urlVariables)).host.toLowerCase();
  } catch {
    return '';
  }
}

export type { AttemptResult };
