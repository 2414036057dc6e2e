// Prometheus metrics: process metrics plus request count and latency by route and status.
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface HttpMetrics {
  readonly registry: Registry;
  observeRequest(method: string, route: string, status: number, seconds: number): void;
}

export function createMetrics(): HttpMetrics {
  // One registry per app, so several apps in one process (tests) do not collide.
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const labelNames = ['method', 'route', 'status'] as const;
  const requests = new Counter({ name: 'hookgate_http_requests_total', help: 'HTTP requests served', labelNames, registers: [registry] });
  const latency = new Histogram({
    name: 'hookgate_http_request_duration_seconds',
    help: 'HTTP request latency',
    labelNames,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  return {
    registry,
    observeRequest(method, route, status, seconds) {
      const labels = { method, route, status: String(status) };
      requests.inc(labels);
      latency.observe(labels, seconds);
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
