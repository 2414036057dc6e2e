// `npm run bench:scale`: how Hookgate behaves as the delivery log grows. For each size, a fresh
// database is seeded straight in SQL (generate_series) with that many deliveries, their events and
// attempts; then Hookgate (its own process, bench/lib.ts) is measured through its API:
// publish→receipt p50/p99 at 20 events/s, fan-out deliveries/s, the GraphQL `Hook.deliveries` page
// (and its `status` filter) p50/p99, one retention run over a day of expired rows (its duration,
// and the publish→receipt p99 while it runs), and the log's size on disk. One table at the end:
// every figure, and its ratio to the smallest size's.
//
// How the retention run is timed without reaching into the process: the expired day is seeded at
// one instant X (a day before seeding), the rest of the log after X, and Hookgate starts with
// HOOKGATE_LOG_RETENTION = T - X and a 1 s retention interval, so that day expires at once at T,
// a moment chosen after the other measurements. The run's figures come from /metrics.
//
// Settings (environment): BENCH_SCALE_SIZES (deliveries, default 100000,1000000), BENCH_SCALE_BACKENDS
// (default pglite,postgres; postgres when BENCH_DATABASE_URL or the local server answers),
// BENCH_SCALE_SECONDS (latency window, default 5), BENCH_SCALE_RETENTION_AT (seconds from start to T,
// default 90: Hookgate must start and the other figures be taken by then), HOOKGATE_RETENTION_BATCH_SIZE (passed on).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { encodeGlobalID } from '@pothos/plugin-relay';
import { request } from 'undici';
import { type DatabaseTarget, openDatabase } from '../src/db/database';
import { migrateDatabase } from '../src/db/migrate';
import { percentile, post, type Receivers, startReceivers } from './delivery';
import { ADMIN_TOKEN, postgresAvailable, startTarget, type Target } from './lib';

const SIZES = (process.env.BENCH_SCALE_SIZES ?? '100000,1000000').split(',').map((text) => Number(text.trim()));
const SECONDS = Number(process.env.BENCH_SCALE_SECONDS ?? 5);
const RETENTION_AT_S = Number(process.env.BENCH_SCALE_RETENTION_AT ?? 90);
const RATE = 20;
/** Seeded hooks (the log's deliveries are spread over them) and deliveries per event. */
const SEED_HOOKS = 100;
const FAN_OUT = 4;
/** The log holds a week; one day of it expires in the retention run. */
const EXPIRED_SHARE = 1 / 7;
const FANOUT_HOOKS = 20;
const FANOUT_EVENTS = 50;
const PAGE_REQUESTS = 100;
const CHUNK = 100_000;
const DAY = 86_400_000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const stamp = () => performance.timeOrigin + performance.now();

interface Figures {
  seedS: number;
  publishP50: number;
  publishP99: number;
  fanOutPerS: number;
  pageP50: number;
  pageP99: number;
  filteredP50: number;
  filteredP99: number;
  expired: number;
  retentionRemoved: number;
  retentionS: number;
  publishP99During: number;
  bytesBefore: number;
  bytesAfter: number;
}

/**
 * Seeds `n` deliveries: the first `expired` finished at the instant `x`, the rest spread from x + 2 s to
 * `now`, 1 % of each hook's still retrying (due in a day, so no worker takes them), 1 % failed.
 */
async function seed(target: DatabaseTarget, n: number, expired: number, x: number, now: number): Promise<void> {
  const db = await openDatabase(target);
  try {
    let lap = performance.now();
    const timed = (what: string) => {
      if (process.env.BENCH_SCALE_VERBOSE) console.log(`    ${what}: ${((performance.now() - lap) / 1000).toFixed(1)} s`);
      lap = performance.now();
    };
    await migrateDatabase(db);
    timed('migrations');
    // One transaction: the settings below hold for every statement (one connection).
    await db.prisma.$transaction(
      async (prisma) => {
        // A bulk load: secondary indexes built once at the end (a sort, not a million random inserts),
        // and no foreign-key trigger per row (the rows are consistent by construction).
        const indexes = await prisma.$queryRaw<{ name: string; definition: string }[]>`
        SELECT indexname AS name, indexdef AS definition FROM pg_indexes
        WHERE schemaname = current_schema() AND tablename IN ('events', 'deliveries', 'delivery_attempts') AND indexname NOT LIKE '%_pkey'`;
        for (const index of indexes) await prisma.$executeRawUnsafe(`DROP INDEX "${index.name}"`);
        await prisma.$executeRawUnsafe('SET LOCAL session_replication_role = replica');
        await prisma.$executeRaw`
        INSERT INTO hooks (kind, url, subject_type, subject, namespace, events, secret, updated_at)
        SELECT 'SUBJECT', 'http://127.0.0.1:9/seed/' || g, 'BUILD_REPO', 'seed/repo-' || g, 'seed', ARRAY['build:complete'], 'seed-secret', now()
        FROM generate_series(1, ${SEED_HOOKS}::int) g`;
        // Milliseconds since the epoch of delivery g (events take their first delivery's).
        // The expired day at one instant: the first run after T takes all of it (not part of it, the
        // rest in the next run, as rows spread over time would expire).
        const at = (g: string) => `CASE WHEN ${g} <= ${expired} THEN ${x}
        ELSE ${x + 2_000} + ((${g}) - ${expired})::float8 / ${Math.max(1, n - expired)} * ${now - x - 2_000} END`;
        const events = Math.ceil(n / FAN_OUT);
        for (let from = 1; from <= events; from += CHUNK) {
          const to = Math.min(events, from + CHUNK - 1);
          await prisma.$executeRawUnsafe(`
          INSERT INTO events (id, name, subject_type, subject, payload, created_at)
          SELECT g, 'build:complete', 'BUILD_REPO', 'seed/repo-' || (g % ${SEED_HOOKS} + 1),
            json_build_object('object_kind', 'build', 'ref', 'refs/heads/main', 'build_id', g, 'data', repeat('x', 300)),
            to_timestamp((${at(`((g - 1) * ${FAN_OUT} + 1)`)}) / 1000)
          FROM generate_series(${from}, ${to}) g`);
        }
        timed('events');
        for (let from = 1; from <= n; from += CHUNK) {
          const to = Math.min(n, from + CHUNK - 1);
          await prisma.$executeRawUnsafe(`
          INSERT INTO deliveries (id, uuid, event_id, hook_id, status, attempt_count, next_attempt_at, created_at, updated_at)
          SELECT g, gen_random_uuid(), (g - 1) / ${FAN_OUT} + 1, (g - 1) % ${SEED_HOOKS} + 1, s.status::delivery_status,
            CASE s.status WHEN 'SUCCEEDED' THEN 1 WHEN 'FAILED' THEN 3 ELSE 2 END,
            CASE WHEN s.status = 'RETRYING' THEN to_timestamp(${(now + DAY) / 1000}) END,
            to_timestamp((${at('g')}) / 1000), to_timestamp((${at('g')}) / 1000)
          FROM generate_series(${from}, ${to}) g
          CROSS JOIN LATERAL (SELECT CASE
            WHEN g <= ${expired} THEN CASE WHEN g % 10 = 0 THEN 'FAILED' ELSE 'SUCCEEDED' END
            WHEN ((g - 1) / ${SEED_HOOKS}) % 100 = 99 THEN 'RETRYING' WHEN ((g - 1) / ${SEED_HOOKS}) % 100 = 98 THEN 'FAILED'
            ELSE 'SUCCEEDED' END AS status) s`);
          await prisma.$executeRawUnsafe(`
          INSERT INTO delivery_attempts (delivery_id, started_at, duration_ms, request_url, request_headers, response_status, response_headers, response_body)
          SELECT d.id, d.updated_at - (d.attempt_count - k) * interval '1 minute', 12, 'http://127.0.0.1:9/seed',
            '{"content-type":"application/json","user-agent":"Hookgate","webhook-id":"msg_2KWPBgLlAfxdpx2AI54pPJ85f4W","webhook-timestamp":"1764676800","webhook-signature":"[redacted]"}'::jsonb,
            CASE WHEN d.status = 'SUCCEEDED' AND k = d.attempt_count THEN 200 ELSE 500 END, '{"content-type":"text/plain"}'::jsonb, 'ok'
          FROM deliveries d CROSS JOIN LATERAL generate_series(1, d.attempt_count) k
          WHERE d.id BETWEEN ${from} AND ${to}`);
        }
        timed('deliveries and attempts');
        await prisma.$executeRawUnsafe('SET LOCAL session_replication_role = DEFAULT');
        for (const index of indexes) await prisma.$executeRawUnsafe(index.definition);
        timed('indexes');
        for (const table of ['events', 'deliveries']) {
          await prisma.$executeRawUnsafe(`SELECT setval(pg_get_serial_sequence('${table}', 'id'), (SELECT max(id) FROM ${table}))`);
        }
      },
      { timeout: 3_600_000, maxWait: 60_000 },
    );
    const prisma = db.prisma;
    // Statistics and visibility as a log that has been running would have them.
    await prisma.$executeRawUnsafe('VACUUM ANALYZE');
    timed('vacuum');
  } finally {
    await db.close();
  }
}

async function metric(baseUrl: string): Promise<(name: string, table?: string) => number | undefined> {
  const text = await (await fetch(`${baseUrl}/metrics`)).text();
  return (name, table) => {
    const line = text.split('\n').find((l) => l.startsWith(table ? `${name}{table="${table}"} ` : `${name} `));
    return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
  };
}

async function logBytes(baseUrl: string): Promise<number> {
  const read = await metric(baseUrl);
  return ['events', 'deliveries', 'delivery_attempts'].reduce((sum, table) => sum + (read('hookgate_log_table_bytes', table) ?? Number.NaN), 0);
}

/** Publishes to the latency hook at RATE events/s while `until()` is false (at least `minimum` events). */
async function publishSteadily(baseUrl: string, receivers: Receivers, until: () => boolean | Promise<boolean>, minimum = 0): Promise<number[]> {
  receivers.takeLatencies();
  const first = receivers.received();
  let sent = 0;
  while (sent < minimum || !(await until())) {
    await post(baseUrl, '/v1/events', { event: 'build:complete', subject_type: 'build_repo', subject: 'bench/latency', payload: { sent: stamp(), i: sent } });
    sent++;
    await sleep(1000 / RATE);
  }
  await receivers.until(first + sent);
  return receivers.takeLatencies();
}

async function graphqlPage(baseUrl: string, status: string | null): Promise<{ p50: number; p99: number }> {
  const query = `query($id: ID!, $status: DeliveryStatus) { hook(id: $id) {
    deliveries(first: 20, status: $status) { nodes { databaseId status attemptCount createdAt } pageInfo { endCursor hasNextPage } } } }`;
  const times: number[] = [];
  for (let i = 0; i < PAGE_REQUESTS; i++) {
    const id = encodeGlobalID('Hook', (i % SEED_HOOKS) + 1);
    const started = performance.now();
    const response = await request(`${baseUrl}/graphql`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ query, variables: { id, status } }),
    });
    const body = (await response.body.json()) as { data?: { hook?: { deliveries?: { nodes: unknown[] } } }; errors?: unknown };
    times.push(performance.now() - started);
    if (body.errors || !body.data?.hook?.deliveries?.nodes.length) throw new Error(`Hook.deliveries answered ${JSON.stringify(body).slice(0, 300)}`);
  }
  return { p50: percentile(times, 50), p99: percentile(times, 99) };
}

async function measure(backend: Target['name'], n: number, log: (line: string) => void): Promise<Figures> {
  const expired = Math.round(n * EXPIRED_SHARE);
  const seededAt = Date.now();
  const x = seededAt - DAY;
  const dataDir = await mkdtemp(path.join(tmpdir(), 'hookgate-scale-'));
  const receivers = await startReceivers();
  let seedS = 0;
  // T: when the expired day crosses the retention (see the top of this file).
  let t = 0;
  const target = await startTarget(backend, dataDir, {
    env: {
      HOOKGATE_RETENTION_INTERVAL: '1s',
      ...(process.env.HOOKGATE_RETENTION_BATCH_SIZE ? { HOOKGATE_RETENTION_BATCH_SIZE: process.env.HOOKGATE_RETENTION_BATCH_SIZE } : {}),
    },
    prepare: async (database) => {
      const started = performance.now();
      await seed(database, n, expired, x, seededAt);
      seedS = (performance.now() - started) / 1000;
      t = Date.now() + RETENTION_AT_S * 1000;
      return { HOOKGATE_LOG_RETENTION: String(t - x) };
    },
  });
  const baseUrl = target.hookgate.url;
  try {
    log(`  [${backend} ${n}] seeded in ${seedS.toFixed(1)} s; measuring`);
    for (let i = 0; i < FANOUT_HOOKS; i++) {
      await post(baseUrl, '/v1/hooks', {
        subject_type: 'build_repo',
        subject: 'bench/fanout',
        events: ['build:complete'],
        url: `${receivers.urls[i % receivers.urls.length]}/h${i}`,
        secret: `secret-${i}`,
      });
    }
    await post(baseUrl, '/v1/hooks', {
      subject_type: 'build_repo',
      subject: 'bench/latency',
      events: ['build:complete'],
      url: `${receivers.urls[0]}/latency`,
      secret: 'latency',
    });
    const publish = (subject: string, payload: unknown) =>
      post(baseUrl, '/v1/events', { event: 'build:complete', subject_type: 'build_repo', subject, payload });
    await publish('bench/fanout', { warm: true });
    await receivers.until(FANOUT_HOOKS);
    await graphqlPage(baseUrl, null); // warm-up

    const bytesBefore = await logBytes(baseUrl);
    const before = receivers.received();
    const started = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        while (next < FANOUT_EVENTS) await publish('bench/fanout', { object_kind: 'build', data: 'x'.repeat(512), i: next++ });
      }),
    );
    await receivers.until(before + FANOUT_HOOKS * FANOUT_EVENTS);
    const fanOutPerS = (FANOUT_HOOKS * FANOUT_EVENTS) / ((performance.now() - started) / 1000);

    const page = await graphqlPage(baseUrl, null);
    const filtered = await graphqlPage(baseUrl, 'RETRYING');

    // Without retention: from now until just before T (at least SECONDS of it).
    if (Date.now() + SECONDS * 1000 > t - 1_000) {
      throw new Error(`the measurements before the retention run overran T by ${Date.now() + SECONDS * 1000 - t + 1_000} ms: raise BENCH_SCALE_RETENTION_AT`);
    }
    const quiet = await publishSteadily(baseUrl, receivers, () => Date.now() >= t - 1_000, RATE * SECONDS);
    const read = await metric(baseUrl);
    if ((read('hookgate_retention_last_run_removed_rows', 'deliveries') ?? 0) > 0) throw new Error('retention removed rows before T');

    // During: the run starts within the 1 s interval after T; /metrics says when it is over.
    let run: { removed: number; seconds: number } | undefined;
    const deadline = Date.now() + 600_000;
    const watching = (async () => {
      while (!run && Date.now() < deadline) {
        const m = await metric(baseUrl);
        const removed = m('hookgate_retention_last_run_removed_rows', 'deliveries') ?? 0;
        if (removed >= expired * 0.99) run = { removed, seconds: m('hookgate_retention_last_run_duration_seconds') ?? Number.NaN };
        else await sleep(100);
      }
    })();
    const during = await publishSteadily(baseUrl, receivers, () => run !== undefined || Date.now() > deadline);
    await watching;
    if (!run) throw new Error(`no retention run removed the ${expired} expired deliveries within 10 minutes`);
    const bytesAfter = await logBytes(baseUrl);
    return {
      seedS,
      publishP50: percentile(quiet, 50),
      publishP99: percentile(quiet, 99),
      fanOutPerS,
      pageP50: page.p50,
      pageP99: page.p99,
      filteredP50: filtered.p50,
      filteredP99: filtered.p99,
      expired,
      retentionRemoved: run.removed,
      retentionS: run.seconds,
      publishP99During: percentile(during, 99),
      bytesBefore,
      bytesAfter,
    };
  } finally {
    await target.stop();
    await rm(dataDir, { recursive: true, force: true });
    await receivers.close();
  }
}

const ROWS: [string, (f: Figures) => number, number][] = [
  ['seed s', (f) => f.seedS, 1],
  ['publish→receipt p50 ms', (f) => f.publishP50, 1],
  ['publish→receipt p99 ms', (f) => f.publishP99, 1],
  ['fan-out deliveries/s', (f) => f.fanOutPerS, 0],
  ['Hook.deliveries p50 ms', (f) => f.pageP50, 1],
  ['Hook.deliveries p99 ms', (f) => f.pageP99, 1],
  ['Hook.deliveries(status) p50 ms', (f) => f.filteredP50, 1],
  ['Hook.deliveries(status) p99 ms', (f) => f.filteredP99, 1],
  ['retention: deliveries removed', (f) => f.retentionRemoved, 0],
  ['retention: run s', (f) => f.retentionS, 1],
  ['retention: p99 during run ms', (f) => f.publishP99During, 1],
  ['retention: p99 during / without', (f) => f.publishP99During / f.publishP99, 2],
  ['log size before MB', (f) => f.bytesBefore / 1e6, 0],
  ['log size after MB', (f) => f.bytesAfter / 1e6, 0],
];

function printTable(results: { backend: string; n: number; figures: Figures }[], log: (line: string) => void): void {
  const sizes = [...new Set(results.map((r) => r.n))];
  const cell = 22;
  log('');
  log(`${'figure'.padEnd(40)}${sizes.map((n) => `${n.toExponential(0).replace('+', '')} deliveries`.padStart(cell)).join('')}`);
  for (const backend of [...new Set(results.map((r) => r.backend))]) {
    const mine = results.filter((r) => r.backend === backend);
    const base = mine[0]!.figures;
    for (const [label, pick, digits] of ROWS) {
      const cells = sizes.map((n) => {
        const figures = mine.find((r) => r.n === n)?.figures;
        if (!figures) return '-'.padStart(cell);
        const value = pick(figures);
        return `${value.toFixed(digits)} (${(value / pick(base)).toFixed(2)}x)`.padStart(cell);
      });
      log(`${`[${backend}] ${label}`.padEnd(40)}${cells.join('')}`);
    }
  }
}

const log = (line: string) => console.log(line);
const wanted = (process.env.BENCH_SCALE_BACKENDS ?? 'pglite,postgres').split(',').map((b) => b.trim()) as Target['name'][];
const backends: Target['name'][] = [];
for (const backend of wanted) {
  if (backend === 'postgres' && !(await postgresAvailable())) log('PostgreSQL is not reachable: skipping it (set BENCH_DATABASE_URL).');
  else backends.push(backend);
}
log(`scale: ${SIZES.join(', ')} deliveries (1/7 of them expiring in the retention run), ${backends.join(' and ')}; latency at ${RATE} events/s`);
const results: { backend: string; n: number; figures: Figures }[] = [];
for (const backend of backends) {
  for (const n of SIZES) results.push({ backend, n, figures: await measure(backend, n, log) });
}
printTable(results, log);
