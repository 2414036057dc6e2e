// The one place GraphQL maps errors: domain errors and invalid input become `userErrors` in a
// mutation payload; authentication and authorization failures become top-level errors with
// `extensions.code`; anything else is masked (see `maskError`).
import { PothosValidationError } from '@pothos/core';
import { decodeGlobalID } from '@pothos/plugin-relay';
import { GraphQLError } from 'graphql';
import { asDatabaseUnavailable } from '../db/unavailable';
import { ConflictError, DomainError, ForbiddenError, NotFoundError, UnauthenticatedError, ValidationError } from '../domain/errors';
import { isDatabaseId } from '../domain/limits';

export interface UserErrorShape {
  /** Path to the input field at fault, e.g. `["input", "url"]`; null when no single field is. */
  field: string[] | null;
  message: string;
  /** `VALIDATION_FAILED`, `NOT_FOUND`, `CONFLICT`. */
  code: string;
}

/** Invalid input caught by GraphQL itself (zod schemas, global ids) rather than by the domain. */
export class UserInputError extends Error {
  constructor(readonly userErrors: UserErrorShape[]) {
    super(userErrors.map((error) => error.message).join('; '));
  }
}

/**
 * The `userErrors` for an error a mutation may report to its caller, or null when it is not one.
 * `input` is the mutation's input, used to name the id field a "not found" is about.
 */
export function toUserErrors(error: unknown, input?: Record<string, unknown>): UserErrorShape[] | null {
  const inputPath = ['input'];
  if (error instanceof UserInputError) return error.userErrors;
  if (error instanceof ValidationError) {
    return error.issues.map((issue) => ({ field: [...inputPath, issue.field], message: issue.message, code: error.code }));
  }
  if (error instanceof ConflictError) return [{ field: [...inputPath, error.field], message: error.message, code: error.code }];
  if (error instanceof NotFoundError) {
    // The id named in the input is what could not be found (or is not visible to the caller).
    return [{ field: [...inputPath, notFoundField(error.resource, input)], message: error.message, code: error.code }];
  }
  return null;
}

/** `hookId` for a missing hook when the input has one (url variables), else `id`; `key` for a variable. */
function notFoundField(resource: string, input: Record<string, unknown> | undefined): string {
  if (resource === 'URL variable' || resource === 'Custom Header') return 'key';
  const specific = `${resource.charAt(0).toLowerCase()}${resource.slice(1)}Id`;
  return input && specific in input ? specific : 'id';
}

/**
 * Decodes a global id of the expected type into its database id, or throws a `UserInputError`
 * naming the input field: never returns junk for a malformed id or one of another type.
 */
export function decodeId(globalId: string, typename: string, field: string[]): number {
  let decoded: { typename: string; id: string } | null = null;
  try {
    decoded = decodeGlobalID(globalId);
  } catch {
    decoded = null;
  }
  const id = decoded && decoded.typename === typename && /^[1-9][0-9]{0,9}$/.test(decoded.id) ? Number(decoded.id) : NaN;
  if (!isDatabaseId(id)) {
    throw new UserInputError([{ field, message: `is not a valid ${typename} id`, code: 'VALIDATION_FAILED' }]);
  }
  return id;
}

/** Like `decodeId`, but null for anything that is not an id of that type (for lookups). */
export function tryDecodeId(globalId: string, typename: string): number | null {
  try {
    return decodeId(globalId, typename, []);
  } catch {
    return null;
  }
}

export function unauthenticated(message: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code: 'UNAUTHENTICATED' } });
}

export function forbidden(message: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code: 'FORBIDDEN' } });
}

/**
 * Yoga's `maskError`: the only errors shown as they are are ours (GraphQLErrors we built with a
 * code, and domain errors that have a meaning for the client). Everything else (a Prisma error
 * with SQL in it, a bug's stack) is logged by the caller and replaced by a generic message.
 */
export function maskError(error: unknown, onUnexpected: (error: unknown) => void): GraphQLError {
  const graphQLError = error instanceof GraphQLError ? error : null;
  const original: unknown = graphQLError?.originalError ?? error;
  if (original instanceof GraphQLError && original.extensions.code) return withPath(original, graphQLError);
  const unavailable = asDatabaseUnavailable(original);
  if (unavailable) return serviceUnavailable(unavailable.retryAfterSeconds);
  if (original instanceof PothosValidationError) {
    // Pothos refusing the client's arguments: a malformed global id or cursor, a negative `first`.
    return new GraphQLError(original.message, { nodes: graphQLError?.nodes, path: graphQLError?.path, extensions: { code: 'BAD_USER_INPUT' } });
  }
  if (original instanceof UserInputError) {
    // Invalid arguments outside a mutation payload (a subscription's hook id, say).
    return new GraphQLError(original.message, { nodes: graphQLError?.nodes, path: graphQLError?.path, extensions: { code: 'VALIDATION_FAILED' } });
  }
  if (original instanceof DomainError) {
    const code = original instanceof UnauthenticatedError ? 'UNAUTHENTICATED' : original instanceof ForbiddenError ? 'FORBIDDEN' : original.code;
    return new GraphQLError(original.message, { nodes: graphQLError?.nodes, path: graphQLError?.path, extensions: { code } });
  }
  if (original instanceof GraphQLError && original.extensions.http?.status === 403) {
    // Yoga's CSRF prevention (yoga.ts): a request a cross-site page could send, refused with 403.
    return new GraphQLError(original.message, { extensions: { code: 'FORBIDDEN', http: original.extensions.http } });
  }
  if (graphQLError && !graphQLError.path && original instanceof GraphQLError) {
    // graphql-js refusing the request's variables (an unknown input field, say): the client's input.
    return new GraphQLError(graphQLError.message, { nodes: graphQLError.nodes, extensions: { code: 'BAD_USER_INPUT' } });
  }
  if (!graphQLError?.path && original instanceof RangeError) {
    // The parser recursing into a literal nested thousands deep: a bad document, not our failure.
    return new GraphQLError('The document nests too deeply', { extensions: { code: 'BAD_USER_INPUT' } });
  }
  if (graphQLError && !graphQLError.originalError) {
    // Validation and parse errors: about the document the client sent, safe to show.
    return graphQLError;
  }
  onUnexpected(original);
  return new GraphQLError('Unexpected error.', {
    nodes: graphQLError?.nodes,
    path: graphQLError?.path,
    extensions: { code: 'INTERNAL_SERVER_ERROR' },
  });
}

/**
 * The database cannot answer now: a top-level error (no path: the whole request failed, nothing
 * partial) that Yoga answers with HTTP 503 and `Retry-After`.
 */
export function serviceUnavailable(retryAfterSeconds: number): GraphQLError {
  return new GraphQLError('The service is temporarily unavailable; retry later', {
    extensions: { code: 'SERVICE_UNAVAILABLE', http: { status: 503, headers: { 'retry-after': String(retryAfterSeconds) } } },
  });
}

function withPath(error: GraphQLError, located: GraphQLError | null): GraphQLError {
  if (!located || error === located) return error;
  return new GraphQLError(error.message, { nodes: located.nodes, path: located.path, extensions: error.extensions });
}
