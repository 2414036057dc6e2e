// A hook's health, as GitLab's WebHooks::AutoDisabling concern keeps it: what one delivery attempt
// does to its hook (auto-disable and backoff, 410 Gone, Retry-After), when a hook may be sent to,
// and which operational event a change of state announces. Pure functions: the delivery engine
// (src/delivery/) asks, stores and sends; it decides nothing here.
import type { Prisma } from '../generated/prisma/client';
import type { AlertStatus, HookKind, SubjectType } from '../generated/prisma/enums';

/** Auto-disable thresholds (GitLab's): temporarily from the 4th failure, for good at the 40th. */
export const TEMPORARY_DISABLE_FROM = 4;
export const PERMANENT_DISABLE_AT = 40;
const MINUTE = 60_000;
const DAY = 86_400_000;
/** The longest pause a receiver may ask for with `Retry-After`. */
export const MAX_RETRY_AFTER_MS = DAY;
/** Answers whose `Retry-After` Hookgate honours (Standard Webhooks: throttled or unavailable). */
const RETRY_AFTER_STATUSES = new Set([429, 502, 503, 504]);

export interface AlertState {
  alertStatus: AlertStatus;
  disabledUntil: Date | null;
}

/**
 * Where a subject hook stands after `failures` consecutive failed attempts. We count every failed
 * scheduled attempt (as GitLab counts every failed execution), not only deliveries that ran out of
 * retries: a receiver that is down for a while is backed off quickly instead of being hammered by
 * the retries of every pending delivery.
 */
export function alertStateAfter(failures: number, now: Date): AlertState {
  if (failures >= PERMANENT_DISABLE_AT) return { alertStatus: 'DISABLED', disabledUntil: null };
  if (failures >= TEMPORARY_DISABLE_FROM) {
    const backoff = Math.min(DAY, MINUTE * 2 ** (failures - TEMPORARY_DISABLE_FROM));
    return { alertStatus: 'TEMPORARILY_DISABLED', disabledUntil: new Date(now.getTime() + backoff) };
  }
  return { alertStatus: 'EXECUTABLE', disabledUntil: null };
}

/** What the engine knows of a hook when it is about to send to it. */
export interface HookSendState extends AlertState {
  isActive: boolean;
  retryAfterUntil: Date | null;
}

/**
 * What to do with a due delivery: `send` it, `abandon` it (the hook is off or disabled for good),
 * or `wait` until a time (temporarily disabled, or the receiver asked for a pause) without using
 * up an attempt.
 */
export function sendDecision(hook: HookSendState, now: Date): { action: 'send' } | { action: 'abandon' } | { action: 'wait'; until: Date } {
  if (!hook.isActive || hook.alertStatus === 'DISABLED') return { action: 'abandon' };
  const waits = [
    hook.alertStatus === 'TEMPORARILY_DISABLED' && hook.disabledUntil && hook.disabledUntil > now ? hook.disabledUntil : null,
    hook.retryAfterUntil && hook.retryAfterUntil > now ? hook.retryAfterUntil : null,
  ].filter((date): date is Date => date !== null);
  if (waits.length === 0) return { action: 'send' };
  return { action: 'wait', until: new Date(Math.max(...waits.map((date) => date.getTime()))) };
}

/**
 * The time a `Retry-After` value names (delta-seconds or an HTTP-date), capped at a day from now;
 * null when it names nothing usable or a time already past.
 */
export function parseRetryAfter(value: string | readonly string[] | undefined | null, now: Date): Date | null {
  const text = (Array.isArray(value) ? value[0] : value)?.trim();
  if (!text) return null;
  let at: number;
  if (/^[0-9]+$/.test(text)) at = now.getTime() + Math.min(Number(text) * 1000, MAX_RETRY_AFTER_MS);
  else {
    at = Date.parse(text);
    if (!Number.isFinite(at)) return null;
  }
  if (at <= now.getTime()) return null;
  return new Date(Math.min(at, now.getTime() + MAX_RETRY_AFTER_MS));
}

/** `scheduled`: a worker's attempt. `test`, `redeliver`: made by hand, outside the schedule. */
export type AttemptMode = 'scheduled' | 'test' | 'redeliver';

/** What an attempt's answer says, as far as the hook (not the one delivery) is concerned. */
export interface AttemptOutcome {
  succeeded: boolean;
  responseStatus: number | null;
  responseHeaders: Record<string, string | string[]> | null;
}

export interface AttemptEffect {
  /** A success resets the failure count and re-enables the hook. */
  reset: boolean;
  /** A scheduled failure of a subject hook counts towards auto-disable (system hooks are exempt, as in GitLab). */
  countsFailure: boolean;
  /** 410 Gone: the receiver says the endpoint is gone for good; the hook is disabled, whatever its kind. */
  gone: boolean;
  /** `Retry-After` on a throttled or unavailable answer: no attempt to this hook before then. */
  retryAfterUntil: Date | null;
}

export function attemptEffect(kind: HookKind, mode: AttemptMode, outcome: AttemptOutcome, now: Date): AttemptEffect {
  if (outcome.succeeded) return { reset: true, countsFailure: false, gone: false, retryAfterUntil: null };
  const status = outcome.responseStatus;
  const retryAfter = status !== null && RETRY_AFTER_STATUSES.has(status) ? parseRetryAfter(headerValue(outcome.responseHeaders, 'retry-after'), now) : null;
  return { reset: false, countsFailure: kind === 'SUBJECT' && mode === 'scheduled', gone: status === 410, retryAfterUntil: retryAfter };
}

/** True when the effect changes nothing stored on the hook except, perhaps, a reset. */
export function onlyResets(effect: AttemptEffect): boolean {
  return !effect.countsFailure && !effect.gone && effect.retryAfterUntil === null;
}

/** The health columns of a hook, before or after an attempt. */
export interface HookHealth extends AlertState {
  recentFailures: number;
  retryAfterUntil: Date | null;
}

/** Several attempts of one hook in one batch, folded in order into one effect. */
export function combineEffects(effects: readonly AttemptEffect[]): AttemptEffect & { failures: number } {
  let combined = { reset: false, countsFailure: false, gone: false, retryAfterUntil: null as Date | null, failures: 0 };
  for (const effect of effects) {
    // A success wipes what came before it in the batch; later failures count from zero.
    if (effect.reset) combined = { ...combined, reset: true, countsFailure: false, gone: false, failures: 0 };
    if (effect.countsFailure) combined = { ...combined, countsFailure: true, failures: combined.failures + 1 };
    if (effect.gone) combined.gone = true;
    combined.retryAfterUntil = later(combined.retryAfterUntil, effect.retryAfterUntil);
  }
  return combined;
}

/** A hook's health after the (combined) attempts of one batch. */
export function healthAfter(before: HookHealth, effect: ReturnType<typeof combineEffects>, now: Date): HookHealth {
  const retryAfterUntil = later(before.retryAfterUntil, effect.retryAfterUntil);
  const failures = (effect.reset ? 0 : before.recentFailures) + effect.failures;
  if (effect.gone) return { recentFailures: failures, alertStatus: 'DISABLED', disabledUntil: null, retryAfterUntil };
  // A hook disabled for good stays so until someone re-enables it (a success here is a test).
  if (before.alertStatus === 'DISABLED' && !effect.reset) return { ...before, recentFailures: failures, retryAfterUntil };
  if (effect.failures > 0) return { recentFailures: failures, ...alertStateAfter(failures, now), retryAfterUntil };
  if (effect.reset) return { recentFailures: 0, alertStatus: 'EXECUTABLE', disabledUntil: null, retryAfterUntil };
  return { ...before, retryAfterUntil };
}

/** The state a re-enabled hook is put in (an update that sets it active, a successful test). */
export const REENABLED: Pick<HookHealth, 'alertStatus' | 'disabledUntil' | 'recentFailures'> = {
  alertStatus: 'EXECUTABLE',
  disabledUntil: null,
  recentFailures: 0,
};

/**
 * Whether an update re-enables a hook: one that sets it active, or (as the GitLab dialect's `PUT
 * /hooks/:id` does) any update of a system hook through that dialect.
 */
export function updateReenables(patch: { isActive?: boolean; reenable?: boolean }): boolean {
  return patch.isActive === true || patch.reenable === true;
}

export const OPERATIONAL_EVENTS = ['hook_temporarily_disabled', 'hook_disabled', 'hook_enabled'] as const;
export type OperationalEventName = (typeof OPERATIONAL_EVENTS)[number];

/**
 * The operational event a change of state announces, or null. A temporarily disabled hook whose
 * backoff has run out is executable again in effect, so failing once more starts a new period and
 * is announced again; a backoff merely extended while it runs is not.
 */
export function operationalEventFor(before: AlertState, after: AlertState, now: Date): OperationalEventName | null {
  if (after.alertStatus === 'DISABLED') return before.alertStatus === 'DISABLED' ? null : 'hook_disabled';
  if (after.alertStatus === 'TEMPORARILY_DISABLED') {
    const wasResting = before.alertStatus === 'TEMPORARILY_DISABLED' && before.disabledUntil !== null && before.disabledUntil > now;
    return wasResting || before.alertStatus === 'DISABLED' ? null : 'hook_temporarily_disabled';
  }
  return before.alertStatus === 'EXECUTABLE' ? null : 'hook_enabled';
}

/** The hook an operational event is about. */
export interface AlertSubject {
  id: number;
  kind: HookKind;
  subjectType: SubjectType | null;
  subject: string | null;
}

/** One change of a hook's alert status, to be announced to the system hooks. */
export interface AlertChange {
  event: OperationalEventName;
  hook: AlertSubject;
  state: Pick<HookHealth, 'alertStatus' | 'disabledUntil' | 'recentFailures'>;
  at: Date;
}

/**
 * The system event that announces a change: its name and payload (no secret, no url-variable
 * value: nothing but where the hook stands), and the hook it must never reach (a system hook is
 * not told about itself, so a dead one cannot feed a loop).
 */
export function operationalEvent(change: AlertChange): { name: OperationalEventName; payload: Record<string, unknown>; excludeHookId: number } {
  const { hook, state } = change;
  return {
    name: change.event,
    payload: {
      event_name: change.event,
      hook_id: hook.id,
      hook_kind: hook.kind.toLowerCase(),
      subject_type: hook.subjectType ? hook.subjectType.toLowerCase() : null,
      subject: hook.subject,
      alert_status: state.alertStatus.toLowerCase(),
      disabled_until: state.disabledUntil ? state.disabledUntil.toISOString() : null,
      recent_failures: state.recentFailures,
      created_at: change.at.toISOString(),
    },
    excludeHookId: hook.id,
  };
}

/** Announces changes of alert status; the engine implements it (inside the transaction that makes them). */
export interface AlertAnnouncer {
  announce(client: Prisma.TransactionClient, changes: readonly AlertChange[], now: Date): Promise<void>;
}

function later(a: Date | null, b: Date | null): Date | null {
  if (!a) return b;
  if (!b) return a;
  return a >= b ? a : b;
}

function headerValue(headers: Record<string, string | string[]> | null, name: string): string | string[] | undefined {
  if (!headers) return undefined;
  return headers[name] ?? Object.entries(headers).find(([key]) => key.toLowerCase() === name)?.[1];
}
