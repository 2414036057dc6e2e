// Portal sessions: a short-lived console link for one namespace. Its token acts as a non-admin
// whose namespace is that one (the usual namespace rule, see actor.ts), and nothing else.
import { randomBytes } from 'node:crypto';
import type { PrismaClient } from '../generated/prisma/client';
import { type Actor, PORTAL_ACTOR_ID, requireAdmin } from './actor';
import { UnauthenticatedError, ValidationError } from './errors';
import { hashToken } from './users';

export const PORTAL_TTL_MINUTES = { default: 60, max: 1440 } as const;
/** Namespaces are usernames (the part of a repo subject before `/`). */
const NAMESPACE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,254}$/;
/** Tells portal tokens from API tokens without a database round-trip. */
const PREFIX = 'hgp_';

export interface PortalSessionInput {
  namespace: string;
  ttlMinutes?: number | null;
}

export interface PortalSession {
  token: string;
  namespace: string;
  expiresAt: Date;
}

export function isPortalToken(token: string): boolean {
  return token.startsWith(PREFIX);
}

export class PortalService {
  constructor(
    private readonly prisma: PrismaClient,
    private readonly now: () => number = Date.now,
  ) {}

  async create(actor: Actor, input: PortalSessionInput): Promise<PortalSession> {
    requireAdmin(actor, 'Only administrators can create portal links');
    const namespace = input.namespace.trim();
    if (!NAMESPACE.test(namespace)) {
      throw ValidationError.of('namespace', 'must start with a letter or digit and contain only letters, digits, ".", "_" or "-"');
    }
    const ttl = input.ttlMinutes ?? PORTAL_TTL_MINUTES.default;
    if (!Number.isInteger(ttl) || ttl < 1 || ttl > PORTAL_TTL_MINUTES.max) {
      throw ValidationError.of('ttlMinutes', `must be a whole number of minutes from 1 to ${PORTAL_TTL_MINUTES.max}`);
    }
    const token = `${PREFIX}${randomBytes(32).toString('base64url')}`;
    const expiresAt = new Date(this.now() + ttl * 60_000);
    await this.prisma.portalSession.create({
      data: { tokenHash: hashToken(token), namespace, expiresAt, createdById: actor.id > 0 ? actor.id : null },
    });
    // Expired sessions are useless; dropping them here keeps the table small without a timer.
    await this.prisma.portalSession.deleteMany({ where: { expiresAt: { lt: new Date(this.now()) } } });
    return { token, namespace, expiresAt };
  }

  /** The session's actor while it has not expired; checked on every request, so expiry is exact. */
  async authenticate(token: string): Promise<Actor> {
    const row = await this.prisma.portalSession.findUnique({ where: { tokenHash: hashToken(token) } });
    if (!row || row.expiresAt.getTime() <= this.now()) throw new UnauthenticatedError('The portal link is not valid or has expired');
    return { id: PORTAL_ACTOR_ID, username: row.namespace, isAdmin: false };
  }
}
