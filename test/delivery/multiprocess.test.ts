// Two Hookgate processes on one PostgreSQL share the work: 5,000 deliveries, each webhook-id
// received exactly once (SKIP LOCKED claims under a lease; no lease runs out in this test).
import { describe, expect, it } from 'vitest';
import { startTestApp } from '../helpers';
import { type HookgateProcess, spawnHookgate } from './process';
import { startReceiver } from './receiver';

const HOOKS = 50;
const EVENTS_PER_HOOK = 100;

describe.runIf(process.env.TEST_DATABASE_URL)('two processes on PostgreSQL', () => {
  it('deliver 5,000 deliveries with every webhook-id received exactly once', { timeout: 90_000 }, async () => {
    const receiver = await startReceiver();
    // This process only publishes; the two children deliver.
    const t = await startTestApp('postgres', { HOOKGATE_DELIVERY_CONCURRENCY: '0' });
    const workers: HookgateProcess[] = [];
    try {
      for (let i = 0; i < HOOKS; i++) {
        await t.app.services.hooks.create(t.admin, {
          kind: 'SUBJECT',
          subjectType: 'JOB',
          subject: 'many',
          events: ['job:succeed'],
          url: `${receiver.url}/h${i}`,
        });
      }
      const env = { DATABASE_URL: t.app.config.DATABASE_URL!, HOOKGATE_ALLOW_LOCAL_REQUESTS: 'true', LOG_LEVEL: 'info' };
      workers.push(spawnHookgate(env), spawnHookgate(env));
      await Promise.all(workers.map((w) => w.ready));
      for (let i = 0; i < EVENTS_PER_HOOK; i++) {
        await t.app.services.deliveries.publish(t.admin, { event: 'job:succeed', subjectType: 'JOB', subject: 'many', payload: { i } });
      }
      const total = HOOKS * EVENTS_PER_HOOK;
      await receiver.waitFor(total, 60_000);
      // Anything sent twice would arrive about now.
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      const ids = receiver.requests.map((r) => r.headers['webhook-id']);
      expect(ids).toHaveLength(total);
      expect(new Set(ids).size).toBe(total);
      const succeeded = await t.app.db.prisma.delivery.count({ where: { status: 'SUCCEEDED' } });
      expect(succeeded).toBe(total);
    } finally {
      for (const worker of workers) worker.kill('SIGTERM');
      await Promise.all(workers.map((w) => w.exited));
      await t.close();
      await receiver.close();
    }
  });
});
