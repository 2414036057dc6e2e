// Delivery engine benchmark: fan-out throughput and event→receipt latency on PGlite and PostgreSQL,
// each next to a baseline measured in the same run (undici POSTing the same bodies straight to the
// same receivers, with the same concurrency). Hookgate runs in a process of its own (bench/lib.ts)
// and is driven through its API (`POST /v1/hooks`, `POST /v1/events`). `tsx bench/delivery.ts`,
// or call `benchDelivery()`; PostgreSQL as in bench/lib.ts (BENCH_DATABASE_URL), when it answers.
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Agent, request } from 'undici';
import { ADMIN_TOKEN, postgresAvailable, startTarget } from './lib';

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
  /** Also on PostgreSQL (default: when it answers). */
  postgres?: boolean;
  log?: (line: string) => void;
}

const RECEIVERS = 4;
const CONCURRENCY = 64;
const PUBLISHERS = 4;

export interface Receivers {
  urls: string[];
  received(): number;
  /** Latency samples since the last call: receipt time minus the `sent` stamp in the body. */
  takeLatencies(): number[];
  until(count: number): Promise<void>;
  close(): Promise<void>;
}

export async function startReceivers(): Promise<Receivers> {
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

export function percentile(samples: number[], p: number): number {
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
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < bodies.length) {
          const { url, body } = bodies[next++]!;
          const response = await request(url, { method: 'POST', body, headers: { 'content-type': 'application/json' }, dispatcher: agent });
          await response.body.dump();
        }
      }),
    );
    const perSecond = bodies.length / ((performance.now() - started) / 1000);
    const latencies: number[] = [];
    for (let i = 0; i < rate * seconds; i++) {
      const sent = stamp();
      const response = await request(receivers.urls[0]!, {
        method: 'POST',
        body: JSON.stringify({ sent: 0, i }),
        headers: { 'content-type': 'application/json' },
        dispatcher: agent,
      });
      await response.body.dump();
      latencies.push(stamp() - sent);
      await sleep(1000 / rate);
    }
    return { perSecond, p50: percentile(latencies, 50), p99: percentile(latencies, 99) };
  } finally {
    await agent.close();
  }
}

/** Hookgate's public API, as a publisher uses it. */
export async function post(baseUrl: string, route: string, body: unknown): Promise<unknown> {
  const response = await request(`${baseUrl}${route}`, {
    method: 'POST',
    headers: { authorization: `Token ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const text = await response.body.text();
  if (response.statusCode >= 300) throw new Error(`POST ${route} answered ${response.statusCode}: ${text}`);
  return JSON.parse(text) as unknown;
}

async function runOne(backend: 'pglite' | 'postgres', options: Required<Omit<DeliveryBenchOptions, 'postgres' | 'log'>>): Promise<DeliveryBenchResult> {
  const receivers = await startReceivers();
  // Hookgate in a process of its own, as the other scenarios run it; events go in over HTTP.
  const dataDir = await mkdtemp(path.join(tmpdir(), 'hookgate-bench-'));
  const target = await startTarget(backend, dataDir);
  const baseUrl = target.hookgate.url;
  try {
    for (let i = 0; i < options.hooks; i++) {
      await post(baseUrl, '/v1/hooks', {
        subject_type: 'build_repo',
        subject: 'bench/fanout',
        events: ['build:complete'],
        url: `${receivers.urls[i % RECEIVERS]}/h${i}`,
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
    // Warm-up: connections, prepared plans, JIT.
    await publish('bench/fanout', { warm: true });
    await receivers.until(options.hooks);

    // Throughput: events fanned out to every hook, first publish to last receipt.
    const total = options.hooks * options.events;
    const before = receivers.received();
    const payload = { object_kind: 'build', ref: 'refs/heads/main', data: 'x'.repeat(512) };
    const started = performance.now();
    // Publishers arrive concurrently, as API clients do: a few at a time.
    let nextEvent = 0;
    await Promise.all(
      Array.from({ length: PUBLISHERS }, async () => {
        while (nextEvent < options.events) {
          const i = nextEvent++;
          await publish('bench/fanout', { ...payload, i });
        }
      }),
    );
    const publishedMs = performance.now() - started;
    await receivers.until(before + total);
    const deliveriesPerSecond = total / ((performance.now() - started) / 1000);

    // Latency: a steady trickle of events to one hook, from the publish request to receipt.
    receivers.takeLatencies();
    const latencyStart = receivers.received();
    const events = options.rate * options.seconds;
    for (let i = 0; i < events; i++) {
      await publish('bench/latency', { sent: stamp(), i });
      await sleep(1000 / options.rate);
    }
    await receivers.until(latencyStart + events);
    const latencies = receivers.takeLatencies();

    const bodies = Array.from({ length: total }, (_, i) => ({
      url: `${receivers.urls[i % RECEIVERS]}/h${i % options.hooks}`,
      body: JSON.stringify({ ...payload, i }),
    }));
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
    await target.stop();
    await rm(dataDir, { recursive: true, force: true });
    await receivers.close();
  }
}

export async function benchDelivery(options: DeliveryBenchOptions = {}): Promise<DeliveryBenchResult[]> {
  const settings = { hooks: options.hooks ?? 20, events: options.events ?? 150, rate: options.rate ?? 20, seconds: options.seconds ?? 5 };
  const log = options.log ?? ((line: string) => console.log(line));
  const withPostgres = options.postgres ?? (await postgresAvailable());
  const results: DeliveryBenchResult[] = [];
  results.push(await runOne('pglite', settings));
  if (withPostgres) results.push(await runOne('postgres', settings));
  log(`delivery: ${settings.hooks} hooks × ${settings.events} events fan-out; latency at ${settings.rate} events/s for ${settings.seconds} s`);
  log('backend   deliveries/s  baseline/s  ratio   p50 ms  p99 ms  baseline p50/p99 ms  publish ms');
  for (const r of results) {
    log(
      `${r.backend.padEnd(9)} ${r.deliveriesPerSecond.toFixed(0).padStart(12)}  ${r.baselinePerSecond.toFixed(0).padStart(10)}  ${(r.deliveriesPerSecond / r.baselinePerSecond).toFixed(2).padStart(5)}  ${r.latencyP50Ms.toFixed(1).padStart(6)}  ${r.latencyP99Ms.toFixed(1).padStart(6)}  ${r.baselineP50Ms.toFixed(1)}/${r.baselineP99Ms.toFixed(1)}  ${r.publishMs.toFixed(0)}`,
    );
  }
  return results;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  await benchDelivery();
}
