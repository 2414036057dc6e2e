// Idempotent publishing: `Idempotency-Key` on POST /v1/events and `idempotencyKey` on GraphQL
// `publishEvent`, against a real Hookgate (both backends) and a real receiver.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pruneIdempotencyKeys } from '../../src/delivery/idempotency';
import { eventually, type Receiver, startReceiver } from '../delivery/receiver';
import { backends, graphql, startTestApp, type TestApp } from '../helpers';
import { call, expectV1Error } from './helpers';

const PUBLISH = `mutation($input: PublishEventInput!) {
  publishEvent(input: $input) { deliveries { databaseId } userErrors { field message code } }
}`;

describe.each(backends)('idempotent publishing (%s)', (backend) => {
  let t: TestApp;
  let r: Receiver;

  beforeAll(async () => {
    t = await startTestApp(backend);
    r = await startReceiver();
    await t.app.services.hooks.create(t.admin, {
      kind: 'SUBJECT',
      subjectType: 'BUILD_REPO',
      subject: 'once/repo',
      events: ['build:complete'],
      url: r.url,
    });
  });
  afterAll(async () => {
    await t?.close();
    await r?.close();
  });

  const event = (payload: unknown = { build: 1 }) => ({ event: 'build:complete', subject_type: 'build_repo', subject: 'once/repo', payload });
  const publish = (key: string | null, body: unknown = event(), token = t.adminToken) =>
    call(t.url, 'POST', '/v1/events', { headers: { authorization: `Token ${token}`, ...(key === null ? {} : { 'idempotency-key': key }) }, body });
  const events = () => t.app.db.prisma.event.count({ where: { subject: 'once/repo' } });

  it('a repeat answers what the first answered and sends nothing more', async () => {
    const first = await publish('retry-1', event({ build: 1, n: 2 }));
    expect(first.status).toBe(202);
    const { event_id: eventId, deliveries } = first.body as { event_id: number; deliveries: number[] };
    expect(deliveries).toHaveLength(1);
    await r.waitFor(1);
    const before = await events();
    // Key order in the payload is no difference (the same JSON value).
    for (const body of [
      event({ build: 1, n: 2 }),
      event({ n: 2, build: 1 }),
      { payload: { n: 2, build: 1 }, subject: 'once/repo', subject_type: 'build_repo', event: 'build:complete' },
    ]) {
      const repeat = await publish('retry-1', body);
      expect([repeat.status, repeat.text]).toEqual([202, first.text]);
    }
    expect(await events()).toBe(before);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(r.requests.filter((request) => request.body === '{"build":1,"n":2}')).toHaveLength(1);
    expect(await t.app.db.prisma.delivery.count({ where: { eventId } })).toBe(1);
  });

  it('the same key with another request is a 409 in the /v1 format, and nothing is published', async () => {
    expect((await publish('retry-2')).status).toBe(202);
    const before = await events();
    for (const body of [event({ build: 2 }), { ...event(), event: 'build:complete', subject: 'once/other' }]) {
      const conflict = await publish('retry-2', body);
      expect([conflict.status, conflict.body]).toEqual([
        409,
        { errors: [{ code: 'conflict', message: 'Idempotency-Key was already used with a different request' }] },
      ]);
    }
    expect(await events()).toBe(before);
  });

  it('20 concurrent first requests with one key publish one event, and all get its answer', async () => {
    const before = await events();
    const answers = await Promise.all(Array.from({ length: 20 }, () => publish('burst-1', event({ burst: true }))));
    expect(answers.map((answer) => answer.status)).toEqual(Array(20).fill(202));
    expect(new Set(answers.map((answer) => answer.text)).size).toBe(1);
    expect(await events()).toBe(before + 1);
    await eventually(async () => r.requests.some((request) => request.body === '{"burst":true}'), 10_000, 'the burst event delivered');
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(r.requests.filter((request) => request.body === '{"burst":true}')).toHaveLength(1);
  });

  it('keys are per user, checked, and last 24 hours (then pruned)', async () => {
    const other = await t.app.services.users.createUser(t.admin, { username: 'publisher2', isAdmin: true });
    const mine = await publish('shared-key', event({ who: 'root' }));
    const theirs = await publish('shared-key', event({ who: 'other' }), other.token);
    expect([mine.status, theirs.status]).toEqual([202, 202]);
    expect((mine.body as { event_id: number }).event_id).not.toBe((theirs.body as { event_id: number }).event_id);

    for (const bad of ['x'.repeat(256), 'tab\there', 'caf\u00e9']) {
      const refused = await publish(bad);
      expect(refused.status, JSON.stringify(bad)).toBe(400);
      expectV1Error(refused, 400, 'invalid_args');
      expect(refused.body).toMatchObject({ errors: [{ field: 'Idempotency-Key' }] });
    }
    expect((await publish('k'.repeat(255))).status).toBe(202);

    // A day later the key is free again: a different request with it publishes.
    const old = await publish('old-key', event({ day: 1 }));
    await t.app.db.prisma.idempotencyKey.updateMany({ where: { key: 'old-key' }, data: { createdAt: new Date(Date.now() - 24 * 3_600_000 - 1_000) } });
    const fresh = await publish('old-key', event({ day: 2 }));
    expect(fresh.status).toBe(202);
    expect((fresh.body as { event_id: number }).event_id).not.toBe((old.body as { event_id: number }).event_id);
    await t.app.db.prisma.idempotencyKey.updateMany({
      where: { key: { in: ['old-key', 'shared-key'] } },
      data: { createdAt: new Date(Date.now() - 24 * 3_600_000 - 1_000) },
    });
    // In batches (as a retention step calls it), then all at once.
    expect(await pruneIdempotencyKeys(t.app.db.prisma, new Date(), 2)).toBe(2);
    expect(await pruneIdempotencyKeys(t.app.db.prisma, new Date())).toBe(1);
    expect(await t.app.db.prisma.idempotencyKey.count({ where: { key: 'old-key' } })).toBe(0);
    expect(await t.app.db.prisma.idempotencyKey.count({ where: { key: { in: ['old-key', 'shared-key'] } } })).toBe(0);
    expect(await t.app.db.prisma.idempotencyKey.count()).toBeGreaterThan(0);
  });

  it('GraphQL publishEvent: a repeat gives the same deliveries; another request with the key is a CONFLICT on input.idempotencyKey', async () => {
    const input = { event: 'build:complete', subjectType: 'BUILD_REPO', subject: 'once/repo', payload: { gql: 1 }, idempotencyKey: 'gql-1' };
    const first = await graphql(t.url, PUBLISH, { input });
    expect(first.data!.publishEvent.userErrors).toEqual([]);
    expect(first.data!.publishEvent.deliveries).toEqual([{ databaseId: expect.any(Number) }]);
    const repeat = await graphql(t.url, PUBLISH, { input });
    expect(repeat.data!.publishEvent).toEqual(first.data!.publishEvent);
    const conflict = await graphql(t.url, PUBLISH, { input: { ...input, payload: { gql: 2 } } });
    expect(conflict.data!.publishEvent).toEqual({
      deliveries: null,
      userErrors: [{ field: ['input', 'idempotencyKey'], message: 'Idempotency-Key was already used with a different request', code: 'CONFLICT' }],
    });
    const bad = await graphql(t.url, PUBLISH, { input: { ...input, idempotencyKey: '' } });
    expect(bad.data!.publishEvent.userErrors).toMatchObject([{ field: ['input', 'idempotencyKey'], code: 'VALIDATION_FAILED' }]);
    // The same key through /v1 by the same user is the same key.
    const viaRest = await publish('gql-1', event({ gql: 1 }));
    expect((viaRest.body as { deliveries: number[] }).deliveries).toEqual([first.data!.publishEvent.deliveries[0].databaseId]);
  });
});
