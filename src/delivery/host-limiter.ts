// Per-destination fairness of the send pool. Each destination (`host:port`) has its own cap, and
// beyond a small guaranteed share a destination may only take a slot while a reserve of the pool
// stays free: however many destinations hang, they hold at most `concurrency - reserve` slots
// together, and a destination that is answering finds a slot at once.

export interface HostLimiterOptions {
  /** Sends in flight at once in the whole pool. */
  concurrency: number;
  /** Sends in flight at once to one destination. */
  perHost: number;
}

export class HostLimiter {
  private readonly sendsByHost = new Map<string, number>();
  private total = 0;
  /** Slots only destinations within their guaranteed share may take. */
  readonly reserve: number;
  /** Sends every destination may have in flight whatever the others hold. */
  readonly guaranteed: number;

  constructor(private readonly options: HostLimiterOptions) {
    this.reserve = options.concurrency > 1 ? Math.max(1, Math.floor(options.concurrency / 4)) : 0;
    this.guaranteed = Math.max(1, Math.min(options.perHost, Math.floor(options.perHost / 4)));
  }

  /** Whether a send to `host` may start now. */
  canStart(host: string): boolean {
    const held = this.sendsByHost.get(host) ?? 0;
    if (held >= this.options.perHost || this.total >= this.options.concurrency) return false;
    return held < this.guaranteed || this.options.concurrency - this.total > this.reserve;
  }

  start(host: string): void {
    this.sendsByHost.set(host, (this.sendsByHost.get(host) ?? 0) + 1);
    this.total++;
  }

  finish(host: string): void {
    const left = (this.sendsByHost.get(host) ?? 1) - 1;
    if (left > 0) this.sendsByHost.set(host, left);
    else this.sendsByHost.delete(host);
    this.total = Math.max(0, this.total - 1);
  }

  /** Destinations that could not start a send now (their hooks are left out of claims). */
  blockedHosts(): string[] {
    return [...this.sendsByHost.keys()].filter((host) => !this.canStart(host));
  }
}
