// Delivery results and lease releases the database could not take when they were made: kept in
// memory (bounded) and written once it answers again, so after an outage deliveries move on within
// seconds instead of waiting for their leases to run out (and being sent a second time).
//
// A late result is written exactly as an on-time one: the store records the attempt, and moves the
// delivery on only while this process still holds its lease. A write whose commit was lost with its
// connection may be written twice; that costs a duplicate line in the attempt log, never a send.
import type { DatabaseAvailability } from '../db/availability';
import { OutageLog } from '../db/availability';
import type { Logger } from '../logger';
import type { AttemptToRecord, DeliveryStore, RecordedAttempt } from './store';

export interface PendingLimits {
  /** Results kept at most; beyond, their deliveries wait for their leases as before. */
  attempts: number;
  /** Bytes of stored response bodies and headers those results may hold. */
  bytes: number;
  /** Deliveries whose release is kept at most. */
  releases: number;
}

const DEFAULT_LIMITS: PendingLimits = { attempts: 10_000, bytes: 64 * 1024 * 1024, releases: 100_000 };
const RECORD_BATCH = 500;
/** Failures while the database answers are the writes' own: after this many in a row they are given up. */
const MAX_FAILURES_WHILE_UP = 3;
const RETRY_WHILE_UP_MS = 500;

export interface PendingWritesOptions {
  store: Pick<DeliveryStore, 'record' | 'release' | 'abandon'>;
  owner: string;
  availability: DatabaseAvailability;
  logger: Logger;
  now: () => Date;
  /** What late results recorded, so the pool can schedule the retries they set. */
  onRecorded: (outcomes: readonly RecordedAttempt[]) => void;
  limits?: Partial<PendingLimits>;
}

export class PendingWrites {
  private readonly limits: PendingLimits;
  private readonly log: OutageLog;
  private attempts: { attempt: AttemptToRecord; bytes: number }[] = [];
  private bytes = 0;
  /** Delivery id → when it is due again; a later release of the same delivery wins. */
  private readonly releases = new Map<number, Date>();
  private readonly abandons = new Set<number>();
  /** Kept nothing of these (over the limits, or given up): their leases run out as before. */
  private dropped = 0;
  private failuresWhileUp = 0;
  private writing: Promise<boolean> | null = null;
  private flushing: Promise<void> | null = null;
  private readonly stopping = new AbortController();

  constructor(private readonly options: PendingWritesOptions) {
    this.limits = { ...DEFAULT_LIMITS, ...options.limits };
    this.log = new OutageLog(options.logger, 'delivery results');
  }

  /** Results and releases waiting to be written. */
  get size(): number {
    return this.attempts.length + this.releases.size + this.abandons.size;
  }

  /** Results `store.record` could not write (failed with `error`). */
  keepAttempts(attempts: readonly AttemptToRecord[], error: unknown): void {
    for (const attempt of attempts) {
      const bytes = attemptBytes(attempt);
      if (this.attempts.length >= this.limits.attempts || this.bytes + bytes > this.limits.bytes) {
        this.dropped++;
        continue;
      }
      this.attempts.push({ attempt, bytes });
      this.bytes += bytes;
    }
    this.failed(error);
  }

  /** Deliveries `store.release` could not give back, due again at `until`. */
  keepRelease(ids: readonly number[], until: Date, error: unknown): void {
    for (const id of ids) {
      if (!this.releases.has(id) && this.releases.size + this.abandons.size >= this.limits.releases) this.dropped++;
      else this.releases.set(id, until);
    }
    this.failed(error);
  }

  /** Deliveries `store.abandon` could not give up (their hook was disabled). */
  keepAbandon(ids: readonly number[], error: unknown): void {
    for (const id of ids) {
      if (this.releases.size + this.abandons.size >= this.limits.releases) this.dropped++;
      else this.abandons.add(id);
    }
    this.failed(error);
  }

  /**
   * Shutdown: writes what it can within `graceMs`, then logs what is left, with counts. Those
   * deliveries are sent again when their leases run out (by another process, or the next start).
   */
  async stop(graceMs: number): Promise<void> {
    this.stopping.abort();
    await this.flushing;
    const deadline = Date.now() + graceMs;
    while (this.size > 0 && Date.now() < deadline) {
      if (!(await this.options.availability.check()) && (await this.write())) break;
      await new Promise((resolve) => setTimeout(resolve, Math.min(250, Math.max(0, deadline - Date.now()))));
    }
    if (this.size > 0 || this.dropped > 0) {
      this.options.logger.error(
        {
          results: this.attempts.length,
          releases: this.releases.size + this.abandons.size,
          dropped: this.dropped,
        },
        `could not write ${this.attempts.length} delivery results and ${this.releases.size + this.abandons.size} lease releases before shutdown` +
          (this.dropped > 0 ? ` (${this.dropped} more were not kept)` : '') +
          '; those deliveries are sent again when their leases run out',
      );
    }
  }

  private failed(error: unknown): void {
    this.log.failed(error);
    if (this.stopping.signal.aborted) return;
    this.flushing ??= this.flush().finally(() => (this.flushing = null));
  }

  /** Writes everything kept, waiting out the outage; one write at a time. */
  private async flush(): Promise<void> {
    const { availability } = this.options;
    while (this.size > 0 && !this.stopping.signal.aborted) {
      if (await availability.check()) {
        await availability.waitUntilUp(this.stopping.signal);
        continue;
      }
      if (await this.write()) break;
      if (this.failuresWhileUp >= MAX_FAILURES_WHILE_UP) {
        this.giveUp();
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, RETRY_WHILE_UP_MS));
    }
    if (this.size === 0) this.log.recovered(this.dropped > 0 ? { notKept: this.dropped } : {});
    if (this.size === 0) this.dropped = 0;
  }

  private write(): Promise<boolean> {
    this.writing ??= this.writeOnce().finally(() => (this.writing = null));
    return this.writing;
  }

  /** One pass over everything kept; true once all of it is written. Releases go first: they are small and free work for every process. */
  private async writeOnce(): Promise<boolean> {
    const { store, owner, now } = this.options;
    try {
      if (this.abandons.size > 0) {
        const ids = [...this.abandons];
        await store.abandon(owner, ids, now());
        for (const id of ids) this.abandons.delete(id);
      }
      const byTime = new Map<number, number[]>();
      for (const [id, until] of this.releases) byTime.set(until.getTime(), [...(byTime.get(until.getTime()) ?? []), id]);
      for (const [until, ids] of byTime) {
        await store.release(owner, ids, new Date(until));
        for (const id of ids) if (this.releases.get(id)?.getTime() === until) this.releases.delete(id);
      }
      while (this.attempts.length > 0) {
        const batch = this.attempts.slice(0, RECORD_BATCH);
        const outcomes = await store.record(
          owner,
          batch.map((entry) => entry.attempt),
          now(),
        );
        this.attempts.splice(0, batch.length);
        for (const entry of batch) this.bytes -= entry.bytes;
        this.options.onRecorded(outcomes);
      }
      this.failuresWhileUp = 0;
      return true;
    } catch (error) {
      // Down again, or something wrong with the writes themselves: `flush` asks which.
      if (!(await this.options.availability.check())) {
        this.failuresWhileUp++;
        if (this.failuresWhileUp >= MAX_FAILURES_WHILE_UP)
          this.options.logger.error({ err: error }, 'writing kept delivery results failed while the database answers');
      }
      return false;
    }
  }

  private giveUp(): void {
    const count = this.size;
    this.dropped += count;
    this.attempts = [];
    this.bytes = 0;
    this.releases.clear();
    this.abandons.clear();
    this.failuresWhileUp = 0;
    this.options.logger.error({ count }, `gave up writing ${count} delivery results and releases; those deliveries are sent again when their leases run out`);
  }
}

/** What a kept result costs in memory, roughly: its stored response and request headers. */
function attemptBytes({ result }: AttemptToRecord): number {
  return 512 + (result.responseBody?.length ?? 0) + JSON.stringify(result.responseHeaders ?? {}).length + JSON.stringify(result.requestHeaders).length;
}
