// The database cannot take this request now (down, or its queue is full): transports answer 503
// with `Retry-After` instead of letting the client time out. The db layer turns every form such a
// failure takes (pg, the pool, Prisma's wrappers, the PGlite worker) into this one error.
import pg from 'pg';

export class DatabaseUnavailableError extends Error {
  override name = 'DatabaseUnavailableError';

  constructor(
    message = 'the database is unavailable',
    readonly retryAfterSeconds = 1,
  ) {
    super(message);
  }
}

/** Seconds a client should wait: a full queue drains quickly, a lost server takes longer to come back. */
const RETRY_AFTER_BUSY_S = 1;
const RETRY_AFTER_DOWN_S = 2;

/** pg-pool's message when no connection came free within `connectionTimeoutMillis`. */
const POOL_TIMEOUT = /timeout exceeded when trying to connect/i;
/** pg's messages for a connection that went away (they carry no code). */
const CONNECTION_LOST =
  /Connection terminated|connection error and is not queryable|Client was closed and is not queryable|Connection ended|embedded database (stopped|failed|has stopped)/i;
const SOCKET_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN']);
/** SQLSTATEs for "not now": connection exceptions (08), shutdown and startup (57P01-57P03), too many connections. */
const UNAVAILABLE_SQLSTATE = /^(08...|57P0[1-3]|53300)$/;
/** Prisma's codes for an unreachable or lost server, and its driver adapters' kinds for the same. */
const PRISMA_CODES = new Set(['P1001', 'P1002', 'P1008', 'P1017', 'P2024', 'P2037']);
const ADAPTER_KINDS = new Set(['DatabaseNotReachable', 'ConnectionClosed', 'SocketTimeout', 'TooManyConnections']);

/** `error` as a DatabaseUnavailableError when it means the database cannot answer now, else null. */
export function asDatabaseUnavailable(error: unknown): DatabaseUnavailableError | null {
  for (let current = error, depth = 0; current && depth < 5; depth++) {
    if (current instanceof DatabaseUnavailableError) return current;
    if (typeof current !== 'object') return null;
    const { code, message, meta, cause, kind, originalCode } = current as {
      code?: unknown;
      message?: unknown;
      meta?: { driverAdapterError?: unknown };
      cause?: unknown;
      kind?: unknown;
      originalCode?: unknown;
    };
    if (typeof message === 'string' && POOL_TIMEOUT.test(message)) {
      return new DatabaseUnavailableError('the database is busy: no connection came free in time', RETRY_AFTER_BUSY_S);
    }
    const sqlState = typeof originalCode === 'string' ? originalCode : code;
    if (
      (typeof sqlState === 'string' && (UNAVAILABLE_SQLSTATE.test(sqlState) || SOCKET_CODES.has(sqlState))) ||
      (typeof code === 'string' && PRISMA_CODES.has(code)) ||
      (typeof kind === 'string' && ADAPTER_KINDS.has(kind)) ||
      (typeof message === 'string' && CONNECTION_LOST.test(message))
    ) {
      return new DatabaseUnavailableError('the database is unavailable', RETRY_AFTER_DOWN_S);
    }
    current = meta?.driverAdapterError ?? cause;
  }
  return null;
}

/** Rethrows `error`, as a DatabaseUnavailableError when that is what it means. */
export function rethrowUnavailable(error: unknown): never {
  throw asDatabaseUnavailable(error) ?? error;
}

/** A checkout that failed: the wait timed out (the queue is full) or no connection could be made. */
function checkoutFailed(error: Error): DatabaseUnavailableError {
  return asDatabaseUnavailable(error) ?? new DatabaseUnavailableError(`could not connect to the database: ${error.message}`, RETRY_AFTER_DOWN_S);
}

/**
 * pg's pool, whose checkouts fail with DatabaseUnavailableError when the wait for a connection
 * times out (the queue is full: back-pressure) or a connection cannot be made (whatever the
 * server said: `database is not accepting connections`, too many clients, shutting down).
 */
export class AdmissionPool extends pg.Pool {
  override connect(): Promise<pg.PoolClient>;
  override connect(callback: (err: Error | undefined, client: pg.PoolClient | undefined, done: (release?: unknown) => void) => void): void;
  override connect(
    callback?: (err: Error | undefined, client: pg.PoolClient | undefined, done: (release?: unknown) => void) => void,
  ): Promise<pg.PoolClient> | void {
    if (callback) {
      super.connect((err, client, done) => callback(err ? checkoutFailed(err) : undefined, client, done));
      return;
    }
    return super.connect().catch((error: Error) => {
      throw checkoutFailed(error);
    });
  }
}

/**
 * The Prisma client, every operation of which (model queries and raw SQL, in transactions too)
 * rethrows a lost or overloaded database as DatabaseUnavailableError. Same type: the extension
 * adds nothing to the client's surface.
 */
export function unavailableAware<T extends { $extends: unknown }>(prisma: T): T {
  const extend = prisma.$extends as (extension: unknown) => unknown;
  return extend.call(prisma, {
    name: 'databaseUnavailable',
    query: {
      async $allOperations({ args, query }: { args: unknown; query: (args: unknown) => Promise<unknown> }) {
        try {
          return await query(args);
        } catch (error) {
          rethrowUnavailable(error);
        }
      },
    },
  }) as T;
}
