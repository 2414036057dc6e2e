// Structured logs. Redaction is a safety net: code must not log secrets in the first place.
import { type Logger, pino } from 'pino';

export type { Logger };

export const REDACTED_PATHS = [
  'secret',
  'token',
  '*.secret',
  '*.token',
  'authorization',
  'headers.authorization',
  'req.headers.authorization',
  'req.headers["private-token"]',
  'headers["private-token"]',
];

export function createLogger(level: string): Logger {
  return pino({ level, base: { service: 'hookgate' }, redact: { paths: REDACTED_PATHS, censor: '[redacted]' } });
}
