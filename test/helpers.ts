// Shared test helpers: real databases (in-memory PGlite, and PostgreSQL when TEST_DATABASE_URL is
// set, one fresh database per call) and a real Hookgate app listening on a loopback port.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { type App, createApp } from '../src/app';
import { type Config, loadConfig } from '../src/config';
import { type Database, type DatabaseTarget, openDatabase } from '../src/db/database';
import { migrateDatabase } from '../src/db/migrate';
import type { Actor } from '../src/domain/actor';
import { createLogger } from '../src/logger';
import { pgliteTemplate } from './pglite-template';

export type Backend = 'pglite' | 'postgres';

/** The backends this run covers: PGlite always, PostgreSQL when `TEST_DATABASE_URL` is set. */
export const backends: Backend[] = process.env.TEST_DATABASE_URL ? ['pglite', 'postgres'] : ['pglite'];

export interface TestDatabase {
  target: DatabaseTarget;
  /** `DATABASE_URL` for this database (for child processes and createApp). */
  url: string;
  drop(): Promise<void>;
}

/**
 * How long a test's query may wait for a pooled connection before a 503: generous, because CI's
 * loaded two cores can stall a connection for seconds (tests of the 503 itself set their own).
 */
const TEST_QUEUE_TIMEOUT_MS = 30_000;

/**
 * A new database: in-memory PGlite, or a freshly created PostgreSQL database. PGlite starts from
 * the migrated template unless `empty` is set (PostgreSQL databases are always created empty).
 */
export async function createTestDatabase(backend: Backend, options: { empty?: boolean } = {}): Promise<TestDatabase> {
  if (backend === 'pglite') {
    const template = options.empty ? undefined : await pgliteTemplate();
    return {
      target: { kind: 'pglite', dataDir: null, queueTimeoutMs: TEST_QUEUE_TIMEOUT_MS, ...(template ? { template } : {}) },
      url: 'memory://',
      drop: async () => {},
    };
  }
  const adminUrl = process.env.TEST_DATABASE_URL;
  if (!adminUrl) throw new Error('TEST_DATABASE_URL is not set');
  const name = `hookgate_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    target: { kind: 'postgres', url: url.toString(), poolSize: 5, queueTimeoutMs: TEST_QUEUE_TIMEOUT_MS },
    url: url.toString(),
    drop: async () => {
      const client = new pg.Client({ connectionString: adminUrl });
      await client.connect();
      await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await client.end();
    },
  };
}

/** An open, migrated database; `close()` also drops it. */
export async function openTestDatabase(backend: Backend): Promise<Database & { url: string }> {
  const testDb = await createTestDatabase(backend);
  const db = await openDatabase(testDb.target);
  await migrateDatabase(db);
  return {
    ...db,
    url: testDb.url,
    async close() {
      await db.close();
      await testDb.drop();
    },
  };
}

export const ADMIN_TOKEN = 'test-admin-token-0123456789abcdef';

export interface TestApp {
  app: App;
  url: string;
  adminToken: string;
  admin: Actor;
  close(): Promise<void>;
}

/** A real Hookgate listening on 127.0.0.1 with a random port, on a fresh database of `backend`. */
export async function startTestApp(backend: Backend, env: Record<string, string> = {}): Promise<TestApp> {
  const testDb = await createTestDatabase(backend);
  const config: Config = loadConfig({
    PORT: '0',
    HOST: '127.0.0.1',
    DATABASE_URL: testDb.url,
    HOOKGATE_ADMIN_TOKEN: ADMIN_TOKEN,
    HOOKGATE_ALLOW_LOCAL_REQUESTS: 'true',
    HOOKGATE_RETRY_SCHEDULE: '200ms,500ms,1s',
    LOG_LEVEL: 'silent',
    ...env,
  });
  // Pool settings given here apply to the test database too (its target otherwise has its own).
  const target: DatabaseTarget = {
    ...testDb.target,
    ...(env.DATABASE_POOL_SIZE ? { poolSize: config.DATABASE_POOL_SIZE } : {}),
    ...(env.DATABASE_QUEUE_TIMEOUT ? { queueTimeoutMs: config.DATABASE_QUEUE_TIMEOUT } : {}),
  };
  const app = await createApp(config, createLogger(config.LOG_LEVEL), { databaseTarget: target });
  const url = await app.listen();
  const admin = await app.services.users.authenticate(ADMIN_TOKEN);
  return {
    app,
    url,
    adminToken: ADMIN_TOKEN,
    admin,
    async close() {
      await app.close();
      await testDb.drop();
    },
  };
}

/** Creates a non-admin user and returns its actor and token. */
export async function createUser(app: App, username: string): Promise<{ actor: Actor; token: string }> {
  const root = await app.services.users.authenticate(ADMIN_TOKEN);
  const { token } = await app.services.users.createUser(root, { username });
  return { actor: await app.services.users.authenticate(token), token };
}

// `any` by default: tests walk response trees whose shape the assertions themselves check.
export interface GraphQLResponse<T = Record<string, any>> {
  status: number;
  contentType: string | null;
  data?: T;
  errors?: { message: string; path?: (string | number)[]; extensions?: { code?: string } }[];
}

/** POSTs one GraphQL operation to a running Hookgate (`token: null` sends no Authorization). */
export async function graphql<T = Record<string, any>>(
  baseUrl: string,
  query: string,
  variables: Record<string, unknown> = {},
  token: string | null = ADMIN_TOKEN,
  headers: Record<string, string> = {},
): Promise<GraphQLResponse<T>> {
  const response = await fetch(`${baseUrl}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await response.json()) as Omit<GraphQLResponse<T>, 'status' | 'contentType'>;
  return { status: response.status, contentType: response.headers.get('content-type'), ...body };
}
