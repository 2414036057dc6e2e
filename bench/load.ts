// `npm run bench:load`: many clients at once, mixing REST create/list/get and GraphQL hooks(first: 20),
// against Hookgate on PGlite and (when reachable) PostgreSQL, with /healthz and /metrics probed
// beside the load from a thread of their own. Not part of `npm test`.
// BENCH_LOAD_DURATION (seconds, default 30), BENCH_LOAD_CONNECTIONS (default 200),
// BENCH_BACKENDS (default `pglite,postgres`).
// Targets (issue 12): no class at 0, p99 <= 3 s on PGlite and <= 2 s on PostgreSQL, /healthz p99
// <= 100 ms, no 5xx other than 503 with Retry-After.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import autocannon from 'autocannon';
import { ADMIN_TOKEN, postgresAvailable, startTarget, type Target } from './lib';

const DURATION_S = Number(process.env.BENCH_LOAD_DURATION ?? 30);
const CONNECTIONS = Number(process.env.BENCH_LOAD_CONNECTIONS ?? 200);
/** Seconds a request may take before it counts as a timeout (the clients gave up at 20 s). */
const TIMEOUT_S = 20;
const SEED_HOOKS = 500;
const HOOK_BASE = 'http://127.0.0.1:9/load';
const v1Headers = { authorization: `Token ${ADMIN_TOKEN}`, 'content-type': 'application/json' };

interface ClassResult {
  name: string;
  requests: number;
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  timeouts: number;
  errors: number;
  /** Still waiting for an answer when the run ended. */
  unanswered: number;
  statuses: Record<string, number>;
  /** 5xx answers without a Retry-After header, or 5xx other than 503: what the targets forbid. */
  bad5xx: number;
}

interface ProbeResult {
  path: string;
  probes: number;
  answered: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

/** Creates one hook, waiting out 503s as their Retry-After says (a loaded machine may refuse some). */
async function createHook(target: Target, n: number): Promise<number> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const response = await fetch(`${target.hookgate.url}/v1/hooks`, {
      method: 'POST',
      headers: v1Headers,
      body: JSON.stringify({ subject_type: 'build_repo', subject: `load${n % 50}/repo`, events: ['build:complete'], url: `${HOOK_BASE}/${n}` }),
    });
    if (response.status === 201) return ((await response.json()) as { id: number }).id;
    if (response.status !== 503 || Date.now() > deadline) throw new Error(`seeding answered ${response.status}: ${await response.text()}`);
    await response.arrayBuffer();
    await new Promise((resolve) => setTimeout(resolve, 1000 * Number(response.headers.get('retry-after') ?? 1)));
  }
}

async function seed(target: Target): Promise<number[]> {
  const ids: number[] = [];
  for (let i = 0; i < SEED_HOOKS; i += 10) ids.push(...(await Promise.all(Array.from({ length: 10 }, (_, j) => createHook(target, i + j)))));
  return ids;
}

function loadClass(name: string, baseUrl: string, connections: number, request: autocannon.Request): Promise<ClassResult> {
  const statuses: Record<string, number> = {};
  let bad5xx = 0;
  let sent = 0;
  const setup = request.setupRequest as ((req: autocannon.Request, context: object) => autocannon.Request) | undefined;
  const counted: autocannon.Request = {
    ...request,
    setupRequest: (req, context) => {
      sent += 1;
      return setup ? setup(req, context) : req;
    },
    onResponse: (status: number, _body: string, _context: unknown, headers: Record<string, string | string[]>) => {
      statuses[status] = (statuses[status] ?? 0) + 1;
      if (status >= 500 && (status !== 503 || headers['retry-after'] === undefined)) bad5xx += 1;
    },
  } as autocannon.Request;
  return new Promise((resolve, reject) => {
    autocannon({ url: baseUrl, connections, duration: DURATION_S, timeout: TIMEOUT_S, requests: [counted] }, (error, result) => {
      if (error) return reject(error);
      resolve({
        name,
        requests: result.requests.total,
        requestsPerSecond: result.requests.total / DURATION_S,
        p50Ms: result.latency.p50,
        p99Ms: result.latency.p99,
        timeouts: result.timeouts,
        errors: result.errors - result.timeouts,
        unanswered: Math.max(0, sent - result.requests.total - result.errors),
        statuses,
        bad5xx,
      });
    });
  });
}

/** Probes `paths` in turn every 100 ms from a thread of its own, so the load generator's event loop does not delay it. */
function probe(baseUrl: string, paths: string[], durationMs: number): Promise<ProbeResult[]> {
  const source = `
    const { parentPort, workerData } = require('node:worker_threads');
    const { baseUrl, paths, durationMs } = workerData;
    const samples = Object.fromEntries(paths.map((p) => [p, { probes: 0, latencies: [] }]));
    (async () => {
      const end = Date.now() + durationMs;
      let i = 0;
      while (Date.now() < end) {
        const p = paths[i++ % paths.length];
        const started = performance.now();
        samples[p].probes += 1;
        const controller = new AbortController();
        const timer = setTimeout(() => controller.abort(), 5000);
        try {
          const response = await fetch(baseUrl + p, { signal: controller.signal });
          await response.arrayBuffer();
          samples[p].latencies.push(performance.now() - started);
        } catch {}
        clearTimeout(timer);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      parentPort.postMessage(samples);
    })();`;
  const worker = new Worker(source, { eval: true, workerData: { baseUrl, paths, durationMs } });
  return new Promise((resolve, reject) => {
    worker.once('error', reject);
    worker.once('message', (samples: Record<string, { probes: number; latencies: number[] }>) => {
      void worker.terminate();
      resolve(
        paths.map((p) => {
          const { probes, latencies } = samples[p]!;
          const sorted = [...latencies].sort((a, b) => a - b);
          const at = (q: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]! : Number.NaN);
          return { path: p, probes, answered: sorted.length, p50Ms: at(0.5), p99Ms: at(0.99), maxMs: sorted.at(-1) ?? Number.NaN };
        }),
      );
    });
  });
}

async function run(target: Target): Promise<void> {
  const base = target.hookgate.url;
  const ids = await seed(target);
  let created = 0;
  const perClass = Math.max(1, Math.floor(CONNECTIONS / 4));
  const [results, probes] = await Promise.all([
    Promise.all([
      loadClass('REST POST /v1/hooks', base, perClass, {
        method: 'POST',
        path: '/v1/hooks',
        headers: v1Headers,
        // A namespace per hook, so a per-namespace cap never turns creates into 400s.
        setupRequest: (request) => ({
          ...request,
          body: JSON.stringify({
            subject_type: 'image_repo',
            subject: `new${process.pid}x${created++}/images`,
            events: ['image:push'],
            url: `${HOOK_BASE}/new`,
          }),
        }),
      }),
      loadClass('REST GET /v1/hooks?subject', base, perClass, {
        method: 'GET',
        path: '/v1/hooks?subject_type=build_repo&subject=load7%2Frepo',
        headers: v1Headers,
      }),
      loadClass('REST GET /v1/hooks/:id', base, perClass, {
        method: 'GET',
        headers: v1Headers,
        setupRequest: (request) => ({ ...request, path: `/v1/hooks/${ids[Math.floor(Math.random() * ids.length)]}` }),
      }),
      loadClass('GraphQL hooks(first: 20)', base, CONNECTIONS - 3 * perClass, {
        method: 'POST',
        path: '/graphql',
        headers: v1Headers,
        body: JSON.stringify({ query: '{ hooks(first: 20) { totalCount edges { node { id url events } } } }' }),
      }),
    ]),
    probe(base, ['/healthz', '/metrics'], DURATION_S * 1000),
  ]);
  console.log(`\n[${target.name}] ${CONNECTIONS} clients, ${DURATION_S} s`);
  for (const r of results) {
    const statuses = Object.entries(r.statuses)
      .map(([s, n]) => `${s}:${n}`)
      .join(' ');
    const flags = r.bad5xx > 0 ? `  !! ${r.bad5xx} 5xx without Retry-After` : '';
    console.log(
      `  ${r.name.padEnd(30)} ${r.requestsPerSecond.toFixed(0).padStart(6)} req/s  p50 ${String(r.p50Ms).padStart(6)} ms  p99 ${String(r.p99Ms).padStart(6)} ms  timeouts ${r.timeouts}  unanswered at end ${r.unanswered}  errors ${r.errors}  [${statuses}]${flags}`,
    );
  }
  for (const p of probes) {
    console.log(
      `  probe ${p.path.padEnd(24)} answered ${p.answered}/${p.probes} within 5 s  p50 ${p.p50Ms.toFixed(1)} ms  p99 ${p.p99Ms.toFixed(1)} ms  max ${p.maxMs.toFixed(1)} ms`,
    );
  }
}

const wanted = (process.env.BENCH_BACKENDS ?? 'pglite,postgres').split(',').map((b) => b.trim());
console.log('Note: figures depend on what else runs on this machine (other processes share its CPUs).');
for (const backend of ['pglite', 'postgres'] as const) {
  if (!wanted.includes(backend)) continue;
  if (backend === 'postgres' && !(await postgresAvailable())) {
    console.log('PostgreSQL is not reachable: skipped (set BENCH_DATABASE_URL).');
    continue;
  }
  const dataDir = await mkdtemp(path.join(tmpdir(), 'hookgate-load-'));
  // A loaded shared machine can take a minute to initialise a fresh data directory.
  const target = await startTarget(backend, dataDir, { startTimeoutMs: 180_000 });
  try {
    await run(target);
  } finally {
    await target.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
}
