// The recovery and catch-up window rules on their own (no database).
import { describe, expect, it } from 'vitest';
import { checkRecoveryWindow, MAX_REDELIVER_FAILED, tooManyToRedeliver } from '../../src/domain/delivery-recovery';
import { checkCatchUpWindow } from '../../src/domain/delivery-search';
import { ValidationError } from '../../src/domain/errors';

const now = new Date('2026-06-01T12:00:00.000Z');
const DAY = 86_400_000;

function issue(action: () => unknown) {
  try {
    action();
  } catch (error) {
    if (error instanceof ValidationError) return error.issues;
    throw error;
  }
  return null;
}

describe('redeliverFailed window', () => {
  it('runs from since to until, or to now', () => {
    const since = new Date(now.getTime() - DAY);
    expect(checkRecoveryWindow({ since }, now)).toEqual({ since, until: now });
    const until = new Date(now.getTime() - 1000);
    expect(checkRecoveryWindow({ since, until }, now)).toEqual({ since, until });
  });

  it('refuses an empty or backwards window, naming the field at fault', () => {
    const since = new Date(now.getTime() - DAY);
    expect(issue(() => checkRecoveryWindow({ since, until: since }, now))).toEqual([{ field: 'until', message: 'must be after since' }]);
    expect(issue(() => checkRecoveryWindow({ since: now }, now))).toEqual([{ field: 'since', message: 'must be in the past' }]);
  });

  it('caps a call at 10,000 deliveries, reported on since', () => {
    expect(MAX_REDELIVER_FAILED).toBe(10_000);
    expect(tooManyToRedeliver().issues).toEqual([{ field: 'since', message: expect.stringContaining('more than 10,000') }]);
  });
});

describe('deliveryUpdated catch-up window', () => {
  it('accepts a cursor within the log retention and refuses an older one', () => {
    const retention = 7 * DAY;
    expect(() => checkCatchUpWindow({ updatedAt: new Date(now.getTime() - retention + 1000), id: 1 }, now, retention)).not.toThrow();
    expect(issue(() => checkCatchUpWindow({ updatedAt: new Date(now.getTime() - retention - 1000), id: 1 }, now, retention))).toEqual([
      { field: 'after', message: expect.stringContaining('catch-up window (7 days') },
    ]);
  });
});
