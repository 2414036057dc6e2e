// Benchmark plumbing: Hookgate and the baseline each run in their own process, autocannon drives
// both from this one, and every figure is printed next to the baseline measured in the same run.
import { type ChildProcess, fork } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import autocannon from 'autocannon';
import pg from 'pg';
import type { DatabaseTarget } from '../src/db/database';
import { freePort, type HookgateProcess, startHookgate } from '../test/process-helpers';

export const ADMIN_TOKEN = 'bench-admin-token-0123456789abcdef';
export const DURATION_S = Number(process.env.BENCH_DURATION ?? 5);
export const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 20);
/** How long a Hookgate under test may take to start (seconds): a loaded machine needs more. */
const START_TIMEOUT_MS = Number(process.env.BENCH_START_TIMEOUT ?? 60) * 1000;

export interface LoadResult {
  requestsPerSecond: number;
  p99Ms: number;
  errors: number;
  non2xx: number;
}

export interface RequestSpec {
  method?: 'GET' | 'POST' | 'PUT' | 'DELETE';
  path: string;
  headers?: Record<string, string>;
  body?: string;
}

export async function load(baseUrl: string, spec: RequestSpec): Promise<LoadResult> {
  const result = await autocannon({
    url: `${baseUrl}${spec.path}`,
    method: spec.method ?? 'GET',
    headers: { 'content-type': 'application/json', ...spec.headers },
    ...(spec.body === undefined ? {} : { body: spec.body }),
    connections: CONNECTIONS,
    duration: DURATION_S,
  });
  return { requestsPerSecond: result.requests.average, p99Ms: result.latency.p99, errors: result.errors + result.timeouts, non2xx: result.non2xx };
}

export interface Baseline {
  url: string;
  stop(): Promise<void>;
}

/** The bare node:http server answering `body` from memory. */
export async function startBaseline(body: string, status = 200): Promise<Baseline> {
  const port = await freePort();
  const child: ChildProcess = fork(path.join(import.meta.dirname, 'baseline-server.mjs'), [String(port), body, String(status)], { stdio: 'ignore' });
  await once(child, 'message');
  return {
    url: `http://127.0.0.1:${port}`,
    async stop() {
      child.kill();
      await once(child, 'exit');
    },
  };
}

export interface Target {
  name: 'pglite' | 'postgres';
  hookgate: HookgateProcess;
  /** The PostgreSQL target's database, for processes that read the same rows (the GraphQL floor). */
  databaseUrl?: string;
  /** Stops Hookgate, runs `between` (PGlite: the data directory is free then), starts it again. */
  restart(between: () => Promise<void>): Promise<void>;
  stop(): Promise<void>;
}

export interface TargetOptions {
  /** More settings for the Hookgate process. */
  env?: Record<string, string>;
  /** Runs on the fresh database before Hookgate starts (seeding it, say); may add settings. */
  prepare?: (database: DatabaseTarget) => Promise<Record<string, string> | void>;
  /** How long Hookgate may take to answer /healthz (default BENCH_START_TIMEOUT, 60 s). */
  startTimeoutMs?: number;
}

/** Hookgate on the embedded database (a fresh data directory) or on a fresh PostgreSQL database. */
export async function startTarget(name: Target['name'], dataDir: string, options: TargetOptions = {}): Promise<Target> {
  const env: Record<string, string> = { HOOKGATE_ADMIN_TOKEN: ADMIN_TOKEN, LOG_LEVEL: 'warn', HOOKGATE_ALLOW_LOCAL_REQUESTS: 'true', ...options.env };
  const startTimeoutMs = options.startTimeoutMs ?? START_TIMEOUT_MS;
  let drop = async () => {};
  if (name === 'pglite') env.DATA_DIR = dataDir;
  else {
    const adminUrl = process.env.BENCH_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/test';
    const db = `hookgate_bench_${process.pid}`;
    const admin = new pg.Client({ connectionString: adminUrl });
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
    await admin.query(`CREATE DATABASE ${db}`);
    await admin.end();
    const url = new URL(adminUrl);
    url.pathname = `/${db}`;
    env.DATABASE_URL = url.toString();
    drop = async () => {
      const client = new pg.Client({ connectionString: adminUrl });
      await client.connect();
      await client.query(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
      await client.end();
    };
  }
  if (options.prepare) {
    Object.assign(env, await options.prepare(env.DATABASE_URL ? { kind: 'postgres', url: env.DATABASE_URL, poolSize: 4 } : { kind: 'pglite', dataDir }));
  }
  let hookgate = await startHookgate(env, startTimeoutMs);
  return {
    name,
    get hookgate() {
      return hookgate;
    },
    ...(env.DATABASE_URL ? { databaseUrl: env.DATABASE_URL } : {}),
    async restart(between) {
      await hookgate.stop();
      await between();
      hookgate = await startHookgate(env, startTimeoutMs);
    },
    async stop() {
      await hookgate.stop();
      await drop();
    },
  };
}

export async function postgresAvailable(): Promise<boolean> {
  const client = new pg.Client({ connectionString: process.env.BENCH_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/test' });
  try {
    await client.connect();
    await client.end();
    return true;
  } catch {
    return false;
  }
}

/** Loads Hookgate and the baseline alternately and prints one comparison line. */
export async function compare(label: string, hookgateUrl: string, spec: RequestSpec, baselineBody: string): Promise<void> {
  const baseline = await startBaseline(baselineBody);
  try {
    const ours = await load(hookgateUrl, spec);
    const bare = await load(baseline.url, { ...spec, headers: {} });
    printComparison(label, ours, bare);
  } finally {
    await baseline.stop();
  }
}

export function printComparison(label: string, ours: LoadResult, bare: LoadResult): void {
  const ratio = ours.requestsPerSecond / bare.requestsPerSecond;
  const flags = ours.errors + ours.non2xx > 0 ? `  (!! ${ours.errors} errors, ${ours.non2xx} non-2xx)` : '';
  console.log(
    `${label.padEnd(48)} hookgate ${fmt(ours.requestsPerSecond)} req/s p99 ${ours.p99Ms} ms | ` +
      `baseline ${fmt(bare.requestsPerSecond)} req/s p99 ${bare.p99Ms} ms | ratio ${(ratio * 100).toFixed(1)}%${flags}`,
  );
}

function fmt(n: number): string {
  return n.toFixed(0).padStart(6);
}

export type Scenario = (target: Target) => Promise<void>;

/** Runs the scenarios against Hookgate on PGlite, then on PostgreSQL when it is reachable. */
export async function runScenarios(scenarios: Scenario[]): Promise<void> {
  const backends: Target['name'][] = ['pglite'];
  if (await postgresAvailable()) backends.push('postgres');
  else console.log('PostgreSQL is not reachable: benchmarking PGlite only (set BENCH_DATABASE_URL).');
  for (const backend of backends) {
    const dataDir = await mkdtemp(path.join(tmpdir(), 'hookgate-bench-'));
    const target = await startTarget(backend, dataDir);
    try {
      for (const scenario of scenarios) await scenario(target);
    } finally {
      await target.stop();
      await rm(dataDir, { recursive: true, force: true });
    }
  }
}
