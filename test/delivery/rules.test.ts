// Pure rules of the delivery engine: retry delays and auto-disable thresholds.

import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { retryDelay } from '../../src/delivery/backoff';
import { signatureHeaders, standardWebhooksKey } from '../../src/delivery/sign';
import { alertStateAfter } from '../../src/domain/hook-health';

describe('retry delays', () => {
  const schedule = [5_000, 60_000, 300_000];
  it('follow the schedule with ±20 % jitter, then stop', () => {
    expect(retryDelay(1, schedule, () => 0)).toBe(4_000);
    expect(retryDelay(1, schedule, () => 1)).toBe(6_000);
    expect(retryDelay(2, schedule, () => 0.5)).toBe(60_000);
    expect(retryDelay(3, schedule, () => 0.5)).toBe(300_000);
    expect(retryDelay(4, schedule)).toBeNull();
    for (let i = 0; i < 100; i++) {
      const delay = retryDelay(2, schedule)!;
      expect(delay).toBeGreaterThanOrEqual(48_000);
      expect(delay).toBeLessThanOrEqual(72_000);
    }
  });
});

describe('auto-disable', () => {
  const now = new Date('2026-01-01T00:00:00.000Z');
  const minutes = (failures: number) => (alertStateAfter(failures, now).disabledUntil!.getTime() - now.getTime()) / 60_000;
  it("is GitLab's rule: executable below 4, then 1 min × 2^(n−4) capped at a day, disabled at 40", () => {
    expect(alertStateAfter(3, now)).toEqual({ alertStatus: 'EXECUTABLE', disabledUntil: null });
    expect(alertStateAfter(4, now).alertStatus).toBe('TEMPORARILY_DISABLED');
    expect(minutes(4)).toBe(1);
    expect(minutes(5)).toBe(2);
    expect(minutes(10)).toBe(64);
    expect(minutes(14)).toBe(1_024);
    expect(minutes(15)).toBe(1_440);
    expect(minutes(39)).toBe(1_440);
    expect(alertStateAfter(40, now)).toEqual({ alertStatus: 'DISABLED', disabledUntil: null });
  });
});

describe('signatures', () => {
  it('use the UTF-8 bytes of a plain secret and whsec_ secrets as they are', () => {
    const body = '{"a":1}';
    const now = new Date();
    const plain = signatureHeaders('msg_1', now, body, ['pässword']);
    expect(() => new Webhook(Buffer.from('pässword').toString('base64')).verify(body, plain as unknown as Record<string, string>)).not.toThrow();
    const key = `whsec_${Buffer.from('k'.repeat(24)).toString('base64')}`;
    expect(standardWebhooksKey(key)).toBe(key);
    expect(() => new Webhook(key).verify(body, signatureHeaders('msg_2', now, body, [key]) as unknown as Record<string, string>)).not.toThrow();
    expect(signatureHeaders('msg_3', now, body, [])['webhook-signature']).toBeUndefined();
  });
});
