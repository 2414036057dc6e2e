// Ownership of job hooks and the per-namespace cap, through every face: /v1, GraphQL, the GitLab
// system hooks dialect (system hooks have no namespace) and delivery (events reach exactly the
// subject they name). The cap is set to 3 here so it is reached quickly.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Receiver, startReceiver } from '../delivery/receiver';
import { backends, createUser, graphql, startTestApp, type TestApp } from '../helpers';
import { type Answer, call, expectV1Error } from '../rest/helpers';

const CAP = 3;
const CREATE_HOOK = `mutation($input: CreateHookInput!) {
  createHook(input: $input) { hook { subject } userErrors { field message code } }
}`;

describe.each(backends)('job ownership and the namespace cap on %s', (backend) => {
  let t: TestApp;
  let alice: string;
  let bob: string;
  let receiver: Receiver;
  const v1 = (method: string, path: string, token: string, body?: unknown): Promise<Answer> =>
    call(t.url, method, path, { headers: { authorization: `Token ${token}` }, body });
  const jobHook = (subject: string, url = 'https://example.com/j') => ({ subject_type: 'job', subject, events: ['job:succeed'], url });
  const gqlJobHook = (subject: string) => ({ kind: 'SUBJECT', subjectType: 'JOB', subject, events: ['job:succeed'], url: 'https://example.com/j' });

  beforeAll(async () => {
    receiver = await startReceiver();
    t = await startTestApp(backend, { HOOKGATE_MAX_HOOKS_PER_NAMESPACE: String(CAP) });
    alice = (await createUser(t.app, 'alice')).token;
    bob = (await createUser(t.app, 'bob')).token;
  });
  afterAll(async () => {
    await t.close();
    await receiver.close();
  });

  it('/v1: non-admins add job hooks only as <own namespace>/<job id>; bare ids are for admins', async () => {
    const own = await v1('POST', '/v1/hooks', alice, jobHook('alice/4242'));
    expect(own.status, own.text).toBe(201);
    expect(own.body).toMatchObject({ subject_type: 'job', subject: 'alice/4242', created_by: 'alice' });
    expectV1Error(await v1('POST', '/v1/hooks', alice, jobHook('4242')), 403, 'permission_denied');
    expectV1Error(await v1('POST', '/v1/hooks', alice, jobHook('bob/4242')), 403, 'permission_denied');
    expectV1Error(await v1('POST', '/v1/hooks', alice, jobHook('alice/has space')), 400, 'invalid_args');
    const bare = await v1('POST', '/v1/hooks', t.adminToken, jobHook('4242'));
    expect(bare.status, bare.text).toBe(201);
    // A job hook in Alice's namespace is Alice's to see and Bob's not to.
    const id = (own.body as { id: number }).id;
    expect((await v1('GET', `/v1/hooks/${id}`, alice)).status).toBe(200);
    expectV1Error(await v1('GET', `/v1/hooks/${id}`, bob), 404, 'resource_not_exist');
  });

  it('GraphQL: the same rule, FORBIDDEN for a bare job id or another namespace', async () => {
    const own = await graphql(t.url, CREATE_HOOK, { input: gqlJobHook('bob/7') }, bob);
    expect(own.data?.createHook, JSON.stringify(own)).toEqual({ hook: { subject: 'bob/7' }, userErrors: [] });
    for (const subject of ['7', 'alice/7']) {
      const denied = await graphql(t.url, CREATE_HOOK, { input: gqlJobHook(subject) }, bob);
      expect(denied.errors?.[0]?.extensions?.code, JSON.stringify(denied)).toBe('FORBIDDEN');
    }
    expect(await t.app.db.prisma.hook.count({ where: { subject: { in: ['7', 'alice/7'] } } })).toBe(0);
  });

  it('delivers an event for ns/job only to hooks on ns/job, and one for a bare id only to the bare id', async () => {
    const carol = (await createUser(t.app, 'carol')).token;
    const mine = await v1('POST', '/v1/hooks', carol, jobHook('carol/99', `${receiver.url}/carol`));
    const bare = await v1('POST', '/v1/hooks', t.adminToken, jobHook('99', `${receiver.url}/bare`));
    expect([mine.status, bare.status]).toEqual([201, 201]);
    const published = await v1('POST', '/v1/events', t.adminToken, { event: 'job:succeed', subject_type: 'job', subject: 'carol/99', payload: { n: 1 } });
    expect(published.status, published.text).toBe(202);
    expect((published.body as { deliveries: number[] }).deliveries).toHaveLength(1);
    await v1('POST', '/v1/events', t.adminToken, { event: 'job:succeed', subject_type: 'job', subject: '99', payload: { n: 2 } });
    await receiver.waitFor(2, 20_000);
    expect(receiver.requests.map((r) => [r.path, JSON.parse(r.body).n]).sort()).toEqual([
      ['/bare', 2],
      ['/carol', 1],
    ]);
  });

  it('caps subject hooks per namespace: 400 invalid_args on subject in /v1, VALIDATION_FAILED in GraphQL', async () => {
    const dave = (await createUser(t.app, 'dave')).token;
    // Repo and job hooks count together.
    for (const body of [
      jobHook('dave/1'),
      jobHook('dave/2'),
      { subject_type: 'build_repo', subject: 'dave/app', events: ['build:complete'], url: 'https://example.com/b' },
    ]) {
      const answer = await v1('POST', '/v1/hooks', dave, body);
      expect(answer.status, answer.text).toBe(201);
    }
    const over = await v1('POST', '/v1/hooks', dave, jobHook('dave/3'));
    expectV1Error(over, 400, 'invalid_args');
    expect((over.body as { errors: Array<{ field?: string; message: string }> }).errors[0]).toMatchObject({
      field: 'subject',
      message: expect.stringContaining(`maximum of ${CAP}`),
    });
    // Admins are held to it too; the cap is per namespace, not per user.
    const admin = await graphql(t.url, CREATE_HOOK, { input: gqlJobHook('dave/4') });
    expect(admin.errors).toBeUndefined();
    expect(admin.data!.createHook).toEqual({
      hook: null,
      userErrors: [{ field: ['input', 'subject'], message: expect.stringContaining(`maximum of ${CAP}`), code: 'VALIDATION_FAILED' }],
    });
    expect(await t.app.db.prisma.hook.count({ where: { namespace: 'dave' } })).toBe(CAP);
    // Deleting one makes room again.
    const first = await t.app.db.prisma.hook.findFirstOrThrow({ where: { namespace: 'dave' } });
    expect((await v1('DELETE', `/v1/hooks/${first.id}`, dave)).status).toBe(204);
    expect((await v1('POST', '/v1/hooks', dave, jobHook('dave/5'))).status).toBe(201);
  });

  it('holds the cap exactly under concurrent creates', async () => {
    const erin = (await createUser(t.app, 'erin')).token;
    const answers = await Promise.all(Array.from({ length: 12 }, (_, i) => v1('POST', '/v1/hooks', erin, jobHook(`erin/${i}`))));
    expect(answers.map((a) => a.status).sort()).toEqual([...Array(CAP).fill(201), ...Array(12 - CAP).fill(400)]);
    expect(await t.app.db.prisma.hook.count({ where: { namespace: 'erin' } })).toBe(CAP);
  });

  it('GitLab system hooks have no namespace and no cap; bare job hooks neither', async () => {
    const headers = { 'private-token': t.adminToken };
    for (let i = 0; i <= CAP; i++) {
      const answer = await call(t.url, 'POST', '/api/v4/hooks', { headers, body: { url: `https://example.com/system/${i}` } });
      expect(answer.status, answer.text).toBe(201);
      const job = await v1('POST', '/v1/hooks', t.adminToken, jobHook(`bare-${i}`));
      expect(job.status, job.text).toBe(201);
    }
    const denied = await call(t.url, 'POST', '/api/v4/hooks', { headers: { 'private-token': alice }, body: { url: 'https://example.com/s' } });
    expect(denied.status).toBe(403);
  });
});
