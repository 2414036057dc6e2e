// Idempotency keys as stored: claimed by the publishing statement itself (INSERT … ON CONFLICT on
// the primary key, so two concurrent first requests cannot both publish: the second waits for the
// first to commit and finds its key), looked up for repeats, and pruned when they expire.

import { IDEMPOTENCY_KEY_TTL_MS } from '../domain/idempotency';
import type { PrismaClient } from '../generated/prisma/client';
import { Prisma } from '../generated/prisma/client';

export interface IdempotentRequest {
  userId: number;
  key: string;
  /** requestFingerprint of the request (domain/idempotency.ts). */
  requestHash: string;
}

/**
 * The `claim` CTE: takes the key for a new event id (drawn from the events sequence, so the key
 * row and the event are written by one statement), or takes over an expired key. Returns no row
 * when the key is held, and then the statement stores nothing.
 */
export function claimKeySql(once: IdempotentRequest, now: Date): Prisma.Sql {
  const expired = new Date(now.getTime() - IDEMPOTENCY_KEY_TTL_MS);
  return Prisma.sql`claim AS (
    INSERT INTO idempotency_keys (user_id, key, request_hash, event_id, created_at)
    VALUES (${once.userId}, ${once.key}, ${once.requestHash}, nextval(pg_get_serial_sequence('events', 'id')), ${now})
    ON CONFLICT (user_id, key) DO UPDATE
      SET request_hash = EXCLUDED.request_hash, event_id = EXCLUDED.event_id, created_at = EXCLUDED.created_at
      WHERE idempotency_keys.created_at <= ${expired}
    RETURNING event_id
  )`;
}

/** The key as stored, if it is still within its 24 hours. */
export async function findLiveKey(prisma: PrismaClient, userId: number, key: string, now: Date) {
  const found = await prisma.idempotencyKey.findUnique({ where: { userId_key: { userId, key } } });
  return found && found.createdAt.getTime() > now.getTime() - IDEMPOTENCY_KEY_TTL_MS ? found : null;
}

/**
 * Deletes expired keys, oldest first, at most `limit` of them when given (a batched retention
 * step calls it until it removes fewer than `limit`). Called from the delivery log's prune.
 */
export async function pruneIdempotencyKeys(prisma: PrismaClient, now: Date, limit?: number): Promise<number> {
  const expired = new Date(now.getTime() - IDEMPOTENCY_KEY_TTL_MS);
  if (limit === undefined) return prisma.$executeRaw`DELETE FROM idempotency_keys WHERE created_at <= ${expired}`;
  return prisma.$executeRaw`
    DELETE FROM idempotency_keys WHERE (user_id, key) IN (
      SELECT user_id, key FROM idempotency_keys WHERE created_at <= ${expired} ORDER BY created_at LIMIT ${limit})`;
}
