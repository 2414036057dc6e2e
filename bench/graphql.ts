// GraphQL benchmarks: a `hook(id)` lookup and the 100-hooks page (creator, url variables, last 5
// deliveries with attempts), each next to a bare node:http server answering the same JSON from
// memory in the same run, so the ratio says what GraphQL + Prisma + the database cost.
// `tsx bench/graphql.ts` runs them alone; `bench/run.ts` calls `runGraphQLBenchmarks`.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { createApp, type App } from '../src/app';
import { loadConfig } from '../src/config';
import { createLogger } from '../src/logger';

const TOKEN = 'bench-admin-token-0123456789abcdef';

export const HOOK_BY_ID = 'query($id: ID!) { hook(id: $id) { id databaseId url name events isActive hasSecret createdAt } }';
export const HOOKS_PAGE = `{
  hooks(first: 100) {
    totalCount
    nodes {
      id databaseId url events hasSecret
      createdBy { username }
      urlVariables { key }
      deliveries(first: 5) { nodes { databaseId event status attemptCount attempts { startedAt durationMs responseStatus } } }
    }
  }
}`;

export interface BenchOptions {
  /** Seconds per measurement. */
  duration?: number;
  connections?: number;
  /** `DATABASE_URL` for the app (default: in-memory PGlite). */
  databaseUrl?: string;
}

export interface ScenarioResult {
  name: string;
  graphql: { requestsPerSec: number; latencyP50Ms: number; latencyP99Ms: number; errors: number; non2xx: number };
  baseline: { requestsPerSec: number; latencyP50Ms: number; latencyP99Ms: number };
  /** GraphQL throughput as a fraction of the bare server's. */
  ratio: number;
}

async function seed(app: App): Promise<number> {
  const prisma = app.db.prisma;
  const root = await prisma.user.findUniqueOrThrow({ where: { username: 'root' } });
  await prisma.hook.createMany({
    data: Array.from({ length: 100 }, (_, i) => ({
      kind: 'SUBJECT' as const, subjectType: 'BUILD_REPO' as const, subject: `root/repo${i}`, namespace: 'root',
      events: ['build:complete'], url: `https://example.com/${i}/{token}`, secret: 'secret', createdById: root.id,
    })),
  });
  const hooks = await prisma.hook.findMany({ select: { id: true }, orderBy: { id: 'asc' } });
  await prisma.urlVariable.createMany({ data: hooks.map((hook) => ({ hookId: hook.id, key: 'token', value: 'v' })) });
  const event = await prisma.event.create({ data: { name: 'build:complete', payload: { build: 1 } } });
  const deliveries = await prisma.delivery.createManyAndReturn({
    data: hooks.flatMap((hook) => Array.from({ length: 8 }, () => ({ eventId: event.id, hookId: hook.id, status: 'SUCCEEDED' as const, attemptCount: 1 }))),
    select: { id: true },
  });
  await prisma.deliveryAttempt.createMany({
    data: deliveries.map((delivery) => ({ deliveryId: delivery.id, durationMs: 20, requestUrl: 'https://example.com', requestHeaders: {}, responseStatus: 200 })),
  });
  return hooks[0]!.id;
}

async function measure(url: string, body: string, options: Required<Pick<BenchOptions, 'duration' | 'connections'>>) {
  const result = await autocannon({
    url,
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
    body,
    duration: options.duration,
    connections: options.connections,
  });
  return {
    requestsPerSec: result.requests.average,
    latencyP50Ms: result.latency.p50,
    latencyP99Ms: result.latency.p99,
    errors: result.errors,
    non2xx: result.non2xx,
  };
}

/** Serves fixed bytes for every request: the floor any HTTP API on this machine could reach. */
async function baselineServer(responses: Map<string, string>): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const text = responses.get(Buffer.concat(chunks).toString('utf8')) ?? '{}';
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
      res.end(text);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`, server };
}

export async function runGraphQLBenchmarks(options: BenchOptions = {}): Promise<ScenarioResult[]> {
  const settings = { duration: options.duration ?? 10, connections: options.connections ?? 10 };
  const config = loadConfig({
    PORT: '0', HOST: '127.0.0.1', DATABASE_URL: options.databaseUrl ?? 'memory://', HOOKGATE_ADMIN_TOKEN: TOKEN, LOG_LEVEL: 'silent',
  });
  const app = await createApp(config, createLogger('silent'));
  const base = await app.listen();
  try {
    const firstHook = await seed(app);
    const { encodeGlobalID } = await import('@pothos/plugin-relay');
    const scenarios = [
      { name: 'hook(id)', body: JSON.stringify({ query: HOOK_BY_ID, variables: { id: encodeGlobalID('Hook', firstHook) } }) },
      { name: 'hooks(first: 100) with createdBy, urlVariables, 5 deliveries + attempts', body: JSON.stringify({ query: HOOKS_PAGE }) },
    ];
    // The baseline answers each request with the exact bytes GraphQL produced for it.
    const answers = new Map<string, string>();
    for (const scenario of scenarios) {
      const response = await fetch(`${base}/graphql`, {
        method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` }, body: scenario.body,
      });
      const text = await response.text();
      if (!response.ok || text.includes('"errors"')) throw new Error(`${scenario.name} failed: ${text.slice(0, 300)}`);
      answers.set(scenario.body, text);
    }
    const baseline = await baselineServer(answers);
    try {
      const results: ScenarioResult[] = [];
      for (const scenario of scenarios) {
        const graphql = await measure(`${base}/graphql`, scenario.body, settings);
        const bare = await measure(baseline.url, scenario.body, settings);
        results.push({
          name: scenario.name,
          graphql,
          baseline: { requestsPerSec: bare.requestsPerSec, latencyP50Ms: bare.latencyP50Ms, latencyP99Ms: bare.latencyP99Ms },
          ratio: bare.requestsPerSec > 0 ? graphql.requestsPerSec / bare.requestsPerSec : 0,
        });
      }
      return results;
    } finally {
      await new Promise((resolve) => baseline.server.close(resolve));
    }
  } finally {
    await app.close();
  }
}

export function formatResults(results: ScenarioResult[]): string {
  const lines = ['GraphQL benchmarks (autocannon; the CPU may be shared with other work, so compare ratios, not absolutes)'];
  for (const r of results) {
    lines.push(
      `- ${r.name}: ${r.graphql.requestsPerSec.toFixed(0)} req/s (p50 ${r.graphql.latencyP50Ms} ms, p99 ${r.graphql.latencyP99Ms} ms, errors ${r.graphql.errors}, non-2xx ${r.graphql.non2xx})`
      + ` vs bare node:http ${r.baseline.requestsPerSec.toFixed(0)} req/s (p50 ${r.baseline.latencyP50Ms} ms): ratio ${(r.ratio * 100).toFixed(1)} %`,
    );
  }
  return lines.join('\n');
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const duration = Number(process.env.BENCH_DURATION ?? 10);
  const results = await runGraphQLBenchmarks({ duration, databaseUrl: process.env.BENCH_DATABASE_URL });
  process.stdout.write(`${formatResults(results)}\n`);
}
