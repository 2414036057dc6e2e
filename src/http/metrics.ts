// Prometheus metrics: process metrics, request count and latency by route and status, and the
// hook cache's size and hit rate.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { CacheStats } from '../domain/hook-cache';

export interface HttpMetrics {
  readonly registry: Registry;
  observeRequest(method: string, route: string, status: number, seconds: number): void;
}

export function createMetrics(options: { hookCache?: () => CacheStats } = {}): HttpMetrics {
  // One registry per app, so several apps in one process (tests) do not collide.
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  if (options.hookCache) registerCacheMetrics(registry, options.hookCache);
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
