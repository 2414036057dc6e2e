// Operational events (hook_temporarily_disabled, hook_disabled, hook_enabled) end to end: a real
// Hookgate on both backends, failing and recovering receivers, a system hook that is told.
import { encodeGlobalID } from '@pothos/plugin-relay';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends, graphql, startTestApp, type TestApp } from '../helpers';
import { eventually, type Receiver, suiteReceivers } from './receiver';

describe.each(backends)('operational events (%s)', (backend) => {
  let t: TestApp;
  const receiver = suiteReceivers();

  beforeAll(async () => {
    // Four attempts (the first and three retries): exactly the 4th failure that backs a hook off.
    t = await startTestApp(backend, { HOOKGATE_RETRY_SCHEDULE: '100ms,100ms,100ms' });
  });
  afterAll(async () => {
    await t?.close();
  });

  const told = (r: Receiver, name: string, hookId: number, count = 1) =>
    eventually(
      async () => {
        const events = r.requests
          .map((request) => JSON.parse(request.body) as Record<string, unknown>)
          .filter((body) => body.event_name === name && body.hook_id === hookId);
        return events.length >= count ? events : null;
      },
      20_000,
      `${name} about hook ${hookId}`,
    );
  const publishBuild = (subject: string) =>
    t.app.services.deliveries.publish(t.admin, { event: 'build:complete', subjectType: 'BUILD_REPO', subject, payload: {} });
  const operationalDeliveries = (where: Record<string, unknown> = {}) =>
    t.app.db.prisma.delivery.count({ where: { ...where, event: { name: { in: ['hook_temporarily_disabled', 'hook_disabled', 'hook_enabled'] } } } });

  it('auto-disable after repeated failures, its end, disabling for good and re-enabling are each announced once', async () => {
    const watcher = await receiver();
    let healthy = false;
    const flaky = await receiver(() => (healthy ? 200 : 500));
    const watch = await t.app.services.hooks.create(t.admin, { kind: 'SYSTEM', url: watcher.url, events: [] });
    const hook = await t.app.services.hooks.create(t.admin, {
      kind: 'SUBJECT',
      subjectType: 'BUILD_REPO',
      subject: 'ops/repo',
      events: ['build:complete'],
      url: flaky.url,
    });

    // 4 failed attempts of one delivery: temporarily disabled for a minute.
    await publishBuild('ops/repo');
    const [resting] = await told(watcher, 'hook_temporarily_disabled', hook.id);
    expect(resting).toMatchObject({
      hook_kind: 'subject',
      subject_type: 'build_repo',
      subject: 'ops/repo',
      alert_status: 'temporarily_disabled',
      recent_failures: 4,
    });
    const until = Date.parse(resting!.disabled_until as string);
    expect(until - Date.parse(resting!.created_at as string)).toBe(60_000);
    expect(flaky.requests).toHaveLength(4);
    // Sent with the system hook's headers, whatever its event flags (it has none on).
    expect(watcher.requests[0]!.headers['x-gitlab-event']).toBe('System Hook');

    // The backoff runs out (moved into the past here) and the next delivery succeeds: announced.
    healthy = true;
    await t.app.db.prisma.hook.update({ where: { id: hook.id }, data: { disabledUntil: new Date(Date.now() - 1_000) } });
    await publishBuild('ops/repo');
    const [back] = await told(watcher, 'hook_enabled', hook.id);
    expect(back).toMatchObject({ alert_status: 'executable', disabled_until: null, recent_failures: 0 });

    // The 40th consecutive failure disables it for good.
    healthy = false;
    await t.app.db.prisma.hook.update({ where: { id: hook.id }, data: { recentFailures: 39 } });
    await publishBuild('ops/repo');
    const [gone] = await told(watcher, 'hook_disabled', hook.id);
    expect(gone).toMatchObject({ alert_status: 'disabled', disabled_until: null, recent_failures: 40 });

    // Re-enabled through GraphQL.
    const updated = await graphql(
      t.url,
      'mutation($id: ID!) { updateHook(input: {id: $id, isActive: true}) { hook { alertStatus } userErrors { message } } }',
      { id: encodeGlobalID('Hook', hook.id) },
    );
    expect(updated.data!.updateHook).toEqual({ hook: { alertStatus: 'executable' }, userErrors: [] });
    await told(watcher, 'hook_enabled', hook.id, 2);
    // Once each: one backoff, one return, one disabling, one re-enabling.
    expect(await operationalDeliveries({ hookId: watch.id })).toBe(4);
    for (const id of [watch.id, hook.id]) await t.app.services.hooks.delete(t.admin, id);
  });

  it('a successful test re-enables a disabled hook, and says so', async () => {
    const watcher = await receiver();
    const target = await receiver();
    const watch = await t.app.services.hooks.create(t.admin, { kind: 'SYSTEM', url: watcher.url });
    const hook = await t.app.services.hooks.create(t.admin, {
      kind: 'SUBJECT',
      subjectType: 'BUILD_REPO',
      subject: 'ops/tested',
      events: ['build:complete'],
      url: target.url,
    });
    await t.app.db.prisma.hook.update({ where: { id: hook.id }, data: { alertStatus: 'DISABLED', recentFailures: 40 } });
    const tested = await t.app.services.deliveries.testHook(t.admin, hook.id);
    expect(tested.status).toBe('SUCCEEDED');
    const [event] = await told(watcher, 'hook_enabled', hook.id);
    expect(event).toMatchObject({ alert_status: 'executable', recent_failures: 0 });
    expect((await t.app.services.hooks.get(t.admin, hook.id)).alertStatus).toBe('EXECUTABLE');
    for (const id of [watch.id, hook.id]) await t.app.services.hooks.delete(t.admin, id);
  });

  it('a failing system hook produces none about itself (and, exempt from auto-disable, none at all)', async () => {
    const watcher = await receiver();
    const failing = await receiver(() => 500);
    const watch = await t.app.services.hooks.create(t.admin, { kind: 'SYSTEM', url: watcher.url });
    const dead = await t.app.services.hooks.create(t.admin, { kind: 'SYSTEM', url: failing.url });
    const { deliveries } = await t.app.services.deliveries.publish(t.admin, { event: 'project_create', payload: {} });
    const mine = deliveries.find((d) => d.hookId === dead.id)!;
    await eventually(
      async () => (await t.app.services.deliveries.getDelivery(t.admin, mine.id)).status === 'FAILED',
      20_000,
      'the system hook delivery FAILED',
    );
    expect(failing.requests).toHaveLength(4);
    expect((await t.app.services.hooks.get(t.admin, dead.id)).alertStatus).toBe('EXECUTABLE');
    expect(await operationalDeliveries()).toBe(0);
    // The watcher got the event itself, and nothing about the failing hook.
    expect(watcher.requests.map((request) => request.body)).toEqual(['{}']);
    for (const id of [watch.id, dead.id]) await t.app.services.hooks.delete(t.admin, id);
  });
});
