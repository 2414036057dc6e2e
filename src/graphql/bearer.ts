// `Authorization: Bearer <token>` for every GraphQL transport (HTTP, SSE, WebSocket): one reading
// of the header, one answer for a missing or bad token.
import { authenticateToken } from '../domain/authenticate';
import { UnauthenticatedError } from '../domain/errors';
import type { GraphQLContext, GraphQLServices } from './context';

export type BearerResult = Pick<GraphQLContext, 'actor' | 'authFailure'>;

/** A missing or bad token leaves the actor null and says why (fields then refuse with UNAUTHENTICATED). */
export async function authenticateBearer(services: GraphQLServices, header: string | null | undefined): Promise<BearerResult> {
  const token = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '')?.[1];
  if (!token) return { actor: null, authFailure: 'A valid API token is required (Authorization: Bearer <token>)' };
  try {
    return { actor: await authenticateToken(services, token), authFailure: '' };
  } catch (error) {
    if (error instanceof UnauthenticatedError) return { actor: null, authFailure: error.message };
    throw error;
  }
}
