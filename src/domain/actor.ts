// Who is asking. Every service call takes the actor; authorization rules live in the domain.
import type { HookKind } from '../generated/prisma/enums';
import { ForbiddenError } from './errors';

export interface Actor {
  readonly id: number;
  readonly username: string;
  readonly isAdmin: boolean;
}

/** A portal session's actor (portal.ts): no user has this id, so it owns no hook of its own. */
export const PORTAL_ACTOR_ID = 0;

export function requireAdmin(actor: Actor, message = 'Administrator access is required'): void {
  if (!actor.isAdmin) throw new ForbiddenError(message);
}

/**
 * Admins see every hook. Other users see subject hooks in their own namespace or created by them,
 * never system hooks; to them everything else does not exist.
 */
export function canAccessHook(actor: Actor, hook: { kind: HookKind; namespace: string | null; createdById: number | null }): boolean {
  if (actor.isAdmin) return true;
  if (hook.kind === 'SYSTEM') return false;
  return hook.namespace === actor.username || hook.createdById === actor.id;
}

/** Publishing events is for administrators (the engine checks again; transports ask first to skip the body). */
export function requirePublisher(actor: Actor): void {
  requireAdmin(actor, 'Only administrators can publish events');
}
