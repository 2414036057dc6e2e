// Receiver etiquette end to end (real Hookgate on both backends, real receivers): 410 Gone disables
// the hook in every face and is announced to system hooks; Retry-After pauses a hook without
// spending attempts; redirects stay failures.
import { encodeGlobalID } from '@pothos/plugin-relay';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends, graphql, startTestApp, type TestApp } from '../helpers';
import { call } from '../rest/helpers';
import { eventually, type Receiver, suiteReceivers } from './receiver';

describe.each(backends)('receiver etiquette (%s)', (backend) => {
  let t: TestApp;
  const receiver = suiteReceivers();

  beforeAll(async () => {
    // A one-second schedule: a Retry-After of 3 s is longer than any retry it would make.
    t = await startTestApp(backend, { HOOKGATE_RETRY_SCHEDULE: '1s,1s,1s,1s,1s' });
  });
  afterAll(async () => {
    await t?.close();
  });

  const v1 = (method: string, path: string, body?: unknown) =>
    call(t.url, method, path, { headers: { authorization: `Token ${t.adminToken}` }, ...(body === undefined ? {} : { body }) });
  const gitlab = (method: string, path: string, body?: unknown) =>
    call(t.url, method, path, { headers: { 'private-token': t.adminToken }, ...(body === undefined ? {} : { body }) });
  const graphqlHook = async (id: number) =>
    (await graphql(t.url, 'query($id: ID!) { hook(id: $id) { alertStatus disabledUntil isActive } }', { id: encodeGlobalID('Hook', id) })).data!.hook;
  const finished = (deliveryId: number, status = 'FAILED') =>
    eventually(
      async () => {
        const d = await t.app.services.deliveries.getDelivery(t.admin, deliveryId);
        return d.status === status ? d : null;
      },
      20_000,
      `delivery ${deliveryId} ${status}`,
    );
  const operationalEvents = (r: Receiver) =>
    r.requests
      .map((request) => JSON.parse(request.body) as Record<string, unknown>)
      .filter((body) => typeof body.event_name === 'string' && body.event_name.startsWith('hook_'));

  it('410 Gone stops the delivery, disables the hook (GraphQL, /v1, GitLab), tells the other system hooks, and re-enabling is announced too', async () => {
    const watcher = await receiver();
    const gone = await receiver(() => 410);
    const watch = await t.app.services.hooks.create(t.admin, { kind: 'SYSTEM', url: `${watcher.url}/watch` });
    const subject = await t.app.services.hooks.create(t.admin, {
      kind: 'SUBJECT',
      subjectType: 'BUILD_REPO',
      subject: 'gone/repo',
      events: ['build:complete'],
      url: `${gone.url}/subject`,
    });
    const system = await t.app.services.hooks.create(t.admin, { kind: 'SYSTEM', url: `${gone.url}/system` });

    // The system hook first: once disabled, it is not sent the subject hook's news either.
    const created = await t.app.services.deliveries.publish(t.admin, { event: 'project_create', payload: { name: 'x' } });
    const toSystem = created.deliveries.find((d) => d.hookId === system.id)!;
    expect((await finished(toSystem.id)).attempts).toHaveLength(1);
    const built = await t.app.services.deliveries.publish(t.admin, { event: 'build:complete', subjectType: 'BUILD_REPO', subject: 'gone/repo', payload: {} });
    const failed = await finished(built.deliveries[0]!.id);
    expect(failed.attempts).toHaveLength(1);
    expect(failed.nextAttemptAt).toBeNull();

    // GraphQL and the GitLab dialect show the status; /v1, whose shape has none, shows the hook inactive.
    expect(await graphqlHook(subject.id)).toEqual({ alertStatus: 'disabled', disabledUntil: null, isActive: true });
    expect(await graphqlHook(system.id)).toEqual({ alertStatus: 'disabled', disabledUntil: null, isActive: true });
    expect((await v1('GET', `/v1/hooks/${subject.id}`)).body).toMatchObject({ id: subject.id, is_active: false });
    expect((await gitlab('GET', `/api/v4/hooks/${system.id}`)).body).toMatchObject({ id: system.id, alert_status: 'disabled', disabled_until: null });

    // Both changes reached the watching system hook (it also got project_create itself).
    const disabled = await eventually(
      async () => {
        const events = operationalEvents(watcher).filter((e) => e.event_name === 'hook_disabled');
        return events.length >= 2 ? events : null;
      },
      20_000,
      'two hook_disabled events at the watching system hook',
    );
    const about = (id: number) => disabled.find((e) => e.hook_id === id)!;
    expect(about(subject.id)).toEqual({
      event_name: 'hook_disabled',
      hook_id: subject.id,
      hook_kind: 'subject',
      subject_type: 'build_repo',
      subject: 'gone/repo',
      alert_status: 'disabled',
      disabled_until: null,
      recent_failures: 1,
      created_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT.*Z$/),
    });
    expect(about(system.id)).toMatchObject({ hook_kind: 'system', subject_type: null, subject: null, alert_status: 'disabled' });
    const headers = watcher.requests.find((request) => request.body.includes('"hook_disabled"'))!.headers;
    expect(headers['x-gitlab-event']).toBe('System Hook');
    // The disabled system hook was never told about itself, and new events no longer reach either hook.
    expect(gone.requests.filter((request) => request.body.includes('hook_'))).toEqual([]);
    expect(await t.app.db.prisma.delivery.count({ where: { hookId: system.id, event: { name: { startsWith: 'hook_' } } } })).toBe(0);
    const later = await t.app.services.deliveries.publish(t.admin, { event: 'build:complete', subjectType: 'BUILD_REPO', subject: 'gone/repo', payload: {} });
    expect(later.deliveries).toEqual([]);

    // Re-enabled: /v1 PUT with is_active true, any GitLab PUT of a system hook. Each is announced.
    expect((await v1('PUT', `/v1/hooks/${subject.id}`, { is_active: true })).body).toMatchObject({ is_active: true });
    expect((await gitlab('PUT', `/api/v4/hooks/${system.id}`, { name: 'back' })).body).toMatchObject({ alert_status: 'executable' });
    expect(await graphqlHook(subject.id)).toEqual({ alertStatus: 'executable', disabledUntil: null, isActive: true });
    const enabled = await eventually(
      async () => {
        const events = operationalEvents(watcher).filter((e) => e.event_name === 'hook_enabled');
        return events.length >= 2 ? events : null;
      },
      20_000,
      'two hook_enabled events at the watching system hook',
    );
    expect(enabled.map((e) => e.hook_id).sort()).toEqual([subject.id, system.id].sort());
    expect(enabled.find((e) => e.hook_id === subject.id)).toMatchObject({ alert_status: 'executable', recent_failures: 0, disabled_until: null });
    for (const id of [watch.id, subject.id, system.id]) await t.app.services.hooks.delete(t.admin, id);
  });

  it('Retry-After on a 429 holds every delivery of that hook until then, under a shorter schedule, without spending attempts', async () => {
    const r = await receiver((_request, index) => (index === 0 ? { status: 429, body: 'slow down', headers: { 'retry-after': '3' } } : 200));
    const hook = await t.app.services.hooks.create(t.admin, {
      kind: 'SUBJECT',
      subjectType: 'BUILD_REPO',
      subject: 'calm/repo',
      events: ['build:complete'],
      url: r.url,
    });
    const publish = () => t.app.services.deliveries.publish(t.admin, { event: 'build:complete', subjectType: 'BUILD_REPO', subject: 'calm/repo', payload: {} });
    const first = (await publish()).deliveries[0]!;
    const [throttled] = await r.waitFor(1);
    await eventually(async () => (await t.app.services.deliveries.getDelivery(t.admin, first.id)).status === 'RETRYING', 10_000, 'the 429 recorded');
    // Published during the pause: due at once by the schedule, but the hook is paused.
    const second = (await publish()).deliveries[0]!;
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(r.requests).toHaveLength(1);
    const during = await Promise.all([first.id, second.id].map((id) => t.app.services.deliveries.getDelivery(t.admin, id)));
    expect(during.map((d) => d.attemptCount)).toEqual([1, 0]);

    const [a, b] = await Promise.all([finished(first.id, 'SUCCEEDED'), finished(second.id, 'SUCCEEDED')]);
    expect([a.attemptCount, b.attemptCount]).toEqual([2, 1]);
    expect(r.requests).toHaveLength(3);
    for (const request of r.requests.slice(1)) expect(request.at - throttled!.at).toBeGreaterThanOrEqual(3_000);
    // A pause is no failure streak: the hook stays executable.
    expect(await graphqlHook(hook.id)).toMatchObject({ alertStatus: 'executable' });
    await t.app.services.hooks.delete(t.admin, hook.id);
  });

  it('a redirect is a failure, retried and never followed', async () => {
    const r = await receiver((request) => (request.path === '/moved' ? { status: 301, body: '', headers: { location: '/new' } } : 200));
    const hook = await t.app.services.hooks.create(t.admin, {
      kind: 'SUBJECT',
      subjectType: 'BUILD_REPO',
      subject: 'moved/repo',
      events: ['build:complete'],
      url: `${r.url}/moved`,
    });
    const { deliveries } = await t.app.services.deliveries.publish(t.admin, {
      event: 'build:complete',
      subjectType: 'BUILD_REPO',
      subject: 'moved/repo',
      payload: {},
    });
    await r.waitFor(2, 20_000);
    const d = await t.app.services.deliveries.getDelivery(t.admin, deliveries[0]!.id);
    expect(d.attempts[0]!.responseStatus).toBe(301);
    expect(d.status).not.toBe('SUCCEEDED');
    expect(r.requests.every((request) => request.path === '/moved')).toBe(true);
    await t.app.services.hooks.delete(t.admin, hook.id);
  });
});
