// The only reader of process.env: every setting is parsed and validated here, once.
import { z } from 'zod';

const booleanFlag = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'], { error: 'expected true or false' })
  .transform((value) => value === 'true' || value === '1' || value === 'yes');

/** Parses `5s`, `200ms`, `1m`, `2h`, `7d` (a bare number is milliseconds). */
export function parseDuration(text: string): number | undefined {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$/.exec(text);
  if (!match) return undefined;
  const unit = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }[match[2] ?? 'ms'] ?? 1;
  return Math.round(Number(match[1]) * unit);
}

const duration = z.string().transform((text, ctx) => {
  const ms = parseDuration(text);
  if (ms === undefined) {
    ctx.addIssue({ code: 'custom', message: 'expected a duration such as 500ms, 10s, 5m, 2h or 7d' });
    return z.NEVER;
  }
  return ms;
});

const durationList = z.string().transform((text, ctx) => {
  const parts = text.split(',').map((part) => parseDuration(part));
  if (parts.length === 0 || parts.some((ms) => ms === undefined)) {
    ctx.addIssue({ code: 'custom', message: 'expected a comma-separated list of durations such as 5s,1m,5m' });
    return z.NEVER;
  }
  return parts as number[];
});

const databaseUrl = z.string().refine((url) => url === 'memory://' || /^postgres(ql)?:\/\/.+/.test(url), {
  message: 'expected memory:// or a postgres:// / postgresql:// connection URL',
});

/** `https://host[:port]` exactly as browsers send it in `Origin` (no path, no trailing slash). */
function isOrigin(text: string): boolean {
  try {
    const url = new URL(text);
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.origin === text;
  } catch {
    return false;
  }
}

const envSchema = z.object({
  PORT: z.coerce
    .number({ error: 'expected a port number from 0 to 65535' })
    .int('expected a port number from 0 to 65535')
    .min(0, 'expected a port number from 0 to 65535')
    .max(65535, 'expected a port number from 0 to 65535')
    .default(4000),
  HOST: z.string().min(1, 'expected a host name or address').default('127.0.0.1'),
  DATABASE_URL: databaseUrl.optional(),
  DATA_DIR: z.string().min(1, 'expected a directory path').default('./data'),
  DATABASE_POOL_SIZE: z.coerce.number({ error: 'expected a whole number from 1 to 100' }).int().min(1).max(100).default(10),
  /** How long a query may wait for a pooled connection; past it the request is answered 503 with Retry-After. */
  DATABASE_QUEUE_TIMEOUT: duration.default(2_000),
  HOOKGATE_ADMIN_TOKEN: z.string().min(16, 'expected a token of at least 16 characters').optional(),
  HOOKGATE_ALLOW_LOCAL_REQUESTS: booleanFlag.default(false),
  HOOKGATE_OUTBOUND_ALLOWLIST: z
    .string()
    .transform((text) =>
      text
        .split(',')
        .map((entry) => entry.trim())
        .filter(Boolean),
    )
    .default([]),
  HOOKGATE_DELIVERY_TIMEOUT: duration.default(10_000),
  HOOKGATE_RETRY_SCHEDULE: durationList.default([5_000, 60_000, 300_000, 1_800_000, 7_200_000, 21_600_000, 43_200_000]),
  HOOKGATE_LOG_RETENTION: duration.default(7 * 86_400_000),
  /** How often the delivery log's retention runs (in one process at a time). */
  HOOKGATE_RETENTION_INTERVAL: duration.refine((ms) => ms >= 1_000, 'expected a duration of at least 1s').default(600_000),
  /** Rows one retention statement removes at most: smaller batches, shorter locks and transactions. */
  HOOKGATE_RETENTION_BATCH_SIZE: z.coerce
    .number({ error: 'expected a whole number from 1 to 100000' })
    .int('expected a whole number from 1 to 100000')
    .min(1, 'expected a whole number from 1 to 100000')
    .max(100_000, 'expected a whole number from 1 to 100000')
    .default(1_000),
  /** Sends in flight at once in this process; 0 runs no delivery workers here (publish-only). */
  HOOKGATE_DELIVERY_CONCURRENCY: z.coerce.number({ error: 'expected a whole number from 0 to 1000' }).int().min(0).max(1000).default(64),
  /** Sends in flight at once to one destination (host and port), so a dead receiver holds only these. */
  HOOKGATE_DELIVERY_CONCURRENCY_PER_HOST: z.coerce.number({ error: 'expected a whole number from 1 to 1000' }).int().min(1).max(1000).default(16),
  /** How long a claimed delivery belongs to its worker; a dead worker's deliveries are due again after it. */
  HOOKGATE_DELIVERY_LEASE: duration.optional(),
  /** On shutdown, how long in-flight sends may take before their leases are released. */
  HOOKGATE_SHUTDOWN_GRACE: duration.default(10_000),
  /** Subject hooks one namespace may hold; one more is a validation error. */
  HOOKGATE_MAX_HOOKS_PER_NAMESPACE: z.coerce
    .number({ error: 'expected a whole number from 1 to 1000000' })
    .int('expected a whole number from 1 to 1000000')
    .min(1, 'expected a whole number from 1 to 1000000')
    .max(1_000_000, 'expected a whole number from 1 to 1000000')
    .default(100),
  /** Origins (`https://app.example.com`) whose browser pages may call the APIs with credentials; none by default. */
  HOOKGATE_CORS_ORIGINS: z
    .string()
    .transform((text, ctx) => {
      const origins = text
        .split(',')
        .map((entry) => entry.trim())
        .filter(Boolean);
      for (const origin of origins) {
        if (!isOrigin(origin)) {
          ctx.addIssue({
            code: 'custom',
            message: `expected comma-separated origins such as https://app.example.com (scheme, host and port only; no "*"), got ${JSON.stringify(origin)}`,
          });
          return z.NEVER;
        }
      }
      return origins;
    })
    .default([]),
  /** CSP `frame-ancestors` of /console: who may embed it in an iframe (portal links). */
  HOOKGATE_CONSOLE_FRAME_ANCESTORS: z
    .string()
    .regex(/^[^;,\r\n]+$/, 'expected CSP sources separated by spaces')
    .default("'self'"),
  /** Non-admin tokens may run only the documents of persisted-operations.json (`documentId`). */
  HOOKGATE_GRAPHQL_PERSISTED_ONLY: booleanFlag.default(false),
  LOG_LEVEL: z
    .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], {
      error: 'expected one of fatal, error, warn, info, debug, trace, silent',
    })
    .default('info'),
});

export type Config = z.infer<typeof envSchema>;

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Parses an environment; empty strings count as unset, as most shells and compose files intend. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const present = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined && value !== ''));
  const result = envSchema.safeParse(present);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const variable = String(issue.path[0] ?? 'environment');
  const value = present[variable];
  // Never echo secrets back, even when they are malformed.
  const shown = value === undefined || /TOKEN|SECRET|URL/.test(variable) ? '' : ` (got ${JSON.stringify(value)})`;
  throw new ConfigError(`Invalid ${variable}: ${issue.message}${shown}`);
}
