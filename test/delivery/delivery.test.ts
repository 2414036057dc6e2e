// The delivery engine end to end: a real Hookgate (both backends), real receivers on 127.0.0.1.

import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { standardWebhooksKey } from '../../src/delivery/sign';
import type { DeliveryUpdate } from '../../src/domain/delivery-operations';
import { ForbiddenError, NotFoundError, ValidationError } from '../../src/domain/errors';
import { backends, createUser, startTestApp, type TestApp } from '../helpers';
import { eventually, suiteReceivers } from './receiver';

const SYSTEM_SAMPLE = '{"project_id":1,"owner_email":"example@gitlabhq.com","owner_name":"Someone","name":"Ruby","path":"ruby","event_name":"project_create"}';

describe.each(backends)('delivery (%s)', (backend) => {
  let t: TestApp;
  const receiver = suiteReceivers();

  beforeAll(async () => {
    t = await startTestApp(backend, { HOOKGATE_SHUTDOWN_GRACE: '500ms' });
  });
  afterAll(async () => {
    await t?.close();
  });

  const subjectHook = (url: string, extra: Record<string, unknown> = {}) =>
    t.app.services.hooks.create(t.admin, { kind: 'SUBJECT', subjectType: 'BUILD_REPO', subject: 'ns/repo', events: ['build:complete'], url, ...extra });
  const delivery = (id: number) => t.app.services.deliveries.getDelivery(t.admin, id);

  it('fans out to the matching active hooks of every event family, branch filters of every strategy applied', async () => {
    const r = await receiver();
    const make = async (input: Record<string, unknown>) => (await t.app.services.hooks.create(t.admin, { url: r.url, ...input } as never)).id;
    const build = await make({ kind: 'SUBJECT', subjectType: 'BUILD_REPO', subject: 'fan/repo', events: ['build:complete'] });
    await make({ kind: 'SUBJECT', subjectType: 'BUILD_REPO', subject: 'fan/other', events: ['build:complete'] });
    const image = await make({ kind: 'SUBJECT', subjectType: 'IMAGE_REPO', subject: 'fan/repo', events: ['image:push'] });
    const jobSucceed = await make({ kind: 'SUBJECT', subjectType: 'JOB', subject: 'fan-job', events: ['job:succeed'] });
    const jobBoth = await make({ kind: 'SUBJECT', subjectType: 'JOB', subject: 'fan-job', events: ['job:succeed', 'job:fail'] });
    await make({ kind: 'SUBJECT', subjectType: 'BUILD_REPO', subject: 'fan/repo', events: ['build:complete'], isActive: false });
    const resting = await make({ kind: 'SUBJECT', subjectType: 'BUILD_REPO', subject: 'fan/repo', events: ['build:complete'] });
    const rested = await make({ kind: 'SUBJECT', subjectType: 'BUILD_REPO', subject: 'fan/repo', events: ['build:complete'] });
    const off = await make({ kind: 'SUBJECT', subjectType: 'BUILD_REPO', subject: 'fan/repo', events: ['build:complete'] });
    const prisma = t.app.db.prisma;
    await prisma.hook.update({
      where: { id: resting },
      data: { alertStatus: 'TEMPORARILY_DISABLED', disabledUntil: new Date(Date.now() + 60_000), recentFailures: 4 },
    });
    await prisma.hook.update({
      where: { id: rested },
      data: { alertStatus: 'TEMPORARILY_DISABLED', disabledUntil: new Date(Date.now() - 1_000), recentFailures: 4 },
    });
    await prisma.hook.update({ where: { id: off }, data: { alertStatus: 'DISABLED', recentFailures: 40 } });
    const sysDefault = await make({ kind: 'SYSTEM' });
    const sysAll = await make({ kind: 'SYSTEM', events: ['push', 'tag_push'], branchFilterStrategy: 'ALL_BRANCHES' });
    const sysWildcard = await make({ kind: 'SYSTEM', events: ['push', 'tag_push'], pushEventsBranchFilter: 'release/*', branchFilterStrategy: 'WILDCARD' });
    const sysRegex = await make({ kind: 'SYSTEM', events: ['push'], pushEventsBranchFilter: '^(main|dev)$', branchFilterStrategy: 'REGEX' });
    const sysMr = await make({ kind: 'SYSTEM', events: ['merge_request'] });
    const sysOff = await make({ kind: 'SYSTEM', events: ['push', 'tag_push', 'merge_request', 'repository_update'], isActive: false });
    const hooksFor = async (input: Record<string, unknown>) =>
      (await t.app.services.deliveries.publish(t.admin, { payload: {}, ...input } as never)).deliveries.map((d) => d.hookId).sort((a, b) => a - b);

    expect(await hooksFor({ event: 'build:complete', subjectType: 'BUILD_REPO', subject: 'fan/repo' })).toEqual([build, rested]);
    expect(await hooksFor({ event: 'image:push', subjectType: 'IMAGE_REPO', subject: 'fan/repo' })).toEqual([image]);
    expect(await hooksFor({ event: 'job:succeed', subjectType: 'JOB', subject: 'fan-job' })).toEqual([jobSucceed, jobBoth]);
    expect(await hooksFor({ event: 'job:fail', subjectType: 'JOB', subject: 'fan-job' })).toEqual([jobBoth]);
    expect(await hooksFor({ event: 'job:fail', subjectType: 'JOB', subject: 'other-job' })).toEqual([]);
    expect(await hooksFor({ event: 'push', ref: 'refs/heads/main' })).toEqual([sysAll, sysRegex]);
    expect(await hooksFor({ event: 'push', ref: 'refs/heads/release/1.0' })).toEqual([sysAll, sysWildcard]);
    expect(await hooksFor({ event: 'push', ref: 'refs/heads/maintenance' })).toEqual([sysAll]);
    expect(await hooksFor({ event: 'tag_push', ref: 'refs/tags/release/v2' })).toEqual([sysAll, sysWildcard]);
    expect(await hooksFor({ event: 'tag_push', ref: 'refs/tags/v2' })).toEqual([sysAll]);
    expect(await hooksFor({ event: 'merge_request' })).toEqual([sysMr]);
    expect(await hooksFor({ event: 'repository_update' })).toEqual([sysDefault]);
    for (const event of ['project_create', 'user_create', 'group_destroy']) {
      expect(await hooksFor({ event })).toEqual([sysDefault, sysAll, sysWildcard, sysRegex, sysMr]);
    }
    // The inactive hook matches every event above: switched on, it is reached, so its absence was the switch.
    await prisma.hook.update({ where: { id: sysOff }, data: { isActive: true } });
    expect(await hooksFor({ event: 'merge_request' })).toEqual([sysMr, sysOff]);
    for (const id of [sysDefault, sysAll, sysWildcard, sysRegex, sysMr, sysOff]) await t.app.services.hooks.delete(t.admin, id);
  });

  it('a catastrophic-backtracking regex filter cannot stall publishing (RE2)', async () => {
    const r = await receiver();
    const hook = await t.app.services.hooks.create(t.admin, {
      kind: 'SYSTEM',
      url: r.url,
      events: ['push'],
      pushEventsBranchFilter: '(a+)+$',
      branchFilterStrategy: 'REGEX',
    });
    const started = performance.now();
    // A backtracking engine needs ~2^n steps here; n = 1000 would never finish.
    const { deliveries } = await t.app.services.deliveries.publish(t.admin, { event: 'push', ref: `refs/heads/${'a'.repeat(1_000)}!`, payload: {} });
    expect(performance.now() - started).toBeLessThan(1_000);
    expect(deliveries).toEqual([]);
    const matching = await t.app.services.deliveries.publish(t.admin, { event: 'push', ref: `refs/heads/${'a'.repeat(1_000)}`, payload: {} });
    expect(matching.deliveries.map((d) => d.hookId)).toEqual([hook.id]);
    await t.app.services.hooks.delete(t.admin, hook.id);
  });

  it('signs with a plain, a non-ASCII and a whsec_ secret, verifiable by the standardwebhooks library', async () => {
    const r = await receiver();
    const secrets = ['plain-secret', 'sécrét-ключ-🔑', `whsec_${Buffer.from('0123456789abcdef0123456789abcdef').toString('base64')}`];
    const hooks: { id: number }[] = [];
    for (const [index, secret] of secrets.entries()) {
      hooks.push(await subjectHook(`${r.url}/s${index}`, { subject: `sig/r${index}`, secret }));
    }
    for (const [index] of secrets.entries()) {
      await t.app.services.deliveries.publish(t.admin, {
        event: 'build:complete',
        subjectType: 'BUILD_REPO',
        subject: `sig/r${index}`,
        payload: { n: index, ü: 'ö' },
      });
    }
    const requests = await r.waitFor(3);
    for (const [index, secret] of secrets.entries()) {
      const request = requests.find((req) => req.path === `/s${index}`)!;
      expect(JSON.parse(request.body)).toEqual({ n: index, ü: 'ö' });
      const headers = request.headers as Record<string, string>;
      expect(() => new Webhook(standardWebhooksKey(secret)).verify(request.body, headers)).not.toThrow();
      expect(() => new Webhook(standardWebhooksKey('wrong')).verify(request.body, headers)).toThrow();
      expect(headers['x-hookgate-event']).toBe('build:complete');
      expect(headers['user-agent']).toMatch(/^Hookgate\/\d+\.\d+\.\d+$/);
      expect(headers['content-type']).toBe('application/json');
    }
    // whsec_ secrets are given to the library as they are.
    expect(() =>
      new Webhook(secrets[2]!).verify(requests.find((q) => q.path === '/s2')!.body, requests.find((q) => q.path === '/s2')!.headers as Record<string, string>),
    ).not.toThrow();
    const stored = await eventually(async () => {
      const d = await t.app.db.prisma.delivery.findFirst({ where: { hookId: hooks[0]!.id }, include: { attempts: true } });
      return d?.status === 'SUCCEEDED' ? d : null;
    });
    const attempt = stored.attempts[0]!;
    expect(attempt.responseStatus).toBe(200);
    expect(attempt.responseBody).toBe('ok');
    expect((attempt.requestHeaders as Record<string, string>)['webhook-signature']).toBe('[redacted]');
    expect(JSON.stringify(attempt)).not.toContain('plain-secret');
  });

  it('system hooks get the GitLab headers; the token is sent but never stored', async () => {
    const r = await receiver();
    const hook = await t.app.services.hooks.create(t.admin, { kind: 'SYSTEM', url: `${r.url}/system`, secret: 'gitlab-token-1', events: ['push'] });
    const { deliveries } = await t.app.services.deliveries.publish(t.admin, { event: 'push', ref: 'refs/heads/main', payload: { b: 1, a: 2 } });
    const ours = deliveries.find((d) => d.hookId === hook.id)!;
    const [request] = await r.waitFor(1);
    expect(request!.body).toBe('{"b":1,"a":2}'); // key order as published
    expect(request!.headers['x-gitlab-event']).toBe('System Hook');
    expect(request!.headers['x-gitlab-token']).toBe('gitlab-token-1');
    expect(request!.headers['x-gitlab-event-uuid']).toBe(ours.uuid);
    expect(request!.headers['webhook-id']).toBe(ours.uuid);
    const stored = await eventually(async () => {
      const d = await delivery(ours.id);
      return d.attempts.length > 0 ? d : null;
    });
    const headers = stored.attempts[0]!.requestHeaders as Record<string, string>;
    expect(headers['x-gitlab-token']).toBe('[redacted]');
    expect(JSON.stringify(stored)).not.toContain('gitlab-token-1');
    await t.app.services.hooks.delete(t.admin, hook.id);
  });

  it('a stored token that is no valid header value fails at once, with a clear error, and holds back no other request', async () => {
    const r = await receiver();
    const good = await t.app.services.hooks.create(t.admin, { kind: 'SYSTEM', url: `${r.url}/good`, secret: 'fine-token', events: ['push'] });
    const bad = await t.app.services.hooks.create(t.admin, { kind: 'SYSTEM', url: `${r.url}/bad`, events: ['push'] });
    // Saving refuses such a token; a row written before that rule (or by hand) may still hold one.
    await t.app.db.prisma.hook.update({ where: { id: bad.id }, data: { secret: '构建钩子 🚀' } });
    // Interleaved on one receiver: undici 7 could leave the good requests queued forever behind
    // a refused one, so this would hang without the sender's own check.
    const tests = Array.from({ length: 40 }, (_, i) => t.app.services.deliveries.testHook(t.admin, i % 2 ? bad.id : good.id));
    let timer: NodeJS.Timeout | undefined;
    const settled = await Promise.race([Promise.all(tests), new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), 15_000)))]).finally(() =>
      clearTimeout(timer),
    );
    expect(settled, 'every test send settled').not.toBeNull();
    for (const [i, result] of settled!.entries()) {
      if (i % 2) {
        expect(result.status).toBe('FAILED');
        expect(result.attempts[0]!.error).toBe(
          'The x-gitlab-token header cannot be sent: its value has characters HTTP headers do not allow (set a new token)',
        );
      } else {
        expect(result.status).toBe('SUCCEEDED');
      }
    }
    expect(r.requests.filter((request) => request.path === '/bad')).toEqual([]);
    expect(r.requests.filter((request) => request.path === '/good')).toHaveLength(20);
    // A scheduled delivery is given up at the first attempt instead of being retried.
    const { deliveries } = await t.app.services.deliveries.publish(t.admin, { event: 'push', ref: 'refs/heads/main', payload: {} });
    const scheduled = deliveries.find((d) => d.hookId === bad.id)!;
    const failed = await eventually(async () => {
      const d = await delivery(scheduled.id);
      return d.status === 'FAILED' ? d : null;
    });
    expect(failed.attempts).toHaveLength(1);
    await t.app.services.hooks.delete(t.admin, good.id);
    await t.app.services.hooks.delete(t.admin, bad.id);
  });

  it('substitutes url variables, URL-encoded, just before sending', async () => {
    const r = await receiver();
    const hook = await subjectHook(`${r.url}/hook/{token}?q={q}`, { subject: 'vars/repo' });
    await t.app.services.hooks.setUrlVariable(t.admin, hook.id, 'token', 'a b/c&d');
    await t.app.services.hooks.setUrlVariable(t.admin, hook.id, 'q', 'ü');
    await t.app.services.deliveries.publish(t.admin, { event: 'build:complete', subjectType: 'BUILD_REPO', subject: 'vars/repo', payload: {} });
    const [request] = await r.waitFor(1);
    expect(request!.path).toBe('/hook/a%20b%2Fc%26d?q=%C3%BC');
    const d = await eventually(async () => await t.app.db.prisma.deliveryAttempt.findFirst({ where: { delivery: { hookId: hook.id } } }));
    expect(d.requestUrl).toBe(`${r.url}/hook/{token}?q={q}`); // values (maybe secret) are not stored
  });

  it('retries on the schedule with the same webhook-id and fresh signatures, then succeeds', async () => {
    const r = await receiver((_req, index) => (index < 2 ? 500 : 200));
    const hook = await subjectHook(r.url, { subject: 'retry/ok', secret: 's3cret' });
    const { deliveries } = await t.app.services.deliveries.publish(t.admin, {
      event: 'build:complete',
      subjectType: 'BUILD_REPO',
      subject: 'retry/ok',
      payload: { x: 1 },
    });
    const requests = await r.waitFor(3);
    expect(new Set(requests.map((q) => q.headers['webhook-id']))).toEqual(new Set([deliveries[0]!.uuid]));
    for (const request of requests) {
      expect(() => new Webhook(standardWebhooksKey('s3cret')).verify(request.body, request.headers as Record<string, string>)).not.toThrow();
    }
    // 200 ms then 500 ms (±20 %) between attempts.
    const gaps = [requests[1]!.at - requests[0]!.at, requests[2]!.at - requests[1]!.at];
    expect(gaps[0]).toBeGreaterThanOrEqual(150);
    expect(gaps[1]).toBeGreaterThanOrEqual(390);
    const done = await eventually(async () => {
      const d = await delivery(deliveries[0]!.id);
      return d.status === 'SUCCEEDED' ? d : null;
    });
    expect(done.attemptCount).toBe(3);
    expect(done.attempts.map((a) => a.responseStatus)).toEqual([500, 500, 200]);
    expect(done.nextAttemptAt).toBeNull();
    // The success wipes the two failures it followed.
    expect(await t.app.db.prisma.hook.findUnique({ where: { id: hook.id } })).toMatchObject({ recentFailures: 0, alertStatus: 'EXECUTABLE' });
  });

  it('a retry long after the first attempt carries a fresh timestamp that still verifies', async () => {
    const slow = await startTestApp(backend, { HOOKGATE_RETRY_SCHEDULE: '10m' });
    try {
      const r = await receiver((_req, index) => (index === 0 ? 503 : 200));
      await slow.app.services.hooks.create(slow.admin, {
        kind: 'SUBJECT',
        subjectType: 'JOB',
        subject: 'job-1',
        events: ['job:fail'],
        url: r.url,
        secret: 'later',
      });
      const { deliveries } = await slow.app.services.deliveries.publish(slow.admin, {
        event: 'job:fail',
        subjectType: 'JOB',
        subject: 'job-1',
        payload: { y: 2 },
      });
      const id = deliveries[0]!.id;
      await r.waitFor(1);
      await eventually(async () => (await slow.app.db.prisma.delivery.findUnique({ where: { id } }))?.status === 'RETRYING');
      // Signatures carry whole seconds: let one pass so the retry's timestamp differs for sure.
      await new Promise((resolve) => setTimeout(resolve, 1_100));
      // Pretend ten minutes went by: the first attempt is old, the retry is due now.
      const past = new Date(Date.now() - 10 * 60_000);
      await slow.app.db.prisma.deliveryAttempt.updateMany({ where: { deliveryId: id }, data: { startedAt: past } });
      await slow.app.db.prisma.delivery.update({ where: { id }, data: { createdAt: past, nextAttemptAt: new Date() } });
      slow.app.deliveries.pool.wake();
      const [first, second] = await r.waitFor(2);
      expect(second!.headers['webhook-id']).toBe(first!.headers['webhook-id']);
      expect(second!.headers['webhook-signature']).not.toBe(first!.headers['webhook-signature']);
      expect(Number(second!.headers['webhook-timestamp'])).toBeGreaterThanOrEqual(Number(first!.headers['webhook-timestamp']));
      expect(() => new Webhook(standardWebhooksKey('later')).verify(second!.body, second!.headers as Record<string, string>)).not.toThrow();
    } finally {
      await slow.close();
    }
  });

  it('is FAILED after the last scheduled attempt, and 410 Gone stops at once', async () => {
    const failing = await receiver(() => 500);
    const gone = await receiver(() => 410);
    await subjectHook(failing.url, { subject: 'retry/fail' });
    await subjectHook(gone.url, { subject: 'retry/gone' });
    const a = await t.app.services.deliveries.publish(t.admin, { event: 'build:complete', subjectType: 'BUILD_REPO', subject: 'retry/fail', payload: {} });
    const b = await t.app.services.deliveries.publish(t.admin, { event: 'build:complete', subjectType: 'BUILD_REPO', subject: 'retry/gone', payload: {} });
    const failed = await eventually(async () => {
      const d = await delivery(a.deliveries[0]!.id);
      return d.status === 'FAILED' ? d : null;
    }, 10_000);
    expect(failed.attemptCount).toBe(4); // first attempt + 200ms, 500ms, 1s
    expect(failing.requests).toHaveLength(4);
    const stopped = await delivery(b.deliveries[0]!.id);
    expect(stopped.status).toBe('FAILED');
    expect(stopped.attemptCount).toBe(1);
    expect(gone.requests).toHaveLength(1);
  });

  it('auto-disables a failing subject hook from the 4th failure, for good at the 40th; a success resets it', async () => {
    const failing = await receiver(() => 500);
    const hook = await subjectHook(failing.url, { subject: 'alert/repo' });
    await t.app.services.deliveries.publish(t.admin, { event: 'build:complete', subjectType: 'BUILD_REPO', subject: 'alert/repo', payload: {} });
    const disabled = await eventually(async () => {
      const h = await t.app.db.prisma.hook.findUnique({ where: { id: hook.id } });
      return h?.alertStatus === 'TEMPORARILY_DISABLED' ? h : null;
    });
    expect(disabled.recentFailures).toBe(4);
    const wait = disabled.disabledUntil!.getTime() - Date.now();
    expect(wait).toBeGreaterThan(50_000);
    expect(wait).toBeLessThanOrEqual(60_000);
    // While disabled, new events skip the hook.
    const skipped = await t.app.services.deliveries.publish(t.admin, {
      event: 'build:complete',
      subjectType: 'BUILD_REPO',
      subject: 'alert/repo',
      payload: {},
    });
    expect(skipped.deliveries).toHaveLength(0);

    // The 40th consecutive failure disables it until someone re-enables it.
    await t.app.db.prisma.hook.update({ where: { id: hook.id }, data: { alertStatus: 'EXECUTABLE', disabledUntil: null, recentFailures: 39 } });
    const before = failing.requests.length;
    await t.app.services.deliveries.publish(t.admin, { event: 'build:complete', subjectType: 'BUILD_REPO', subject: 'alert/repo', payload: {} });
    const off = await eventually(async () => {
      const h = await t.app.db.prisma.hook.findUnique({ where: { id: hook.id } });
      return h?.alertStatus === 'DISABLED' ? h : null;
    });
    expect(off.recentFailures).toBe(40);
    expect(off.disabledUntil).toBeNull();
    await new Promise((resolve) => setTimeout(resolve, 800));
    expect(failing.requests.length - before).toBe(1); // the retry after the 40th failure is never sent

    // A successful test re-enables it.
    const fixed = await receiver();
    await t.app.db.prisma.hook.update({ where: { id: hook.id }, data: { url: fixed.url } });
    const tested = await t.app.services.deliveries.testHook(t.admin, hook.id);
    expect(tested.status).toBe('SUCCEEDED');
    const healthy = await t.app.db.prisma.hook.findUnique({ where: { id: hook.id } });
    expect(healthy).toMatchObject({ alertStatus: 'EXECUTABLE', recentFailures: 0, disabledUntil: null });
  });

  it('system hooks are never auto-disabled', async () => {
    const failing = await receiver(() => 500);
    const hook = await t.app.services.hooks.create(t.admin, { kind: 'SYSTEM', url: failing.url, events: ['merge_request'] });
    await t.app.services.deliveries.publish(t.admin, { event: 'merge_request', payload: {} });
    await failing.waitFor(4);
    await new Promise((resolve) => setTimeout(resolve, 100));
    const h = await t.app.db.prisma.hook.findUnique({ where: { id: hook.id } });
    expect(h).toMatchObject({ alertStatus: 'EXECUTABLE', recentFailures: 0 });
    await t.app.services.hooks.delete(t.admin, hook.id);
  });

  it('a hook deleted while its sends are in flight takes its deliveries along; the rest of their batch is recorded', async () => {
    let release!: (status: number) => void;
    const answered = new Promise<number>((resolve) => (release = resolve));
    // Every request waits for the same answer, so the three sends finish (and are recorded) together.
    const gate = await receiver(() => answered);
    const doomed = await subjectHook(`${gate.url}/doomed`, { subject: 'inflight/doomed' });
    await subjectHook(`${gate.url}/kept`, { subject: 'inflight/kept' });
    const publish = (subject: string) =>
      t.app.services.deliveries.publish(t.admin, { event: 'build:complete', subjectType: 'BUILD_REPO', subject, payload: {} });
    await publish('inflight/doomed');
    await publish('inflight/doomed');
    const kept = (await publish('inflight/kept')).deliveries[0]!;
    await gate.waitFor(3);
    await t.app.services.hooks.delete(t.admin, doomed.id);
    release(200);
    // Had the doomed attempts failed the batch, this delivery would wait for its lease to run out.
    const done = await eventually(
      async () => {
        const d = await delivery(kept.id);
        return d.status === 'SUCCEEDED' ? d : null;
      },
      5_000,
      'the kept delivery to be recorded',
    );
    expect(done.attempts).toHaveLength(1);
    expect(await t.app.db.prisma.delivery.count({ where: { hookId: doomed.id } })).toBe(0);
  });

  it('a receiver that never answers does not hold back another hook', async () => {
    const dead = await receiver(() => 'hang');
    const alive = await receiver();
    await subjectHook(dead.url, { subject: 'slow/dead' });
    await subjectHook(alive.url, { subject: 'slow/alive' });
    for (let i = 0; i < 60; i++) {
      await t.app.services.deliveries.publish(t.admin, { event: 'build:complete', subjectType: 'BUILD_REPO', subject: 'slow/dead', payload: { i } });
    }
    await dead.waitFor(5);
    const published = Date.now();
    await t.app.services.deliveries.publish(t.admin, { event: 'build:complete', subjectType: 'BUILD_REPO', subject: 'slow/alive', payload: {} });
    const [request] = await alive.waitFor(1, 5_000);
    expect(request!.at - published).toBeLessThan(1_000);
  });

  it('test hook: the exact GitLab sample for system hooks, a subject sample otherwise, recorded with its attempt', async () => {
    const r = await receiver();
    const system = await t.app.services.hooks.create(t.admin, { kind: 'SYSTEM', url: `${r.url}/sys`, secret: 'tok' });
    const result = await t.app.services.deliveries.testHook(t.admin, system.id, { kind: 'SYSTEM' });
    expect(result.status).toBe('SUCCEEDED');
    expect(result.attempts).toHaveLength(1);
    expect(result.attempts[0]!.responseStatus).toBe(200);
    const [request] = await r.waitFor(1);
    expect(request!.body).toBe(SYSTEM_SAMPLE);
    expect(request!.headers['x-gitlab-event']).toBe('System Hook');
    await expect(t.app.services.deliveries.testHook(t.admin, system.id, { kind: 'SUBJECT' })).rejects.toThrow(NotFoundError);

    const subject = await t.app.services.hooks.create(t.admin, {
      kind: 'SUBJECT',
      subjectType: 'JOB',
      subject: 'job-9',
      events: ['job:fail', 'job:succeed'],
      url: `${r.url}/sub`,
    });
    const tested = await t.app.services.deliveries.testHook(t.admin, subject.id);
    const [, second] = await r.waitFor(2);
    expect(second!.headers['x-hookgate-event']).toBe('job:fail');
    expect(JSON.parse(second!.body)).toMatchObject({ event: 'job:fail', subject: 'job-9', test: true });
    expect(tested.attempts).toHaveLength(1);
    await expect(t.app.services.deliveries.testHook(t.admin, subject.id, { event: 'image:push' })).rejects.toThrow(ValidationError);

    const unreachable = await subjectHook('http://127.0.0.1:9/', { subject: 'test/down' });
    const failed = await t.app.services.deliveries.testHook(t.admin, unreachable.id);
    expect(failed.status).toBe('FAILED');
    expect(failed.attempts[0]!.error).toMatch(/ECONNREFUSED/);
    await t.app.services.hooks.delete(t.admin, system.id);
  });

  it('redeliver makes a new attempt with the same webhook-id; others cannot see the delivery', async () => {
    const r = await receiver();
    await subjectHook(r.url, { subject: 'redo/repo' });
    const { deliveries } = await t.app.services.deliveries.publish(t.admin, {
      event: 'build:complete',
      subjectType: 'BUILD_REPO',
      subject: 'redo/repo',
      payload: {},
    });
    const id = deliveries[0]!.id;
    await eventually(async () => (await delivery(id)).status === 'SUCCEEDED');
    const again = await t.app.services.deliveries.redeliver(t.admin, id);
    expect(again.attempts).toHaveLength(2);
    expect(again.attemptCount).toBe(2);
    expect(r.requests.map((q) => q.headers['webhook-id'])).toEqual([deliveries[0]!.uuid, deliveries[0]!.uuid]);
    const stranger = await createUser(t.app, 'stranger');
    await expect(t.app.services.deliveries.getDelivery(stranger.actor, id)).rejects.toThrow(NotFoundError);
    await expect(t.app.services.deliveries.redeliver(stranger.actor, id)).rejects.toThrow(NotFoundError);
    await expect(t.app.services.deliveries.getDelivery(t.admin, 0)).rejects.toThrow(NotFoundError);
    await expect(t.app.services.deliveries.publish(stranger.actor, { event: 'project_create', payload: {} })).rejects.toThrow(ForbiddenError);
  });

  it('subscribe hears every state change of a hook', async () => {
    const r = await receiver((_req, index) => (index === 0 ? 500 : 200));
    const hook = await subjectHook(r.url, { subject: 'sub/repo' });
    const controller = new AbortController();
    const seen: DeliveryUpdate[] = [];
    const iterable = t.app.services.deliveries.subscribe(t.admin, hook.id, controller.signal);
    const collecting = (async () => {
      for await (const update of iterable) seen.push(update);
    })();
    const { deliveries } = await t.app.services.deliveries.publish(t.admin, {
      event: 'build:complete',
      subjectType: 'BUILD_REPO',
      subject: 'sub/repo',
      payload: {},
    });
    await eventually(async () => seen.length >= 3, 5_000, 'created, retrying, succeeded');
    controller.abort();
    await collecting;
    expect(seen.every((u) => u.hookId === hook.id && u.deliveryId === deliveries[0]!.id)).toBe(true);
    const stranger = await createUser(t.app, 'stranger2');
    const forbidden = t.app.services.deliveries.subscribe(stranger.actor, hook.id);
    await expect(forbidden[Symbol.asyncIterator]().next()).rejects.toThrow(NotFoundError);
  });

  it('rejects bad publish input with field errors', async () => {
    const publish = (input: Record<string, unknown>) => t.app.services.deliveries.publish(t.admin, input as never);
    await expect(publish({ event: '', payload: {} })).rejects.toMatchObject({ field: 'event' });
    await expect(publish({ event: 'build:complete', payload: {} })).rejects.toMatchObject({ field: 'subjectType' });
    await expect(publish({ event: 'image:push', subjectType: 'BUILD_REPO', subject: 'a/b', payload: {} })).rejects.toMatchObject({ field: 'event' });
    await expect(publish({ event: 'build:complete', subjectType: 'BUILD_REPO', subject: 'nope', payload: {} })).rejects.toMatchObject({ field: 'subject' });
    await expect(publish({ event: 'push' })).rejects.toMatchObject({ field: 'payload' });
    await expect(publish({ event: 'push', payload: { big: 'x'.repeat(1024 * 1024) } })).rejects.toMatchObject({ field: 'payload' });
  });
});
