// The rules of a hook's health (src/domain/hook-health.ts), as pure functions.
import { describe, expect, it } from 'vitest';
import {
  attemptEffect,
  combineEffects,
  type HookHealth,
  healthAfter,
  operationalEvent,
  operationalEventFor,
  parseRetryAfter,
  sendDecision,
} from '../../src/domain/hook-health';

const now = new Date('2026-01-01T00:00:00.000Z');
const at = (ms: number) => new Date(now.getTime() + ms);
const answer = (status: number | null, headers: Record<string, string> | null = null) => ({
  succeeded: status !== null && status >= 200 && status < 300,
  responseStatus: status,
  responseHeaders: headers,
});

describe('Retry-After', () => {
  it('takes delta-seconds and HTTP-dates, caps them at a day, and ignores the past and junk', () => {
    expect(parseRetryAfter('3', now)).toEqual(at(3_000));
    expect(parseRetryAfter(' 120 ', now)).toEqual(at(120_000));
    expect(parseRetryAfter('Thu, 01 Jan 2026 00:00:30 GMT', now)).toEqual(at(30_000));
    expect(parseRetryAfter('999999999', now)).toEqual(at(86_400_000));
    expect(parseRetryAfter('Sat, 01 Jan 2028 00:00:00 GMT', now)).toEqual(at(86_400_000));
    expect(parseRetryAfter('Wed, 31 Dec 2025 23:00:00 GMT', now)).toBeNull();
    expect(parseRetryAfter('0', now)).toBeNull();
    for (const junk of ['', 'soon', '-5', '1.5', undefined, null]) expect(parseRetryAfter(junk, now)).toBeNull();
    expect(parseRetryAfter(['7', '9'], now)).toEqual(at(7_000));
  });

  it('counts on 429, 502, 503 and 504 only', () => {
    for (const status of [429, 502, 503, 504]) {
      expect(attemptEffect('SUBJECT', 'scheduled', answer(status, { 'retry-after': '5' }), now).retryAfterUntil).toEqual(at(5_000));
    }
    for (const status of [500, 410, 302, 400]) {
      expect(attemptEffect('SUBJECT', 'scheduled', answer(status, { 'retry-after': '5' }), now).retryAfterUntil).toBeNull();
    }
    expect(attemptEffect('SYSTEM', 'scheduled', answer(503, { 'Retry-After': '5' }), now).retryAfterUntil).toEqual(at(5_000));
  });
});

describe('what an attempt does to its hook', () => {
  it('410 Gone disables a hook of either kind, whoever sent the attempt', () => {
    for (const kind of ['SUBJECT', 'SYSTEM'] as const) {
      for (const mode of ['scheduled', 'test', 'redeliver'] as const) expect(attemptEffect(kind, mode, answer(410), now).gone).toBe(true);
    }
    const before: HookHealth = { recentFailures: 2, alertStatus: 'EXECUTABLE', disabledUntil: null, retryAfterUntil: null };
    const after = healthAfter(before, combineEffects([attemptEffect('SYSTEM', 'scheduled', answer(410), now)]), now);
    expect(after).toMatchObject({ alertStatus: 'DISABLED', disabledUntil: null });
    expect(operationalEventFor(before, after, now)).toBe('hook_disabled');
  });

  it('a redirect is a failure like any other (counted for subject hooks, never for system hooks or manual attempts)', () => {
    expect(attemptEffect('SUBJECT', 'scheduled', answer(302), now)).toEqual({ reset: false, countsFailure: true, gone: false, retryAfterUntil: null });
    expect(attemptEffect('SYSTEM', 'scheduled', answer(301), now).countsFailure).toBe(false);
    expect(attemptEffect('SUBJECT', 'test', answer(500), now).countsFailure).toBe(false);
    expect(attemptEffect('SUBJECT', 'scheduled', answer(null), now).countsFailure).toBe(true);
  });

  it('folds a batch in order: a success wipes the failures before it', () => {
    const fail = attemptEffect('SUBJECT', 'scheduled', answer(500), now);
    const ok = attemptEffect('SUBJECT', 'scheduled', answer(200), now);
    expect(combineEffects([fail, fail, ok]).failures).toBe(0);
    expect(combineEffects([fail, ok, fail]).failures).toBe(1);
    const before: HookHealth = { recentFailures: 3, alertStatus: 'EXECUTABLE', disabledUntil: null, retryAfterUntil: null };
    const fourth = healthAfter(before, combineEffects([fail]), now);
    expect(fourth).toMatchObject({ recentFailures: 4, alertStatus: 'TEMPORARILY_DISABLED', disabledUntil: at(60_000) });
    expect(operationalEventFor(before, fourth, now)).toBe('hook_temporarily_disabled');
    const recovered = healthAfter(fourth, combineEffects([ok]), at(120_000));
    expect(recovered).toMatchObject({ recentFailures: 0, alertStatus: 'EXECUTABLE', disabledUntil: null });
    expect(operationalEventFor(fourth, recovered, at(120_000))).toBe('hook_enabled');
  });

  it('keeps the latest pause a receiver asked for, and a hook disabled for good stays so on failures', () => {
    const pause = (s: string) => attemptEffect('SUBJECT', 'test', answer(429, { 'retry-after': s }), now);
    const before: HookHealth = { recentFailures: 40, alertStatus: 'DISABLED', disabledUntil: null, retryAfterUntil: at(10_000) };
    expect(healthAfter(before, combineEffects([pause('5'), pause('20')]), now)).toEqual({ ...before, retryAfterUntil: at(20_000) });
    expect(healthAfter(before, combineEffects([pause('5')]), now).retryAfterUntil).toEqual(at(10_000));
  });
});

describe('announcing changes', () => {
  const executable = { alertStatus: 'EXECUTABLE' as const, disabledUntil: null };
  const resting = { alertStatus: 'TEMPORARILY_DISABLED' as const, disabledUntil: at(60_000) };
  const rested = { alertStatus: 'TEMPORARILY_DISABLED' as const, disabledUntil: at(-1) };
  const disabled = { alertStatus: 'DISABLED' as const, disabledUntil: null };
  it('names each change once: a backoff extended while it runs is no news, a new one after it ran out is', () => {
    expect(operationalEventFor(executable, executable, now)).toBeNull();
    expect(operationalEventFor(executable, resting, now)).toBe('hook_temporarily_disabled');
    expect(operationalEventFor(resting, { ...resting, disabledUntil: at(120_000) }, now)).toBeNull();
    expect(operationalEventFor(rested, resting, now)).toBe('hook_temporarily_disabled');
    expect(operationalEventFor(resting, disabled, now)).toBe('hook_disabled');
    expect(operationalEventFor(disabled, disabled, now)).toBeNull();
    expect(operationalEventFor(disabled, executable, now)).toBe('hook_enabled');
    expect(operationalEventFor(rested, executable, now)).toBe('hook_enabled');
  });

  it('builds the payload of the spec, and never sends it to the hook it is about', () => {
    const event = operationalEvent({
      event: 'hook_temporarily_disabled',
      hook: { id: 7, kind: 'SUBJECT', subjectType: 'BUILD_REPO', subject: 'ns/repo' },
      state: { alertStatus: 'TEMPORARILY_DISABLED', disabledUntil: at(60_000), recentFailures: 4 },
      at: now,
    });
    expect(event.name).toBe('hook_temporarily_disabled');
    expect(event.excludeHookId).toBe(7);
    expect(JSON.stringify(event.payload)).toBe(
      JSON.stringify({
        event_name: 'hook_temporarily_disabled',
        hook_id: 7,
        hook_kind: 'subject',
        subject_type: 'build_repo',
        subject: 'ns/repo',
        alert_status: 'temporarily_disabled',
        disabled_until: '2026-01-01T00:01:00.000Z',
        recent_failures: 4,
        created_at: '2026-01-01T00:00:00.000Z',
      }),
    );
  });
});

describe('sending', () => {
  const hook = { isActive: true, alertStatus: 'EXECUTABLE' as const, disabledUntil: null, retryAfterUntil: null };
  it('sends, waits for the later of a backoff and a pause, or gives up on a hook that is off', () => {
    expect(sendDecision(hook, now)).toEqual({ action: 'send' });
    expect(sendDecision({ ...hook, retryAfterUntil: at(-1) }, now)).toEqual({ action: 'send' });
    expect(sendDecision({ ...hook, retryAfterUntil: at(3_000) }, now)).toEqual({ action: 'wait', until: at(3_000) });
    expect(sendDecision({ ...hook, alertStatus: 'TEMPORARILY_DISABLED', disabledUntil: at(60_000), retryAfterUntil: at(3_000) }, now)).toEqual({
      action: 'wait',
      until: at(60_000),
    });
    expect(sendDecision({ ...hook, alertStatus: 'DISABLED' }, now)).toEqual({ action: 'abandon' });
    expect(sendDecision({ ...hook, isActive: false }, now)).toEqual({ action: 'abandon' });
  });
});
