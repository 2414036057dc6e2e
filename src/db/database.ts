// Opens the database Hookgate runs on: embedded PGlite by default, a PostgreSQL server for scale-out.
// Both speak the same SQL, so the Prisma client, the migrations and the hand-written queries are shared.
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { PrismaPg } from '@prisma/adapter-pg';
import type { SqlMigrationAwareDriverAdapterFactory } from '@prisma/driver-adapter-utils';
import pg from 'pg';
import { PrismaPGlite } from 'pglite-prisma-adapter';
import { PrismaClient } from '../generated/prisma/client';
import { createLogger, type Logger } from '../logger';
import { PostgresHealth } from './health';
import { type Notifications, PGliteNotifications, PostgresNotifications, WorkerNotifications } from './notifications';
import { PGliteHost } from './pglite-host';
import { AdmissionPool, DatabaseUnavailableError, rethrowUnavailable, unavailableAware } from './unavailable';

/** How long /healthz waits for the database before calling it unavailable. */
const HEALTH_TIMEOUT_MS = 1_000;

/** How long a query may wait for a pooled connection before the request is refused with a 503. */
const DEFAULT_QUEUE_TIMEOUT_MS = 2_000;
/** Connections to the PGlite worker: a few, so one is parsing results while another's query runs. */
const DEFAULT_PGLITE_POOL_SIZE = 10;

export type DatabaseTarget =
  /**
   * `template`: a `dumpDataDir()` archive to start an in-memory database from (tests).
   * `inProcess`: PGlite in this thread, for tools that need its own adapter (migration diffs).
   */
  | { kind: 'pglite'; dataDir: string | null; template?: Blob; inProcess?: boolean; poolSize?: number; queueTimeoutMs?: number }
  | { kind: 'postgres'; url: string; poolSize: number; queueTimeoutMs?: number };

/** `DATABASE_URL` unset → PGlite in `DATA_DIR`; `memory://` → in-memory PGlite; otherwise PostgreSQL. */
export function databaseTarget(settings: {
  DATABASE_URL?: string | undefined;
  DATA_DIR: string;
  DATABASE_POOL_SIZE: number;
  DATABASE_QUEUE_TIMEOUT?: number;
}): DatabaseTarget {
  const url = settings.DATABASE_URL;
  const queueTimeoutMs = settings.DATABASE_QUEUE_TIMEOUT ?? DEFAULT_QUEUE_TIMEOUT_MS;
  const poolSize = settings.DATABASE_POOL_SIZE;
  if (url === undefined) return { kind: 'pglite', dataDir: path.resolve(settings.DATA_DIR), poolSize, queueTimeoutMs };
  if (url === 'memory://') return { kind: 'pglite', dataDir: null, poolSize, queueTimeoutMs };
  return { kind: 'postgres', url, poolSize: settings.DATABASE_POOL_SIZE, queueTimeoutMs };
}

export interface Database {
  readonly kind: DatabaseTarget['kind'];
  readonly prisma: PrismaClient;
  /** The driver adapter the client uses; the schema engine runs migrations through it too. */
  readonly adapterFactory: SqlMigrationAwareDriverAdapterFactory;
  /** The embedded engine, when this is PGlite in this thread (tools). */
  readonly pglite?: PGlite;
  /** PGlite in its worker thread: the thread's host (tests stop it to make the database unavailable). */
  readonly pgliteHost?: PGliteHost;
  /** LISTEN/NOTIFY on this database (a connection of its own on PostgreSQL, opened on first use). */
  readonly notifications: Notifications;
  /**
   * Whether the database answers, without queueing behind the app's queries (a connection of its
   * own on PostgreSQL, the worker's thread on PGlite); rejects with DatabaseUnavailableError.
   */
  checkHealth(): Promise<void>;
  /** Runs `fn` holding a database-wide lock (an advisory lock on PostgreSQL). */
  withLock<T>(key: number, fn: () => Promise<T>): Promise<T>;
  /** Runs `fn` if no one holds the lock (`pg_try_advisory_lock`); `{ ran: false }` at once if someone does. */
  tryWithLock<T>(key: number, fn: () => Promise<T>): Promise<{ ran: true; value: T } | { ran: false }>;
  close(): Promise<void>;
}

export async function openDatabase(target: DatabaseTarget, logger: Logger = createLogger('silent')): Promise<Database> {
  if (target.kind === 'postgres') return openPostgres(target, logger);
  return target.inProcess ? openPGliteInProcess(target.dataDir, target.template) : openPGliteWorker(target);
}

/**
 * PGlite in a worker thread, reached through `pg` like a PostgreSQL server: a long query occupies
 * the worker, never the HTTP event loop.
 */
async function openPGliteWorker(target: Extract<DatabaseTarget, { kind: 'pglite' }>): Promise<Database> {
  const { dataDir } = target;
  let unlock = async () => {};
  if (dataDir) {
    await mkdir(dataDir, { recursive: true });
    unlock = await lockDataDir(dataDir);
  }
  let host: PGliteHost;
  try {
    const template = target.template ? new Uint8Array(await target.template.arrayBuffer()) : undefined;
    host = await PGliteHost.start({ dataDir, ...(template ? { template } : {}) });
  } catch (error) {
    await unlock();
    throw error;
  }
  const pool = new AdmissionPool({
    stream: () => host.connection(),
    user: 'postgres',
    database: 'postgres',
    max: target.poolSize ?? DEFAULT_PGLITE_POOL_SIZE,
    connectionTimeoutMillis: target.queueTimeoutMs ?? DEFAULT_QUEUE_TIMEOUT_MS,
  });
  pool.on('error', () => {});
  const notifications = new WorkerNotifications(
    (sql) => pool.query(sql),
    () => host.alive,
  );
  // One PGlite session: a notification arrives on whichever connection ran the query it came with.
  pool.on('connect', (client) => client.on('notification', (message) => notifications.receive(message.channel, message.payload ?? '')));
  host.onStop(() => notifications.stopped());
  const adapterFactory = new WholeScriptPg(pool);
  const prisma = unavailableAware(new PrismaClient({ adapter: adapterFactory }));
  return {
    kind: 'pglite',
    prisma,
    adapterFactory,
    notifications,
    pgliteHost: host,
    async checkHealth() {
      if (!host.alive) throw new DatabaseUnavailableError('the embedded database has stopped');
      // Busy with a long query is not down: the worker answers between two queries.
      if (!(await host.ping(HEALTH_TIMEOUT_MS).catch(() => false)) && !(host.alive && host.busy)) {
        throw new DatabaseUnavailableError('the embedded database is not answering');
      }
    },
    withLock: inProcessLock(),
    tryWithLock: inProcessTryLock(),
    async close() {
      await notifications.close();
      await prisma.$disconnect();
      await pool.end();
      await host.close();
      await unlock();
    },
  };
}

async function openPGliteInProcess(dataDir: string | null, template?: Blob): Promise<Database> {
  let unlock = async () => {};
  if (dataDir) {
    await mkdir(dataDir, { recursive: true });
    unlock = await lockDataDir(dataDir);
  }
  let pglite: PGlite;
  try {
    pglite = dataDir ? new PGlite(dataDir) : new PGlite(template ? { loadDataDir: template } : {});
    await pglite.waitReady;
  } catch (error) {
    await unlock();
    throw error;
  }
  const adapterFactory = new PrismaPGlite(pglite);
  const prisma = new PrismaClient({ adapter: adapterFactory });
  const notifications = new PGliteNotifications(pglite);
  return {
    kind: 'pglite',
    prisma,
    pglite,
    adapterFactory,
    notifications,
    async checkHealth() {
      await prisma.$queryRaw`SELECT 1`;
    },
    withLock: inProcessLock(),
    tryWithLock: inProcessTryLock(),
    async close() {
      await notifications.close();
      await prisma.$disconnect();
      await pglite.close();
      await unlock();
    },
  };
}

/** PGlite's lock: one process owns the data directory, so an in-process mutex is database-wide. */
function inProcessLock(): Database['withLock'] {
  let tail: Promise<unknown> = Promise.resolve();
  return <T>(_key: number, fn: () => Promise<T>) => {
    const run = tail.then(fn, fn);
    tail = run.catch(() => undefined);
    return run;
  };
}

/** PGlite's try-lock: one process owns the data directory, so a set of held keys is database-wide. */
function inProcessTryLock(): Database['tryWithLock'] {
  const held = new Set<number>();
  return async <T>(key: number, fn: () => Promise<T>) => {
    if (held.has(key)) return { ran: false as const };
    held.add(key);
    try {
      return { ran: true as const, value: await fn() };
    } finally {
      held.delete(key);
    }
  };
}

export class DataDirInUseError extends Error {
  override name = 'DataDirInUseError';
}

/**
 * PGlite is PostgreSQL inside this process: a second process opening the same directory would
 * corrupt it. A pid file turns that mistake into a clear error; a dead owner's file is taken over.
 */
async function lockDataDir(dataDir: string): Promise<() => Promise<void>> {
  const lockPath = path.join(dataDir, 'hookgate.pid');
  try {
    await writeFile(lockPath, String(process.pid), { flag: 'wx' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    const owner = Number.parseInt(await readFile(lockPath, 'utf8').catch(() => ''), 10);
    if (Number.isInteger(owner) && owner !== process.pid && (await isAlive(owner))) {
      throw new DataDirInUseError(
        `the data directory ${dataDir} is in use by another Hookgate process (pid ${owner}); ` +
          'embedded PGlite allows one process per directory: set DATABASE_URL to a PostgreSQL server to run several',
      );
    }
    await writeFile(lockPath, String(process.pid));
  }
  return () => rm(lockPath, { force: true });
}

/** Whether `pid` is a running process. A zombie (killed, not yet reaped) holds nothing: it is dead. */
async function isAlive(pid: number): Promise<boolean> {
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  // Linux: a SIGKILLed process stays visible until its parent reaps it, and in a container whose
  // init never reaps, that is forever. /proc tells zombies apart; elsewhere kill(0) is all we have.
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => null);
  if (stat === null) return true;
  const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  return state !== 'Z' && state !== 'X';
}

type PgAdapter = Awaited<ReturnType<PrismaPg['connect']>>;

/**
 * adapter-pg runs a script by splitting it at every `;`, which cuts `$$ … $$` function bodies
 * (our triggers) apart. PostgreSQL's simple query protocol takes a whole script as written and runs
 * it atomically, as the native schema engine does; migrations go through here.
 */
class WholeScriptPg extends PrismaPg {
  override async connect(): Promise<PgAdapter> {
    return runScriptsWhole(await super.connect());
  }

  override async connectToShadowDb(): Promise<PgAdapter> {
    return runScriptsWhole(await super.connectToShadowDb());
  }
}

function runScriptsWhole(adapter: PgAdapter): PgAdapter {
  // `client` and `onError` are the adapter's own (protected): same connection, same error mapping.
  const internals = adapter as unknown as { client: pg.Pool; onError(error: unknown): never };
  adapter.executeScript = async (script: string) => {
    try {
      await internals.client.query(script);
    } catch (error) {
      internals.onError(error);
    }
  };
  return adapter;
}

async function openPostgres(target: Extract<DatabaseTarget, { kind: 'postgres' }>, logger: Logger): Promise<Database> {
  const { url } = target;
  const pool = new AdmissionPool({ connectionString: url, max: target.poolSize, connectionTimeoutMillis: target.queueTimeoutMs ?? DEFAULT_QUEUE_TIMEOUT_MS });
  // An idle client that loses its server must not crash the process; the pool replaces it.
  pool.on('error', () => {});
  const adapterFactory = new WholeScriptPg(pool);
  const prisma = unavailableAware(new PrismaClient({ adapter: adapterFactory }));
  const notifications = new PostgresNotifications(url, logger);
  const health = new PostgresHealth(url, HEALTH_TIMEOUT_MS);
  return {
    kind: 'postgres',
    prisma,
    adapterFactory,
    notifications,
    checkHealth: () => health.check(),
    async withLock<T>(key: number, fn: () => Promise<T>) {
      // A connection of its own: `fn` needs the pool's, which may have only one.
      const client = new pg.Client({ connectionString: url });
      client.on('error', () => {});
      await client.connect().catch(rethrowUnavailable);
      try {
        await client.query('SELECT pg_advisory_lock($1)', [key]);
        try {
          return await fn();
        } finally {
          await client.query('SELECT pg_advisory_unlock($1)', [key]);
        }
      } finally {
        await client.end().catch(() => {});
      }
    },
    async tryWithLock<T>(key: number, fn: () => Promise<T>) {
      // A session lock on a connection of its own, held for the whole of `fn`: if that connection
      // dies the lock goes with it, and the worst case is two runs at once, which stays correct.
      const client = await pool.connect();
      try {
        const { rows } = await client.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1) AS locked', [key]);
        if (!rows[0]?.locked) return { ran: false as const };
        try {
          return { ran: true as const, value: await fn() };
        } finally {
          await client.query('SELECT pg_advisory_unlock($1)', [key]);
        }
      } finally {
        client.release();
      }
    },
    async close() {
      await notifications.close();
      await health.close();
      await prisma.$disconnect();
      await pool.end();
    },
  };
}
