// A PostgreSQL outage in the middle of a fan-out, against two real Hookgate processes: their
// connections are terminated and new ones refused (ALLOW_CONNECTIONS false) for a few seconds,
// then allowed again. Everything is delivered, within 10 s of the database's return (not after
// the 70 s lease), with no more duplicates than sends in flight; an SSE subscriber sees at most
// one error and hears updates again; each process logs an outage as a handful of lines.
import { Writable } from 'node:stream';
import pg from 'pg';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { createApp } from '../../src/app';
import { loadConfig } from '../../src/config';
import { ADMIN_TOKEN, createTestDatabase, startTestApp } from '../helpers';
import { type HookgateProcess, startHookgate } from '../process-helpers';
import { startReceiver } from './receiver';

const HOOKS = 20;
const EVENTS = 30;
const TOTAL = HOOKS * EVENTS;
const PER_HOST = 16;
const OUTAGE_MS = 5_000;

interface SseCount {
  data: number;
  errors: Array<{ message: string; extensions?: { code?: string } }>;
  dataAfter(at: number): number;
}

/** Reads `deliveryUpdated` over SSE, counting data and error events, until `signal` aborts. */
function subscribe(url: string, signal: AbortSignal): SseCount {
  const dataAt: number[] = [];
  const count: SseCount = { data: 0, errors: [], dataAfter: (at) => dataAt.filter((t) => t >= at).length };
  void (async () => {
    const response = await fetch(`${url}/graphql`, {
      method: 'POST',
      signal,
      headers: { 'content-type': 'application/json', accept: 'text/event-stream', authorization: `Bearer ${ADMIN_TOKEN}` },
      body: JSON.stringify({ query: 'subscription { deliveryUpdated { id status } }' }),
    });
    const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += value;
      let end: number;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const data = buffer
          .slice(0, end)
          .split('\n')
          .filter((line) => line.startsWith('data:'))
          .map((line) => line.slice(5))
          .join('');
        buffer = buffer.slice(end + 2);
        if (!data.trim()) continue;
        const event = JSON.parse(data) as { data?: unknown; errors?: SseCount['errors'] };
        if (event.errors) count.errors.push(...event.errors);
        else if (event.data) {
          count.data++;
          dataAt.push(Date.now());
        }
      }
    }
  })().catch(() => {});
  return count;
}

async function until(what: string, condition: () => boolean | Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

interface LogLine {
  level: number;
  msg: string;
  component?: string;
}

function logLines(output: string): LogLine[] {
  return output.split('\n').flatMap((line) => {
    try {
      return [JSON.parse(line) as LogLine];
    } catch {
      return [];
    }
  });
}

describe.runIf(process.env.TEST_DATABASE_URL)('a PostgreSQL outage mid-fan-out', () => {
  it("delivers everything within 10 s of the database's return, duplicates at most the sends in flight", { timeout: 480_000 }, async () => {
    const began = Date.now();
    const step = (what: string) => console.log(`outage test +${Date.now() - began} ms: ${what}`);
    const receiver = await startReceiver(() => new Promise<number>((resolve) => setTimeout(() => resolve(200), 150)));
    // This process only publishes; the two children deliver.
    const t = await startTestApp('postgres', { HOOKGATE_DELIVERY_CONCURRENCY: '0' });
    const databaseUrl = t.app.config.DATABASE_URL!;
    const name = new URL(databaseUrl).pathname.slice(1);
    const admin = new pg.Client({ connectionString: process.env.TEST_DATABASE_URL });
    await admin.connect();
    const workers: HookgateProcess[] = [];
    const subscription = new AbortController();
    let blocked = false;
    const restore = async () => {
      if (!blocked) return;
      await admin.query(`ALTER DATABASE ${name} ALLOW_CONNECTIONS true`);
      blocked = false;
    };
    try {
      for (let i = 0; i < HOOKS; i++) {
        await t.app.services.hooks.create(t.admin, {
          kind: 'SUBJECT',
          subjectType: 'JOB',
          subject: 'outage',
          events: ['job:succeed'],
          url: `${receiver.url}/h${i}`,
        });
      }
      const env = {
        DATABASE_URL: databaseUrl,
        HOOKGATE_ADMIN_TOKEN: ADMIN_TOKEN,
        HOOKGATE_ALLOW_LOCAL_REQUESTS: 'true',
        LOG_LEVEL: 'info',
        HOOKGATE_DELIVERY_CONCURRENCY_PER_HOST: String(PER_HOST),
      };
      step('hooks created');
      workers.push(...(await Promise.all([startHookgate(env, 240_000), startHookgate(env, 240_000)])));
      step('workers up');
      const sse = subscribe(workers[0]!.url, subscription.signal);
      // Give the stream a moment to be registered before the fan-out it is to hear.
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      for (let i = 0; i < EVENTS; i++) {
        await t.app.services.deliveries.publish(t.admin, { event: 'job:succeed', subjectType: 'JOB', subject: 'outage', payload: { i } });
      }
      const unique = () => new Set(receiver.requests.map((r) => r.headers['webhook-id'])).size;
      await until('a fifth of the deliveries before the outage', () => unique() >= TOTAL / 5, 60_000);
      await until('the subscriber to hear an update before the outage', () => sse.data > 0, 20_000);

      step(`${unique()} delivered; cutting the database`);
      // The outage: no new connections, every existing one cut.
      await admin.query(`ALTER DATABASE ${name} ALLOW_CONNECTIONS false`);
      blocked = true;
      await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [name]);
      const atCut = receiver.requests.length;
      const cutAt = Date.now();
      await new Promise((resolve) => setTimeout(resolve, OUTAGE_MS));
      const duringOutage = receiver.requests.length - atCut;
      await restore();
      const restoredAt = Date.now();
      step(`restored (${unique()} delivered)`);

      // Recovery: the deliveries sent during the outage are recorded as such (not left to their
      // 70 s leases and sent again), and sending resumes, both within 10 s of the return.
      // In flight at the cut (answered 150 ms after arrival) or sent during the outage.
      const sentDuring = [...new Set(receiver.requests.filter((r) => r.at >= cutAt - 1_000 && r.at < restoredAt).map((r) => String(r.headers['webhook-id'])))];
      expect(sentDuring.length).toBeGreaterThan(0);
      await until(
        `the ${sentDuring.length} deliveries sent during the outage to be recorded`,
        async () => (await t.app.db.prisma.delivery.count({ where: { uuid: { in: sentDuring }, status: 'SUCCEEDED' } }).catch(() => -1)) === sentDuring.length,
        30_000,
      );
      const recordedInMs = Date.now() - restoredAt;
      step(`the ${sentDuring.length} deliveries in flight at the cut or sent during it are recorded`);
      await until('a delivery after the return', () => receiver.requests.some((r) => r.at >= restoredAt), 30_000);
      const resumedInMs = Math.min(...receiver.requests.filter((r) => r.at >= restoredAt).map((r) => r.at)) - restoredAt;
      await until(`all ${TOTAL} deliveries (got ${unique()})`, () => unique() >= TOTAL, 60_000);
      const allInMs = Math.max(...receiver.requests.map((r) => r.at)) - restoredAt;
      // Anything sent twice would arrive about now.
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      const duplicates = receiver.requests.length - unique();
      console.log(
        `outage: ${atCut} received before the cut, ${duringOutage} during ${OUTAGE_MS} ms; after the return: those recorded in ${recordedInMs} ms,` +
          ` sending resumed in ${resumedInMs} ms, all ${TOTAL} in ${allInMs} ms; ${duplicates} duplicates; SSE ${sse.data} updates, ${sse.errors.length} errors`,
      );
      expect(recordedInMs).toBeLessThanOrEqual(10_000);
      expect(resumedInMs).toBeLessThanOrEqual(10_000);
      expect(duplicates).toBeLessThanOrEqual(2 * PER_HOST);
      await until(
        'every delivery SUCCEEDED in the database',
        async () => (await t.app.db.prisma.delivery.count({ where: { status: 'SUCCEEDED', event: { subject: 'outage' } } })) === TOTAL,
        20_000,
      );

      // The subscriber: at most one error, and updates again after the return.
      await until('the subscriber to hear updates after the return', () => sse.dataAfter(restoredAt) > 0, 20_000);
      expect(sse.errors.length, JSON.stringify(sse.errors)).toBeLessThanOrEqual(1);
      for (const error of sse.errors) expect(error.extensions?.code).toBe('SERVICE_UNAVAILABLE');

      // Logs: a few lines per outage per component, no error-level lines, no stack traces.
      for (const worker of workers) {
        const lines = logLines(worker.output());
        const loud = lines.filter((line) => line.level >= 40);
        console.log(`worker log, warn and above: ${loud.map((line) => line.msg).join(' | ')}`);
        expect(
          lines.filter((line) => line.level >= 50),
          worker.output(),
        ).toEqual([]);
        const perComponent = new Map<string, number>();
        for (const line of loud) perComponent.set(line.component ?? line.msg, (perComponent.get(line.component ?? line.msg) ?? 0) + 1);
        for (const [component, count] of perComponent) expect(count, `${component}: ${worker.output()}`).toBeLessThanOrEqual(1);
        expect(worker.output()).not.toContain('    at ');
      }
    } finally {
      subscription.abort();
      await restore().catch(() => {});
      await Promise.all(workers.map((worker) => worker.stop()));
      await admin.end();
      await t.close();
      await receiver.close();
    }
  });

  it('logs what it could not write at shutdown, with counts, in one line', { timeout: 240_000 }, async () => {
    const receiver = await startReceiver(() => new Promise<number>((resolve) => setTimeout(() => resolve(200), 1_500)));
    const testDb = await createTestDatabase('postgres');
    const name = new URL(testDb.url).pathname.slice(1);
    const lines: LogLine[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        for (const text of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(text) as LogLine & Record<string, unknown>);
        done();
      },
    });
    const config = loadConfig({
      PORT: '0',
      DATABASE_URL: testDb.url,
      HOOKGATE_ADMIN_TOKEN: ADMIN_TOKEN,
      HOOKGATE_ALLOW_LOCAL_REQUESTS: 'true',
      LOG_LEVEL: 'info',
    });
    const app = await createApp(config, pino({ level: 'info' }, sink), { databaseTarget: testDb.target });
    await app.listen();
    const admin = new pg.Client({ connectionString: process.env.TEST_DATABASE_URL });
    await admin.connect();
    let blocked = false;
    try {
      const root = await app.services.users.authenticate(ADMIN_TOKEN);
      for (let i = 0; i < 4; i++) {
        await app.services.hooks.create(root, { kind: 'SUBJECT', subjectType: 'JOB', subject: 'stop', events: ['job:succeed'], url: `${receiver.url}/s${i}` });
      }
      await app.services.deliveries.publish(root, { event: 'job:succeed', subjectType: 'JOB', subject: 'stop', payload: {} });
      await receiver.waitFor(4, 30_000);
      // The sends are in flight (answered after 1.5 s): cut the database before their results come back.
      await admin.query(`ALTER DATABASE ${name} ALLOW_CONNECTIONS false`);
      blocked = true;
      await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1', [name]);
      await until('the results to be kept', () => lines.some((line) => line.component === 'delivery results'), 20_000);
      await app.close();
      const unwritten = lines.filter((line) => line.msg.startsWith('could not write'));
      expect(unwritten, JSON.stringify(lines)).toHaveLength(1);
      expect(unwritten[0]).toMatchObject({ level: 50, results: 4, msg: expect.stringContaining('could not write 4 delivery results') });
    } finally {
      if (blocked) await admin.query(`ALTER DATABASE ${name} ALLOW_CONNECTIONS true`);
      await admin.end();
      await app.close();
      await testDb.drop();
      await receiver.close();
    }
  });
});
