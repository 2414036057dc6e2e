// GraphQL scenarios against the floor: `hook(id)` over 1,000 different ids, the 100-hooks page
// (creator, url variables, last 5 deliveries with attempts) and the newest 50 FAILED deliveries of
// a 100,000-delivery log. Each Hookgate (PGlite, PostgreSQL) is
// compared with bench/graphql-floor.mjs, a bare node:http + pg server answering the same data from
// PostgreSQL with one hand-written statement. Three interleaved rounds; medians printed, with
// requests/s, p99, CPU milliseconds per request of each process and the Hookgate process's RSS.
// `tsx bench/graphql.ts` runs only these; `npm run bench` runs them with the others.
import { fork } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { encodeGlobalID } from '@pothos/plugin-relay';
import autocannon from 'autocannon';
import pg from 'pg';
import { openDatabase } from '../src/db/database';
import { freePort } from '../test/process-helpers';
import { ADMIN_TOKEN, CONNECTIONS, DURATION_S, postgresAvailable, startTarget, type Target } from './lib';
import { cpuMs, rssMb } from './process-usage';

const SUBJECT = 'bench/graphql';
const HOOKS = 100;
/** Extra hooks (another subject) so that `hook(id)` walks 1,000 different ids. */
const ID_HOOKS = 900;
/** Events published to every page hook: each then has more deliveries than the page's 5. */
const EVENTS = 8;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const headers = { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' };

export const HOOK_BY_ID = 'query($id: ID!) { hook(id: $id) { id databaseId url name events isActive hasSecret createdAt } }';
export const HOOKS_PAGE = `query($subject: String!) {
  hooks(first: 100, filter: { subject: $subject }) {
    totalCount
    nodes {
      id databaseId url events hasSecret
      createdBy { username }
      urlVariables { key }
      deliveries(first: 5) { nodes { databaseId event status attemptCount attempts { startedAt durationMs responseStatus } } }
    }
  }
}`;

/** The console's "failed deliveries" view: the newest 50 FAILED across every hook (an admin). */
export const DELIVERIES_PAGE = `query {
  deliveries(first: 50, filter: { status: FAILED }) { nodes { databaseId event status attemptCount createdAt } }
}`;
/** Deliveries written straight in SQL beneath the API-made ones, so a page is read from a big log. */
const LOG_DELIVERIES = 100_000;

async function graphql(target: Target, query: string, variables: Record<string, unknown> = {}): Promise<string> {
  const response = await fetch(`${target.hookgate.url}/graphql`, { method: 'POST', headers, body: JSON.stringify({ query, variables }) });
  const text = await response.text();
  if (!response.ok || text.includes('"errors"') || /"userErrors":\[\{/.test(text)) throw new Error(`GraphQL failed: ${text.slice(0, 300)}`);
  return text;
}

async function createHook(target: Target, input: Record<string, unknown>): Promise<{ id: string; databaseId: number }> {
  const created = JSON.parse(
    await graphql(target, `mutation($input: CreateHookInput!) { createHook(input: $input) { hook { id databaseId } userErrors { message } } }`, { input }),
  ) as {
    data: { createHook: { hook: { id: string; databaseId: number } } };
  };
  return created.data.createHook.hook;
}

/** 100 page hooks with a url variable and 8 delivered events each, plus 900 more: made through the API. */
export async function seed(target: Target): Promise<number[]> {
  let received = 0;
  const receiver = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      received++;
      res.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/{token}`;
  try {
    const ids: number[] = [];
    for (let i = 0; i < HOOKS; i++) {
      const hook = await createHook(target, {
        kind: 'SUBJECT',
        subjectType: 'BUILD_REPO',
        subject: SUBJECT,
        events: ['build:complete'],
        url,
        secret: 'secret',
        name: `hook ${i}`,
      });
      ids.push(hook.databaseId);
      await graphql(target, `mutation($input: SetUrlVariableInput!) { setUrlVariable(input: $input) { userErrors { message } } }`, {
        input: { hookId: hook.id, key: 'token', value: `t${i}` },
      });
    }
    for (let i = 0; i < ID_HOOKS; i++) {
      const hook = await createHook(target, {
        kind: 'SUBJECT',
        subjectType: 'BUILD_REPO',
        subject: `${SUBJECT}-ids`,
        events: ['build:complete'],
        url,
        name: `id hook ${i}`,
      });
      ids.push(hook.databaseId);
    }
    for (let i = 0; i < EVENTS; i++) {
      await graphql(target, `mutation($input: PublishEventInput!) { publishEvent(input: $input) { userErrors { message } } }`, {
        input: { event: 'build:complete', subjectType: 'BUILD_REPO', subject: SUBJECT, payload: { build: i } },
      });
    }
    const deadline = Date.now() + 60_000;
    while (received < HOOKS * EVENTS) {
      if (Date.now() > deadline) throw new Error(`only ${received} of ${HOOKS * EVENTS} seeded deliveries arrived`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    // The last attempts are recorded just after their answers: give the recorder a moment.
    await new Promise((resolve) => setTimeout(resolve, 500));
    return ids;
  } finally {
    receiver.closeAllConnections();
    await new Promise((resolve) => receiver.close(resolve));
  }
}

/**
 * 100,000 older deliveries (a quarter FAILED) on the 900 id hooks, written in SQL: through the API
 * they would take the engine minutes. PGlite's data directory belongs to its Hookgate process, so
 * that one is stopped while they are written.
 */
export async function seedDeliveryLog(target: Target, dataDir: string): Promise<void> {
  const statements = [
    `INSERT INTO events (name, payload)
     SELECT CASE WHEN i % 2 = 0 THEN 'build:complete' ELSE 'job:fail' END, json_build_object('n', i) FROM generate_series(1, 1000) AS i`,
    `INSERT INTO deliveries (uuid, event_id, hook_id, status, attempt_count, created_at, updated_at)
     SELECT gen_random_uuid(), e.first + i % 1000, h.ids[1 + i % array_length(h.ids, 1)],
       (ARRAY['SUCCEEDED', 'FAILED', 'SUCCEEDED', 'SUCCEEDED'])[1 + (i / 7) % 4]::delivery_status, 1,
       now() - interval '30 days' + i * interval '20 seconds', now() - interval '30 days' + i * interval '20 seconds'
     FROM generate_series(0, ${LOG_DELIVERIES - 1}) AS i,
       (SELECT max(id) - 999 AS first FROM events) AS e,
       (SELECT array_agg(id ORDER BY id) AS ids FROM hooks WHERE subject = '${SUBJECT}-ids') AS h`,
    'ANALYZE deliveries',
  ];
  if (target.name === 'postgres') {
    const client = new pg.Client({ connectionString: target.databaseUrl });
    await client.connect();
    try {
      for (const sql of statements) await client.query(sql);
    } finally {
      await client.end();
    }
    return;
  }
  await target.restart(async () => {
    const db = await openDatabase({ kind: 'pglite', dataDir });
    try {
      for (const sql of statements) await db.prisma.$executeRawUnsafe(sql);
    } finally {
      await db.close();
    }
  });
}

interface Server {
  name: string;
  url: string;
  pid: number;
}

interface Figures {
  requestsPerSecond: number;
  p99Ms: number;
  cpuMsPerRequest: number;
  rssMb: number;
  failures: number;
}

interface Operation {
  label: string;
  query: string;
  /** Variables of the n-th request (so that `hook(id)` walks many ids). */
  variables(n: number): Record<string, unknown>;
}

async function measure(server: Server, operation: Operation): Promise<Figures> {
  let n = 0;
  const cpuBefore = cpuMs(server.pid);
  let peakRss = 0;
  const sampler = setInterval(() => (peakRss = Math.max(peakRss, rssMb(server.pid))), 250);
  const result = await autocannon({
    url: `${server.url}/graphql`,
    connections: CONNECTIONS,
    duration: DURATION_S,
    requests: [
      {
        method: 'POST',
        headers,
        setupRequest: (request) => ({ ...request, body: JSON.stringify({ query: operation.query, variables: operation.variables(n++) }) }),
      },
    ],
  });
  clearInterval(sampler);
  const cpu = cpuMs(server.pid) - cpuBefore;
  const total = Math.max(1, result.requests.total);
  return {
    requestsPerSecond: result.requests.average,
    p99Ms: result.latency.p99,
    cpuMsPerRequest: cpu / total,
    rssMb: peakRss,
    failures: result.errors + result.timeouts + result.non2xx,
  };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

function medians(rounds: Figures[]): Figures {
  const pick = (key: keyof Figures) => median(rounds.map((figures) => figures[key]));
  return {
    requestsPerSecond: pick('requestsPerSecond'),
    p99Ms: pick('p99Ms'),
    cpuMsPerRequest: pick('cpuMsPerRequest'),
    rssMb: pick('rssMb'),
    failures: rounds.reduce((s, r) => s + r.failures, 0),
  };
}

function print(label: string, ours: Figures, floor: Figures | undefined): void {
  const flags = ours.failures > 0 ? `  (!! ${ours.failures} failed requests)` : '';
  const mine = `hookgate ${ours.requestsPerSecond.toFixed(0).padStart(5)} req/s p99 ${String(ours.p99Ms).padStart(4)} ms cpu ${ours.cpuMsPerRequest.toFixed(2)} ms/req rss ${ours.rssMb.toFixed(0)} MB`;
  if (!floor) {
    console.log(`${label.padEnd(44)} ${mine}${flags}`);
    return;
  }
  console.log(
    `${label.padEnd(44)} ${mine} | floor ${floor.requestsPerSecond.toFixed(0).padStart(5)} req/s p99 ${floor.p99Ms} ms cpu ${floor.cpuMsPerRequest.toFixed(2)} ms/req | ` +
      `ratio ${(ours.requestsPerSecond / floor.requestsPerSecond).toFixed(2)}x req/s, ${(ours.p99Ms / Math.max(1, floor.p99Ms)).toFixed(1)}x p99, ${(ours.cpuMsPerRequest / floor.cpuMsPerRequest).toFixed(1)}x cpu${flags}`,
  );
}

async function startFloor(databaseUrl: string): Promise<Server & { stop(): Promise<void> }> {
  const port = await freePort();
  const child = fork(path.join(import.meta.dirname, 'graphql-floor.mjs'), [String(port), databaseUrl], { stdio: 'ignore' });
  await once(child, 'message');
  return {
    name: 'floor',
    url: `http://127.0.0.1:${port}`,
    pid: child.pid!,
    async stop() {
      child.kill();
      await once(child, 'exit');
    },
  };
}

export async function benchGraphQL(): Promise<void> {
  // BENCH_BACKENDS=postgres (or pglite): only those targets, for quick before/after comparisons.
  const only = process.env.BENCH_BACKENDS?.split(',').map((name) => name.trim());
  const names = ((await postgresAvailable()) ? (['postgres', 'pglite'] as const) : (['pglite'] as const)).filter((name) => !only || only.includes(name));
  if (!names.includes('postgres')) console.log('PostgreSQL is not reachable: no floor, Hookgate figures only (set BENCH_DATABASE_URL).');
  const dataDir = await mkdtemp(path.join(tmpdir(), 'hookgate-bench-'));
  const targets: { target: Target; ids: number[] }[] = [];
  let floor: Awaited<ReturnType<typeof startFloor>> | undefined;
  try {
    for (const name of names) {
      const target = await startTarget(name, dataDir);
      const ids = await seed(target);
      await seedDeliveryLog(target, dataDir);
      targets.push({ target, ids });
    }
    // The floor reads the PostgreSQL target's database: the same rows Hookgate serves there.
    const postgres = targets.find(({ target }) => target.name === 'postgres');
    if (postgres?.target.databaseUrl) floor = await startFloor(postgres.target.databaseUrl);
    const operationsFor = (ids: number[]): Operation[] => [
      { label: 'GraphQL hook(id), 1,000 ids', query: HOOK_BY_ID, variables: (n) => ({ id: encodeGlobalID('Hook', ids[n % ids.length]!) }) },
      { label: 'GraphQL hooks(first: 100) + 5 deliveries', query: HOOKS_PAGE, variables: () => ({ subject: SUBJECT }) },
      { label: 'GraphQL deliveries(first: 50, FAILED), 100k log', query: DELIVERIES_PAGE, variables: () => ({}) },
    ];
    const scenarioCount = operationsFor([]).length;
    for (let scenario = 0; scenario < scenarioCount; scenario++) {
      const rounds = new Map<string, Figures[]>();
      for (let round = 0; round < ROUNDS; round++) {
        // Interleaved, and the order rotated each round, so a noisy minute hurts everyone alike.
        const servers: { key: string; server: Server; operation: Operation }[] = targets.map(({ target, ids }) => ({
          key: target.name,
          server: { name: target.name, url: target.hookgate.url, pid: target.hookgate.child.pid! },
          operation: operationsFor(ids)[scenario]!,
        }));
        if (floor) servers.push({ key: 'floor', server: floor, operation: operationsFor(targets.find((t) => t.target.name === 'postgres')!.ids)[scenario]! });
        for (let i = 0; i < servers.length; i++) {
          const { key, server, operation } = servers[(i + round) % servers.length]!;
          rounds.set(key, [...(rounds.get(key) ?? []), await measure(server, operation)]);
        }
      }
      const floorFigures = rounds.has('floor') ? medians(rounds.get('floor')!) : undefined;
      for (const { target } of targets) print(`[${target.name}] ${operationsFor([])[scenario]!.label}`, medians(rounds.get(target.name)!), floorFigures);
    }
  } finally {
    await floor?.stop();
    for (const { target } of targets) await target.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await benchGraphQL();
}
