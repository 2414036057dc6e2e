// Recovering a hook's failed deliveries (Svix's "recover", GitLab's resend): the window and the
// cap are rules of the domain; the delivery engine reschedules what they allow.
import { ValidationError } from './errors';

/** At most this many deliveries a call: a bigger window is refused, not cut short silently. */
export const MAX_REDELIVER_FAILED = 10_000;

export interface RecoveryWindow {
  /** Created at or after this instant. */
  since: Date;
  /** Created strictly before this instant; now when not given. */
  until?: Date | null;
}

/** The window as the engine applies it, or a ValidationError naming the field at fault. */
export function checkRecoveryWindow(window: RecoveryWindow, now: Date): { since: Date; until: Date } {
  const until = window.until ?? now;
  if (until.getTime() <= window.since.getTime()) {
    throw window.until ? ValidationError.of('until', 'must be after since') : ValidationError.of('since', 'must be in the past');
  }
  return { since: window.since, until };
}

export function tooManyToRedeliver(): ValidationError {
  return ValidationError.of(
    'since',
    `matches more than ${MAX_REDELIVER_FAILED.toLocaleString('en-US')} failed deliveries: choose a later since or an earlier until`,
  );
}
