// The log's retention rule, as a pure function: what a run may remove.
import { describe, expect, it } from 'vitest';
import { isDeliveryExpired, isEventExpired, retentionCutoff } from '../../src/domain/log-retention';

describe('log retention rule', () => {
  const now = new Date('2026-12-02T12:00:00Z');
  const cutoff = retentionCutoff(now, 7 * 86_400_000);
  const before = new Date(cutoff.getTime() - 1);

  it('puts the cutoff one retention before now', () => {
    expect(cutoff.toISOString()).toBe('2026-11-25T12:00:00.000Z');
  });

  it('expires finished deliveries last changed before the cutoff, never pending or retrying ones', () => {
    expect(isDeliveryExpired({ status: 'SUCCEEDED', updatedAt: before }, cutoff)).toBe(true);
    expect(isDeliveryExpired({ status: 'FAILED', updatedAt: before }, cutoff)).toBe(true);
    expect(isDeliveryExpired({ status: 'SUCCEEDED', updatedAt: cutoff }, cutoff)).toBe(false);
    expect(isDeliveryExpired({ status: 'PENDING', updatedAt: new Date(0) }, cutoff)).toBe(false);
    expect(isDeliveryExpired({ status: 'RETRYING', updatedAt: new Date(0) }, cutoff)).toBe(false);
  });

  it('expires an event once no delivery of it is left and it is older than the retention', () => {
    expect(isEventExpired({ createdAt: before, remainingDeliveries: 0 }, cutoff)).toBe(true);
    expect(isEventExpired({ createdAt: before, remainingDeliveries: 1 }, cutoff)).toBe(false);
    expect(isEventExpired({ createdAt: now, remainingDeliveries: 0 }, cutoff)).toBe(false);
  });
});
