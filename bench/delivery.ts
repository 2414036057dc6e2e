// Delivery engine benchmark: fan-out throughput and event→receipt latency on PGlite and PostgreSQL,
// each next to a baseline measured in the same run (undici POSTing the same bodies straight to the
// same receivers, with the same concurrency). `tsx bench/delivery.ts`, or call `benchDelivery()`.
//
// PostgreSQL: BENCH_DATABASE_URL (or TEST_DATABASE_URL) names a server; a fresh database is created
// and dropped. Without either, only PGlite runs.
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pathToFileURL } from 'node:url';
import pg from 'pg';
import { Agent, request } from 'undici';
import { createApp, type App } from '../src/app';
import { loadConfig } from '../src/config';
import { createLogger } from '../src/logger';

export interface DeliveryBenchResult {
  backend: 'pglite' | 'postgres';
  deliveries: number;
  deliveriesPerSecond: number;
  /** How long publishing the events took (fan-out into the outbox), within the throughput run. */
  publishMs: number;
  baselinePerSecond: number;
  latencyP50Ms: number;
  latencyP99Ms: number;
  baselineP50Ms: number;
  baselineP99Ms: number;
}

export interface DeliveryBenchOptions {
  /** Hooks per event (fan-out) and events for the throughput run. */
  hooks?: number;
  events?: number;
  /** Events per second and seconds for the latency run. */
  rate?: number;
  seconds?: number;
  postgresUrl?: string | null;
  log?: (line: string) => void;
}

const ADMIN_TOKEN = 'bench-admin-token-0123456789abcdef';
const RECEIVERS = 4;
const CONCURRENCY = 64;
const PUBLISHERS = 4;

interface Receivers {
  urls: string[];
  received(): number;
  /** Latency samples since the last call: receipt time minus the `sent` stamp in the body. */
  takeLatencies(): number[];
  until(count: number): Promise<void>;
  close(): Promise<void>;
}

async function startReceivers(): Promise<Receivers> {
  const servers: Server[] = [];
  const state = { count: 0, latencies: [] as number[], waiter: null as null | { count: number; resolve: () => void } };
  for (let i = 0; i < RECEIVERS; i++) {
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const body = JSON.parse(Buffer.concat(chunks).toString()) as { sent?: number };
        if (body.sent) state.latencies.push(performance.timeOrigin + performance.now() - body.sent);
        state.count++;
        res.writeHead(200).end('ok');
        if (state.waiter && state.count >= state.waiter.count) state.waiter.resolve();
      });
    });
    server.keepAliveTimeout = 10_000;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    servers.push(server);
  }
  return {
    urls: servers.map((server) => `http://127.0.0.1:${(server.address() as AddressInfo).port}`),
    received: () => state.count,
    takeLatencies() {
      const samples = state.latencies;
      state.latencies = [];
      return samples;
    },
    until(count) {
      if (state.count >= count) return Promise.resolve();
      return new Promise<void>((resolve) => (state.waiter = { count, resolve }));
    },
    async close() {
      for (const server of servers) server.closeAllConnections();
      await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
    },
  };
}

function percentile(samples: number[], p: number): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const stamp = () => performance.timeOrigin + performance.now();

/** undici straight to the receivers: the ceiling Hookgate's numbers are compared with. */
async function baseline(receivers: Receivers, bodies: { url: string; body: string }[], rate: number, seconds: number) {
  const agent = new Agent({ connections: 16, keepAliveTimeout: 10_000 });
  try {
    let next = 0;
    const started = performance.now();
    await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
      while (next < bodies.length) {
        const { url, body } = bodies[next++]!;
        const response = await request(url, { method: 'POST', body, headers: { 'content-type': 'application/json' }, dispatcher: agent });
        await response.body.dump();
      }
    }));
    const perSecond = bodies.length / ((performance.now() - started) / 1000);
    const latencies: number[] = [];
    for (let i = 0; i < rate * seconds; i++) {
      const sent = stamp();
      const response = await request(receivers.urls[0]!, { method: 'POST', body: JSON.stringify({ sent: 0, i }), headers: { 'content-type': 'application/json' }, dispatcher: agent });
      await response.body.dump();
      latencies.push(stamp() - sent);
      await sleep(1000 / rate);
    }
    return { perSecond, p50: percentile(latencies, 50), p99: percentile(latencies, 99) };
  } finally {
    await agent.close();
  }
}

async function runOne(backend: 'pglite' | 'postgres', databaseUrl: string, options: Required<Omit<DeliveryBenchOptions, 'postgresUrl' | 'log'>>): Promise<DeliveryBenchResult> {
  const receivers = await startReceivers();
  const config = loadConfig({
    PORT: '0',
    DATABASE_URL: databaseUrl,
    HOOKGATE_ADMIN_TOKEN: ADMIN_TOKEN,
    HOOKGATE_ALLOW_LOCAL_REQUESTS: 'true',
    HOOKGATE_DELIVERY_CONCURRENCY: String(CONCURRENCY),
    LOG_LEVEL: 'warn',
  });
  const app: App = await createApp(config, createLogger(config.LOG_LEVEL));
  try {
    await app.listen();
    const admin = await app.services.users.authenticate(ADMIN_TOKEN);
    for (let i = 0; i < options.hooks; i++) {
      await app.services.hooks.create(admin, {
        kind: 'SUBJECT', subjectType: 'BUILD_REPO', subject: 'bench/fanout', events: ['build:complete'],
        url: `${receivers.urls[i % RECEIVERS]}/h${i}`, secret: `secret-${i}`,
      });
    }
    await app.services.hooks.create(admin, {
      kind: 'SUBJECT', subjectType: 'BUILD_REPO', subject: 'bench/latency', events: ['build:complete'], url: `${receivers.urls[0]}/latency`, secret: 'latency',
    });
    // Warm-up: connections, prepared plans, JIT.
    await app.services.deliveries.publish(admin, { event: 'build:complete', subjectType: 'BUILD_REPO', subject: 'bench/fanout', payload: { warm: true } });
    await receivers.until(options.hooks);

    // Throughput: events fanned out to every hook, publish to last receipt.
    const total = options.hooks * options.events;
    const before = receivers.received();
    const payload = { object_kind: 'build', ref: 'refs/heads/main', data: 'x'.repeat(512) };
    const started = performance.now();
    // Publishers arrive concurrently, as API requests do: a few at a time.
    let nextEvent = 0;
    await Promise.all(Array.from({ length: PUBLISHERS }, async () => {
      while (nextEvent < options.events) {
        const i = nextEvent++;
        await app.services.deliveries.publish(admin, { event: 'build:complete', subjectType: 'BUILD_REPO', subject: 'bench/fanout', payload: { ...payload, i } });
      }
    }));
    const publishedMs = performance.now() - started;
    await receivers.until(before + total);
    const deliveriesPerSecond = total / ((performance.now() - started) / 1000);

    // Latency: a steady trickle of events to one hook, publish call to receipt.
    receivers.takeLatencies();
    const latencyStart = receivers.received();
    const events = options.rate * options.seconds;
    for (let i = 0; i < events; i++) {
      await app.services.deliveries.publish(admin, { event: 'build:complete', subjectType: 'BUILD_REPO', subject: 'bench/latency', payload: { sent: stamp(), i } });
      await sleep(1000 / options.rate);
    }
    await receivers.until(latencyStart + events);
    const latencies = receivers.takeLatencies();

    const bodies = Array.from({ length: total }, (_, i) => ({ url: `${receivers.urls[i % RECEIVERS]}/h${i % options.hooks}`, body: JSON.stringify({ ...payload, i }) }));
    const base = await baseline(receivers, bodies, options.rate, options.seconds);
    return {
      backend,
      deliveries: total,
      deliveriesPerSecond,
      publishMs: publishedMs,
      baselinePerSecond: base.perSecond,
      latencyP50Ms: percentile(latencies, 50),
      latencyP99Ms: percentile(latencies, 99),
      baselineP50Ms: base.p50,
      baselineP99Ms: base.p99,
    };
  } finally {
    await app.close();
    await receivers.close();
  }
}

async function withPostgresDatabase<T>(serverUrl: string, fn: (url: string) => Promise<T>): Promise<T> {
  const name = `hookgate_bench_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  try {
    return await fn(url.toString());
  } finally {
    const cleanup = new pg.Client({ connectionString: serverUrl });
    await cleanup.connect();
    await cleanup.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await cleanup.end();
  }
}

export async function benchDelivery(options: DeliveryBenchOptions = {}): Promise<DeliveryBenchResult[]> {
  const settings = { hooks: options.hooks ?? 20, events: options.events ?? 150, rate: options.rate ?? 20, seconds: options.seconds ?? 5 };
  const log = options.log ?? ((line: string) => console.log(line));
  const postgresUrl = options.postgresUrl === undefined ? process.env.BENCH_DATABASE_URL ?? process.env.TEST_DATABASE_URL ?? null : options.postgresUrl;
  const results: DeliveryBenchResult[] = [];
  results.push(await runOne('pglite', 'memory://', settings));
  if (postgresUrl) results.push(await withPostgresDatabase(postgresUrl, (url) => runOne('postgres', url, settings)));
  log(`delivery: ${settings.hooks} hooks × ${settings.events} events fan-out; latency at ${settings.rate} events/s for ${settings.seconds} s`);
  log('backend   deliveries/s  baseline/s  ratio   p50 ms  p99 ms  baseline p50/p99 ms  publish ms');
  for (const r of results) {
    log(`${r.backend.padEnd(9)} ${r.deliveriesPerSecond.toFixed(0).padStart(12)}  ${r.baselinePerSecond.toFixed(0).padStart(10)}  ${(r.deliveriesPerSecond / r.baselinePerSecond).toFixed(2).padStart(5)}  ${r.latencyP50Ms.toFixed(1).padStart(6)}  ${r.latencyP99Ms.toFixed(1).padStart(6)}  ${r.baselineP50Ms.toFixed(1)}/${r.baselineP99Ms.toFixed(1)}  ${r.publishMs.toFixed(0)}`);
  }
  return results;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  await benchDelivery();
}
