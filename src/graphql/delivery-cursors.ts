// Opaque cursors of `Query.deliveries` (a delivery's place newest first: created_at, id) and of
// `deliveryUpdated(after:)` (a delivery's latest change: updated_at, id). Both are milliseconds
// and an id, which is exactly what the timestamp(3) columns hold.
import { GraphQLError } from 'graphql';
import type { ChangePosition, DeliveryPosition } from '../domain/delivery-search';
import { isDatabaseId } from '../domain/limits';

const LIST_PREFIX = 'deliveries';
const CHANGE_PREFIX = 'delivery-change';

function encode(prefix: string, at: Date, id: number): string {
  return Buffer.from(`${prefix}:${at.getTime()}:${id}`).toString('base64url');
}

function decode(prefix: string, cursor: string): { at: Date; id: number } {
  const [kind, ms, id, ...rest] = Buffer.from(cursor, 'base64url').toString('utf8').split(':');
  const at = Number(ms);
  const row = Number(id);
  if (kind !== prefix || rest.length > 0 || !/^\d{1,15}$/.test(ms ?? '') || !isDatabaseId(row)) {
    throw new GraphQLError(`Invalid cursor: ${JSON.stringify(cursor)}`, { extensions: { code: 'BAD_USER_INPUT' } });
  }
  return { at: new Date(at), id: row };
}

export function listCursor(delivery: { createdAt: Date; id: number }): string {
  return encode(LIST_PREFIX, delivery.createdAt, delivery.id);
}

export function parseListCursor(cursor: string | null | undefined): DeliveryPosition | null {
  if (cursor == null) return null;
  const { at, id } = decode(LIST_PREFIX, cursor);
  return { createdAt: at, id };
}

export function changeCursor(delivery: { updatedAt: Date; id: number }): string {
  return encode(CHANGE_PREFIX, delivery.updatedAt, delivery.id);
}

export function parseChangeCursor(cursor: string | null | undefined): ChangePosition | null {
  if (cursor == null) return null;
  const { at, id } = decode(CHANGE_PREFIX, cursor);
  return { updatedAt: at, id };
}
