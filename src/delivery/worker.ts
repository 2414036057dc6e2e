// The worker pool of one Hookgate process: claims due deliveries, sends them within a global and a
// per-destination concurrency limit, and hands the results to the store in batches.
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Logger } from '../logger';
import type { DeliveryEvents } from './events';
import { substituteUrlVariables, type AttemptResult, type DeliveryJob, type Sender } from './send';
import type { AttemptToRecord, ClaimedDelivery, DeliveryStore } from './store';

export interface WorkerPoolOptions {
  store: DeliveryStore;
  sender: Sender;
  events: DeliveryEvents;
  logger: Logger;
  /** Sends in flight at once; 0 makes the pool do nothing. */
  concurrency: number;
  /** Sends in flight at once to one destination (`host:port`). */
  perHostConcurrency: number;
  leaseMs: number;
  logRetentionMs: number;
  /** Polling catches what no signal announces: expired leases, other processes' retries. */
  pollMs?: number;
  now?: () => Date;
}

const CLAIM_BATCH = 100;
const RECORD_BATCH = 500;
const PRUNE_EVERY = 3_600_000;

export class WorkerPool {
  /** Unique per pool: a lease names the process (and pool) that holds it. */
  readonly owner = `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
  private readonly now: () => Date;
  private readonly pollMs: number;
  private running = false;
  private loop: Promise<void> | undefined;
  private wakeUp: (() => void) | undefined;
  private wakePending = false;
  /** Deliveries between claim and recorded result. */
  private inFlight = 0;
  private readonly sendsByHost = new Map<string, number>();
  /** Hooks last seen sending to each host: a saturated host's hooks are left out of claims. */
  private readonly hooksByHost = new Map<string, Set<number>>();
  private readonly toRecord: { attempt: AttemptToRecord; done: () => void }[] = [];
  private recording: Promise<void> | undefined;
  private readonly abort = new AbortController();
  private readonly timers = new Set<NodeJS.Timeout>();
  private unsubscribeDue: (() => void) | undefined;
  private drained: (() => void) | undefined;

  constructor(private readonly options: WorkerPoolOptions) {
    this.now = options.now ?? (() => new Date());
    this.pollMs = options.pollMs ?? 500;
  }

  start(): void {
    if (this.running || this.options.concurrency === 0) return;
    this.running = true;
    this.unsubscribeDue = this.options.events.onDue(() => this.wake());
    this.loop = this.claimLoop();
    this.schedule(() => void this.prune(), 5_000);
  }

  /** Something may be due now (a publish, a notification, a freed slot). */
  wake(): void {
    this.wakePending = true;
    this.wakeUp?.();
  }

  /**
   * Graceful stop: claim nothing more, let sends in flight finish within `graceMs`, abort the rest,
   * record what finished, and release every lease still held so another process takes them at once.
   */
  async stop(graceMs: number): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.unsubscribeDue?.();
    for (const timer of this.timers) clearTimeout(timer);
    this.wake();
    await this.loop;
    if (!(await this.drain(graceMs))) {
      this.abort.abort();
      // Aborted sends settle at once; give them a moment to hand in (and skip) their results.
      await this.drain(1_000);
    }
    await this.recording;
    await this.flushRecords();
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
      const free = concurrency - this.inFlight;
      let claimed: ClaimedDelivery[] = [];
      let wanted = 0;
      if (free > 0) {
        wanted = Math.min(free, CLAIM_BATCH);
        this.wakePending = false;
        try {
          claimed = await store.claim(this.owner, wanted, this.excludedHooks(), this.now(), this.options.leaseMs);
        } catch (error) {
          if (!this.running) break;
          logger.error({ err: error }, 'claiming deliveries failed; retrying');
          await this.sleep(1_000);
          continue;
        }
        await this.dispatch(claimed);
      }
      if (claimed.length < wanted || free <= 0) await this.sleep(this.pollMs);
    }
  }

  private async dispatch(claimed: ClaimedDelivery[]): Promise<void> {
    const now = this.now();
    const busy: number[] = [];
    const abandoned: number[] = [];
    const postponed = new Map<number, number[]>();
    for (const delivery of claimed) {
      const { hook, job } = delivery;
      if (!hook.isActive || hook.alertStatus === 'DISABLED') {
        abandoned.push(job.deliveryId);
        continue;
      }
      if (hook.alertStatus === 'TEMPORARILY_DISABLED' && hook.disabledUntil && hook.disabledUntil > now) {
        const until = hook.disabledUntil.getTime();
        postponed.set(until, [...(postponed.get(until) ?? []), job.deliveryId]);
        continue;
      }
      const host = destinationOf(job);
      this.rememberHost(host, job.hookId);
      if ((this.sendsByHost.get(host) ?? 0) >= this.options.perHostConcurrency) {
        busy.push(job.deliveryId);
        continue;
      }
      this.run(delivery, host);
    }
    const { store } = this.options;
    // Busy destinations: give the rows back at once; their hooks are excluded while the host is full.
    await Promise.all([
      store.release(this.owner, busy, now),
      store.abandon(this.owner, abandoned, now),
      ...[...postponed].map(([until, ids]) => store.release(this.owner, ids, new Date(until))),
    ]).catch((error: unknown) => this.options.logger.error({ err: error }, 'could not release deliveries; their leases will expire'));
  }

  private run(delivery: ClaimedDelivery, host: string): void {
    this.inFlight++;
    this.sendsByHost.set(host, (this.sendsByHost.get(host) ?? 0) + 1);
    void this.options.sender.send(delivery.job, this.abort.signal)
      .then((result) => {
        this.hostDone(host);
        // Cut short by shutdown: not an answer from the receiver, so nothing to record; released.
        if (this.abort.signal.aborted && result.verdict !== 'success' && result.responseStatus === null) return;
        return this.record({ job: delivery.job, result, attemptCount: delivery.attemptCount, mode: 'scheduled' });
      })
      .catch((error: unknown) => this.options.logger.error({ err: error, deliveryId: delivery.job.deliveryId }, 'delivery attempt failed unexpectedly'))
      .finally(() => {
        this.inFlight--;
        if (this.inFlight === 0) this.drained?.();
        this.wake();
      });
  }

  private hostDone(host: string): void {
    const left = (this.sendsByHost.get(host) ?? 1) - 1;
    if (left > 0) this.sendsByHost.set(host, left);
    else this.sendsByHost.delete(host);
    this.wake();
  }

  private rememberHost(host: string, hookId: number): void {
    if (this.hooksByHost.size > 10_000) this.hooksByHost.clear();
    let hooks = this.hooksByHost.get(host);
    if (!hooks) this.hooksByHost.set(host, (hooks = new Set()));
    hooks.add(hookId);
  }

  private excludedHooks(): number[] {
    const excluded: number[] = [];
    for (const [host, sends] of this.sendsByHost) {
      if (sends >= this.options.perHostConcurrency) excluded.push(...(this.hooksByHost.get(host) ?? []));
    }
    return excluded;
  }

  /** Queues a result; results are written in batches, one transaction each. */
  private record(attempt: AttemptToRecord): Promise<void> {
    return new Promise<void>((resolve) => {
      this.toRecord.push({ attempt, done: resolve });
      this.recording ??= this.flushRecords().finally(() => (this.recording = undefined));
    });
  }

  private async flushRecords(): Promise<void> {
    while (this.toRecord.length > 0) {
      const batch = this.toRecord.splice(0, RECORD_BATCH);
      try {
        const outcomes = await this.options.store.record(this.owner, batch.map((entry) => entry.attempt), this.now());
        for (const outcome of outcomes) {
          if (outcome.nextAttemptAt) this.schedule(() => this.wake(), outcome.nextAttemptAt.getTime() - Date.now());
        }
      } catch (error) {
        // The leases run out and the deliveries are sent again: at least once, never lost.
        this.options.logger.error({ err: error, count: batch.length }, 'recording delivery attempts failed');
      }
      for (const entry of batch) entry.done();
    }
  }

  private async prune(): Promise<void> {
    if (!this.running) return;
    try {
      const cutoff = new Date(this.now().getTime() - this.options.logRetentionMs);
      const pruned = await this.options.store.prune(cutoff);
      if (pruned > 0) this.options.logger.info({ pruned }, 'pruned old delivery attempts');
    } catch (error) {
      this.options.logger.warn({ err: error }, 'pruning delivery attempts failed');
    }
    this.schedule(() => void this.prune(), PRUNE_EVERY);
  }

  private schedule(fn: () => void, delayMs: number): void {
    if (!this.running) return;
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      fn();
    }, Math.max(0, delayMs));
    timer.unref();
    this.timers.add(timer);
  }

  private sleep(ms: number): Promise<void> {
    if (this.wakePending || !this.running) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wakeUp = () => {
        this.wakeUp = undefined;
        done();
      };
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
