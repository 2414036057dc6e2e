// When a failed delivery is tried again.

/** ±20 %: receivers that failed together are not all retried in the same instant. */
const JITTER = 0.2;

/**
 * Delay before the next attempt after `attemptsMade` attempts, or null when the schedule is used up
 * (the delivery is then FAILED). The first attempt is immediate; the schedule lists the retries.
 */
export function retryDelay(attemptsMade: number, schedule: readonly number[], random: () => number = Math.random): number | null {
  const base = schedule[attemptsMade - 1];
  if (base === undefined) return null;
  return Math.max(0, Math.round(base * (1 - JITTER + 2 * JITTER * random())));
}
