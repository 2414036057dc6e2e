// Is the database answering? Shared by everything in one process that must wait out an outage
// (delivery results, claims, subscriptions): one probe loop, however many are waiting, and one log
// line per outage per component instead of one per failed attempt.
import type { Logger } from '../logger';

const PROBE_MIN_MS = 100;
/** Probing never backs off beyond this, so work resumes within it of the database's return. */
const PROBE_MAX_MS = 2_000;
/** A probe that has not answered by then counts as failed (a server that swallows packets). */
const PROBE_TIMEOUT_MS = 3_000;

export class DatabaseAvailability {
  private isDown = false;
  private downSince = 0;
  /** Incremented each time the database goes down: tells one outage from the next. */
  private outages = 0;
  private probing: Promise<void> | null = null;
  private readonly waiters = new Set<() => void>();
  private closed = false;

  private readonly probe: () => Promise<unknown>;

  constructor(probe: () => Promise<unknown>) {
    this.probe = () => {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`the database did not answer within ${PROBE_TIMEOUT_MS} ms`)), PROBE_TIMEOUT_MS);
      });
      return Promise.race([probe(), timeout]).finally(() => clearTimeout(timer));
    };
  }

  get down(): boolean {
    return this.isDown;
  }

  /** Which outage this is (0 before the first); stays the same until the database goes down again. */
  get outage(): number {
    return this.outages;
  }

  /**
   * After an operation failed: does the database answer? Probes once (unless it is already known to
   * be down) and returns true when it does not; it is then down until a probe succeeds.
   */
  async check(): Promise<boolean> {
    if (this.isDown) return true;
    try {
      await this.probe();
      return false;
    } catch {
      if (!this.isDown) {
        this.isDown = true;
        this.downSince = Date.now();
        this.outages++;
        this.probing ??= this.probeUntilUp().finally(() => (this.probing = null));
      }
      return true;
    }
  }

  /** Resolves once the database is not known to be down (at once if it is not); early when `signal` aborts or on close. */
  waitUntilUp(signal?: AbortSignal): Promise<void> {
    if (!this.isDown || this.closed || signal?.aborted) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const done = () => {
        this.waiters.delete(done);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      this.waiters.add(done);
      signal?.addEventListener('abort', done, { once: true });
    });
  }

  /** Milliseconds the current outage has lasted (0 when up). */
  get downForMs(): number {
    return this.isDown ? Date.now() - this.downSince : 0;
  }

  /** Stops probing and releases every waiter (shutdown). */
  close(): void {
    this.closed = true;
    for (const waiter of [...this.waiters]) waiter();
  }

  private async probeUntilUp(): Promise<void> {
    let delay = PROBE_MIN_MS;
    while (this.isDown && !this.closed) {
      await new Promise((resolve) => setTimeout(resolve, delay).unref());
      try {
        await this.probe();
        this.isDown = false;
      } catch {
        delay = Math.min(PROBE_MAX_MS, delay * 2);
      }
    }
    for (const waiter of [...this.waiters]) waiter();
  }
}

/**
 * One component's view of outages, for its log: the first failure of an outage is one warning,
 * the rest are counted, and recovery is one line with the count and how long it lasted.
 */
export class OutageLog {
  private failures = 0;
  private since = 0;

  constructor(
    private readonly logger: Logger,
    private readonly component: string,
  ) {}

  get inOutage(): boolean {
    return this.failures > 0;
  }

  failed(error: unknown): void {
    if (this.failures++ > 0) return;
    this.since = Date.now();
    this.logger.warn({ component: this.component, err: summary(error) }, `${this.component}: the database is not answering; retrying quietly until it does`);
  }

  recovered(details: Record<string, unknown> = {}): void {
    if (this.failures === 0) return;
    this.logger.info(
      { component: this.component, failedAttempts: this.failures, outageMs: Date.now() - this.since, ...details },
      `${this.component}: the database answers again`,
    );
    this.failures = 0;
  }
}

/** The error without its stack: an outage is an operational fact, not a bug to trace. */
function summary(error: unknown): { message: string; code?: string } {
  if (!(error instanceof Error)) return { message: String(error) };
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' ? { message: error.message, code } : { message: error.message };
}
