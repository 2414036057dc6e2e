// Publishing: an event and one delivery per matching hook, written in one transaction (the
// outbox), so an accepted event is never lost even if the process dies before delivering it.
import type { PrismaClient } from '../generated/prisma/client';
import { Prisma } from '../generated/prisma/client';
import type { BranchFilterStrategy, SubjectType } from '../generated/prisma/enums';
import type { PublishEventInput, PublishResult } from '../domain/delivery-operations';
import { ValidationError, type FieldIssue } from '../domain/errors';
import { SUBJECT_EVENTS, SYSTEM_EVENTS, branchFilterMatches, checkSubject } from '../domain/hook-rules';
import { notifySql, type DeliveryEvents } from './events';

/** System events that only reach hooks with the matching `*_events` flag. */
const FLAGGED_SYSTEM_EVENTS: readonly string[] = SYSTEM_EVENTS;
/** System events whose `ref` is matched against the hook's branch filter. */
const BRANCH_FILTERED_EVENTS = new Set(['push', 'tag_push']);
const SYSTEM_EVENT_NAME = /^[a-z][a-z0-9_]*$/;
const MAX_EVENT_NAME = 255;
const MAX_REF = 1024;
export const MAX_PAYLOAD_BYTES = 1024 * 1024;

export interface ValidEvent {
  name: string;
  subjectType: SubjectType | null;
  subject: string | null;
  ref: string | null;
  payload: Prisma.InputJsonValue | typeof Prisma.JsonNull;
}

/** Checks a publish request; every problem is reported with its field. */
export function validateEvent(input: PublishEventInput): ValidEvent {
  const issues: FieldIssue[] = [];
  const name = typeof input.event === 'string' ? input.event.trim() : '';
  const subjectType = input.subjectType ?? null;
  const subject = input.subject ?? null;
  const ref = input.ref ?? null;
  if (name === '') issues.push({ field: 'event', message: "can't be blank" });
  else if (name.length > MAX_EVENT_NAME) issues.push({ field: 'event', message: `is too long (maximum is ${MAX_EVENT_NAME} characters)` });
  if (subjectType !== null) {
    if (!(subjectType in SUBJECT_EVENTS)) issues.push({ field: 'subjectType', message: 'is not a subject type' });
    else {
      if (name && !SUBJECT_EVENTS[subjectType].includes(name)) {
        issues.push({ field: 'event', message: `${JSON.stringify(name)} not supported for ${subjectType.toLowerCase()}; allowed: ${SUBJECT_EVENTS[subjectType].join(', ')}` });
      }
      if (subject === null) issues.push({ field: 'subject', message: 'is missing' });
      else {
        const subjectIssue = typeof subject === 'string' ? checkSubject(subjectType, subject) : 'must be a string';
        if (subjectIssue) issues.push({ field: 'subject', message: subjectIssue });
      }
    }
  } else {
    if (subject !== null) issues.push({ field: 'subjectType', message: 'is missing' });
    else if (name && !SYSTEM_EVENT_NAME.test(name)) {
      const subjectEvent = Object.values(SUBJECT_EVENTS).some((events) => events.includes(name));
      issues.push(subjectEvent
        ? { field: 'subjectType', message: 'is missing' }
        : { field: 'event', message: 'is not a system event name (lowercase letters, digits and underscores)' });
    }
  }
  if (ref !== null && (typeof ref !== 'string' || ref.length > MAX_REF)) issues.push({ field: 'ref', message: `must be a string of at most ${MAX_REF} characters` });
  let payload: ValidEvent['payload'] = Prisma.JsonNull;
  if (input.payload === undefined) issues.push({ field: 'payload', message: 'is missing' });
  else if (input.payload !== null) {
    let text: string | undefined;
    try {
      text = JSON.stringify(input.payload);
    } catch {
      text = undefined;
    }
    if (text === undefined) issues.push({ field: 'payload', message: 'must be JSON' });
    else if (Buffer.byteLength(text) > MAX_PAYLOAD_BYTES) issues.push({ field: 'payload', message: 'is too large (maximum is 1 MiB)' });
    else payload = JSON.parse(text) as Prisma.InputJsonValue;
  }
  if (issues.length > 0) throw new ValidationError(issues);
  return { name, subjectType, subject, ref, payload };
}

export interface CandidateHook {
  id: number;
  alertStatus: 'EXECUTABLE' | 'TEMPORARILY_DISABLED' | 'DISABLED';
  disabledUntil: Date | null;
  pushEventsBranchFilter: string | null;
  branchFilterStrategy: BranchFilterStrategy;
}

/** Hooks that may receive this event, before alert status and branch filters (see `accepts`). */
export function candidateWhere(event: ValidEvent): Prisma.HookWhereInput {
  if (event.subjectType) {
    return { kind: 'SUBJECT', isActive: true, subjectType: event.subjectType, subject: event.subject, events: { has: event.name } };
  }
  // Flagged events need the flag; every other system event goes to every active system hook.
  return { kind: 'SYSTEM', isActive: true, ...(FLAGGED_SYSTEM_EVENTS.includes(event.name) ? { events: { has: event.name } } : {}) };
}

/** The per-hook part of matching: alert status (disabled until a time) and branch filters. */
export function accepts(hook: CandidateHook, event: ValidEvent, now: Date): boolean {
  if (hook.alertStatus === 'DISABLED') return false;
  if (hook.alertStatus === 'TEMPORARILY_DISABLED' && hook.disabledUntil && hook.disabledUntil > now) return false;
  if (!event.subjectType && BRANCH_FILTERED_EVENTS.has(event.name)) {
    return branchFilterMatches(hook.branchFilterStrategy, hook.pushEventsBranchFilter, event.ref);
  }
  return true;
}

export class Outbox {
  constructor(private readonly prisma: PrismaClient, private readonly events: DeliveryEvents) {}

  async publish(event: ValidEvent, now: Date): Promise<PublishResult> {
    const result = await this.prisma.$transaction(async (tx) => {
      const stored = await tx.event.create({
        data: { name: event.name, subjectType: event.subjectType, subject: event.subject, ref: event.ref, payload: event.payload },
      });
      const hooks = await tx.hook.findMany({
        where: candidateWhere(event),
        select: { id: true, alertStatus: true, disabledUntil: true, pushEventsBranchFilter: true, branchFilterStrategy: true },
        orderBy: { id: 'asc' },
      });
      const matching = hooks.filter((hook) => accepts(hook, event, now));
      const deliveries = matching.length === 0 ? [] : await tx.delivery.createManyAndReturn({
        data: matching.map((hook) => ({ eventId: stored.id, hookId: hook.id, nextAttemptAt: now })),
      });
      const updates = deliveries.map((delivery) => ({ deliveryId: delivery.id, hookId: delivery.hookId }));
      const notify = notifySql(this.events.notifyStatements(updates, deliveries.length > 0));
      if (notify) await tx.$executeRaw(notify);
      return { event: stored, deliveries: deliveries.sort((a, b) => a.id - b.id) };
    });
    this.events.emitLocal(result.deliveries.map((d) => ({ deliveryId: d.id, hookId: d.hookId })), result.deliveries.length > 0);
    return result;
  }
}
