// Per-destination fairness: destinations that never answer cannot take the whole send pool; a
// healthy destination's deliveries go out while the slow ones are still pending.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends, startTestApp, type TestApp } from '../helpers';
import { type Receiver, startReceiver } from './receiver';

const EVENTS = 40;

describe.each(backends)('send pool fairness (%s)', (backend) => {
  let t: TestApp;
  const receivers: Receiver[] = [];
  let openGate: () => void = () => {};
  const gate = new Promise<number>((resolve) => (openGate = () => resolve(200)));

  beforeAll(async () => {
    // The timeout is far beyond the test so that only fairness, not timeouts, can free slots.
    t = await startTestApp(backend, { HOOKGATE_DELIVERY_TIMEOUT: '120s', HOOKGATE_SHUTDOWN_GRACE: '500ms' });
  });
  afterAll(async () => {
    openGate();
    await t?.close();
    await Promise.all(receivers.map((r) => r.close()));
  });

  it('five hanging destinations leave slots for a healthy one', async () => {
    // Until the gate opens, the slow receivers answer nothing (the ~10 s receivers of the report, stretched to "never").
    const slow = await Promise.all([1, 2, 3, 4, 5].map(() => startReceiver(() => gate)));
    const healthy = await startReceiver(() => 200);
    receivers.push(...slow, healthy);
    const hook = (url: string) =>
      t.app.services.hooks.create(t.admin, { kind: 'SUBJECT', subjectType: 'BUILD_REPO', subject: 'fair/repo', events: ['build:complete'], url });
    for (const r of slow) await hook(r.url);
    await hook(healthy.url);
    for (let i = 0; i < EVENTS; i++) {
      await t.app.services.deliveries.publish(t.admin, { event: 'build:complete', subjectType: 'BUILD_REPO', subject: 'fair/repo', payload: { i } });
    }
    await healthy.waitFor(EVENTS, 60_000);
    // Every healthy delivery arrived while no slow one has been answered: the slow ones held
    // at most their share (64 slots, a quarter of them kept for others), not the whole pool.
    const slowInFlight = slow.reduce((n, r) => n + r.requests.length, 0);
    expect(slowInFlight).toBeGreaterThan(0);
    expect(slowInFlight).toBeLessThanOrEqual(48);
    openGate();
    await Promise.all(slow.map((r) => r.waitFor(EVENTS, 60_000)));
  });
});
