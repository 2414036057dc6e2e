// Prometheus metrics: process metrics, request count and latency by route and status, the
// hook cache's size and hit rate, and the delivery log's size and retention.
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { LogTableSize } from '../delivery/log-size';
import type { RetentionRun } from '../delivery/retention';
import type { CacheStats } from '../domain/hook-cache';

export interface HttpMetrics {
  readonly registry: Registry;
  observeRequest(method: string, route: string, status: number, seconds: number): void;
}

export interface LogMetricsSources {
  /** Measured at each scrape (a catalog query, not a scan). */
  tables: () => Promise<LogTableSize[]>;
  /** This process's last retention run. */
  lastRetentionRun: () => RetentionRun | undefined;
}

export function createMetrics(options: { hookCache?: () => CacheStats; log?: LogMetricsSources } = {}): HttpMetrics {
  // One registry per app, so several apps in one process (tests) do not collide.
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  if (options.hookCache) registerCacheMetrics(registry, options.hookCache);
  if (options.log) registerLogMetrics(registry, options.log);
  const labelNames = ['method', 'route', 'status'] as const;
  const requests = new Counter({ name: 'hookgate_http_requests_total', help: 'HTTP requests served', labelNames, registers: [registry] });
  const latency = new Histogram({
    name: 'hookgate_http_request_duration_seconds',
    help: 'HTTP request latency',
    labelNames,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  // Label sets are few (bounded routes), and resolving one costs more than the observation itself.
  const children = new Map<string, { requests: ReturnType<typeof requests.labels>; latency: ReturnType<typeof latency.labels> }>();
  return {
    registry,
    observeRequest(method, route, status, seconds) {
      const key = `${method} ${route} ${status}`;
      let child = children.get(key);
      if (!child) {
        const labels = { method, route, status: String(status) };
        children.set(key, (child = { requests: requests.labels(labels), latency: latency.labels(labels) }));
      }
      child.requests.inc();
      child.latency.observe(seconds);
    },
  };
}

const KNOWN_PREFIXES = ['/graphql', '/v1/hooks', '/v1/events', '/api/v4/hooks', '/hooks', '/healthz', '/metrics'];

/**
 * A bounded route label: ids become `:id`, the url-variable key `:key`, and unknown paths `other`,
 * so a client probing random URLs cannot blow up the metric's cardinality.
 */
export function routeLabel(pathname: string): string {
  if (!KNOWN_PREFIXES.some((prefix) => pathname === prefix || pathname.startsWith(`${prefix}/`))) return 'other';
  const segments = pathname.split('/');
  const keyIndex = segments.indexOf('url_variables');
  const label = segments.map((segment, index) => {
    if (keyIndex > 0 && index === keyIndex + 1) return ':key';
    return /^\d+$/.test(segment) ? ':id' : segment;
  });
  const joined = label.join('/');
  return joined.length > 80 ? 'other' : joined;
}

function registerCacheMetrics(registry: Registry, stats: () => CacheStats): void {
  new Gauge({
    name: 'hookgate_hook_cache_entries',
    help: 'Hooks held in memory until the database announces a change',
    registers: [registry],
    collect() {
      this.set(stats().entries);
    },
  });
  // The cache counts; a scrape adds what it counted since the last one.
  const seen = { hits: 0, misses: 0 };
  new Counter({
    name: 'hookgate_hook_cache_lookups_total',
    help: 'Hooks read by id, by whether memory had them',
    labelNames: ['result'] as const,
    registers: [registry],
    collect() {
      const { hits, misses } = stats();
      this.inc({ result: 'hit' }, hits - seen.hits);
      this.inc({ result: 'miss' }, misses - seen.misses);
      Object.assign(seen, { hits, misses });
    },
  });
}

function registerLogMetrics(registry: Registry, sources: LogMetricsSources): void {
  // Both table gauges come from one query per scrape: the first to collect starts it.
  let measuring: Promise<LogTableSize[] | null> | undefined;
  const measure = () => {
    measuring ??= sources
      .tables()
      .catch(() => null)
      .finally(() => setTimeout(() => (measuring = undefined)));
    return measuring;
  };
  const tableGauge = (name: string, help: string, field: 'rows' | 'bytes') =>
    new Gauge({
      name,
      help,
      labelNames: ['table'] as const,
      registers: [registry],
      async collect() {
        const sizes = await measure();
        // A database that does not answer reports nothing rather than stale figures.
        this.reset();
        for (const size of sizes ?? []) this.set({ table: size.table }, size[field]);
      },
    });
  tableGauge('hookgate_log_table_rows', 'Rows in each delivery log table (the planner estimate from the last VACUUM or ANALYZE)', 'rows');
  tableGauge('hookgate_log_table_bytes', 'Bytes on disk of each delivery log table, with its indexes and TOAST', 'bytes');
  new Gauge({
    name: 'hookgate_retention_last_run_duration_seconds',
    help: "How long this process's last delivery log retention run took",
    registers: [registry],
    collect() {
      const run = sources.lastRetentionRun();
      if (run) this.set(run.durationMs / 1000);
    },
  });
  new Gauge({
    name: 'hookgate_retention_last_run_timestamp_seconds',
    help: "When this process's last delivery log retention run started (Unix time)",
    registers: [registry],
    collect() {
      const run = sources.lastRetentionRun();
      if (run) this.set(run.startedAt.getTime() / 1000);
    },
  });
  new Gauge({
    name: 'hookgate_retention_last_run_removed_rows',
    help: "Rows this process's last delivery log retention run removed, by table",
    labelNames: ['table'] as const,
    registers: [registry],
    collect() {
      const run = sources.lastRetentionRun();
      for (const [table, count] of Object.entries(run?.removed ?? {})) this.set({ table }, count);
    },
  });
}
