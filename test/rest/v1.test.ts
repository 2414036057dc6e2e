// `/v1/hooks`: the seed document's examples replayed, every rule of the spec, errors and authorization.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends, createUser, startTestApp, type TestApp } from '../helpers';
import { type Answer, call, expectV1Error, ISO_MS_UTC, shape } from './helpers';

// The seed's create response (000_*.txt), as documented.
const DOCUMENTED_HOOK = {
  id: 4,
  subject: 'alaudauser/build_image_demo',
  subject_type: 'build_repo',
  events: ['build:complete'],
  name: 'test hook',
  secret: '123456',
  url: 'http://example.com:8080/v1/builds',
  is_active: true,
  created_by: 'alaudauser',
  created_at: '2015-08-27T09:53:43.563Z',
  updated_at: '2015-08-27T09:53:43.566Z',
};

const SEED_CREATE = {
  subject_type: 'build_repo',
  subject: 'alaudauser/docker_images_test',
  events: ['build:complete'],
  secret: '123456',
  url: 'http://example.com:8080/v1/builds',
  name: 'test hook',
};

const SEED_UPDATE = {
  events: ['build:complete'],
  secret: 'alaudadoc',
  url: 'http://www.example.com:8080/v1/builds',
  name: 'build hook',
  is_active: false,
};

type V1Hook = typeof DOCUMENTED_HOOK;

describe.each(backends)('/v1/hooks on %s', (backend) => {
  let t: TestApp;
  let alice: string;
  let bob: string;
  const as = (token: string) => ({ authorization: `Token ${token}` });
  const api = (method: string, path: string, token: string | null, body?: unknown): Promise<Answer> =>
    call(t.url, method, path, { headers: token ? as(token) : {}, body });
  const create = async (token: string, body: Record<string, unknown>): Promise<V1Hook> => {
    const answer = await api('POST', '/v1/hooks', token, body);
    expect(answer.status, answer.text).toBe(201);
    return answer.body as V1Hook;
  };

  beforeAll(async () => {
    t = await startTestApp(backend);
    alice = (await createUser(t.app, 'alice')).token;
    bob = (await createUser(t.app, 'bob')).token;
  });
  afterAll(async () => {
    await t.close();
  });

  describe('the seed examples', () => {
    it('POST /v1/hooks answers 201 with the documented fields, order and types', async () => {
      const answer = await api('POST', '/v1/hooks', t.adminToken, SEED_CREATE);
      expect(answer.status).toBe(201);
      expect(answer.headers.get('content-type')).toBe('application/json');
      expect(shape(answer.body)).toEqual(shape(DOCUMENTED_HOOK));
      const hook = answer.body as V1Hook;
      expect(hook).toMatchObject({ ...SEED_CREATE, is_active: true, created_by: 'root' });
      expect(hook.created_at).toMatch(ISO_MS_UTC);
      expect(hook.updated_at).toMatch(ISO_MS_UTC);
      expect(Number.isInteger(hook.id) && hook.id > 0).toBe(true);
    });

    it('GET /v1/hooks?subject_type=&subject= answers 200 with an array of documented hooks', async () => {
      const answer = await api('GET', `/v1/hooks?subject_type=build_repo&subject=${encodeURIComponent(SEED_CREATE.subject)}`, t.adminToken);
      expect(answer.status).toBe(200);
      const list = answer.body as V1Hook[];
      expect(list.length).toBeGreaterThan(0);
      for (const hook of list) expect(shape(hook)).toEqual(shape(DOCUMENTED_HOOK));
    });

    it('GET, PUT and DELETE /v1/hooks/<id> answer 200, 200 (with what is stored) and 204', async () => {
      const created = await create(t.adminToken, SEED_CREATE);
      const detail = await api('GET', `/v1/hooks/${created.id}`, t.adminToken);
      expect(detail.status).toBe(200);
      expect(detail.body).toEqual(created);

      const updated = await api('PUT', `/v1/hooks/${created.id}`, t.adminToken, SEED_UPDATE);
      expect(updated.status).toBe(200);
      expect(shape(updated.body)).toEqual(shape(DOCUMENTED_HOOK));
      // The seed prints `is_active: true` back here; the spec says that is an error: what is stored.
      expect(updated.body).toMatchObject({ ...SEED_UPDATE, id: created.id, subject: created.subject, created_at: created.created_at });
      expect((updated.body as V1Hook).updated_at >= created.updated_at).toBe(true);

      const removed = await api('DELETE', `/v1/hooks/${created.id}`, t.adminToken);
      expect(removed.status).toBe(204);
      expect(removed.text).toBe('');
      expectV1Error(await api('GET', `/v1/hooks/${created.id}`, t.adminToken), 404, 'resource_not_exist');
    });
  });

  describe('rules', () => {
    it('allows each subject type its own events, collapsing duplicates', async () => {
      expect(
        (await create(t.adminToken, { subject_type: 'image_repo', subject: 'ns/img', events: ['image:push', 'image:push'], url: 'https://example.com/i' }))
          .events,
      ).toEqual(['image:push']);
      const job = await create(t.adminToken, { subject_type: 'job', subject: '42', events: ['job:succeed', 'job:fail'], url: 'https://example.com/j' });
      expect(job).toMatchObject({ subject_type: 'job', subject: '42', events: ['job:succeed', 'job:fail'], name: null, secret: null, is_active: true });
      const wrong = await api('POST', '/v1/hooks', t.adminToken, {
        subject_type: 'image_repo',
        subject: 'ns/img',
        events: ['build:complete'],
        url: 'https://example.com/i',
      });
      expectV1Error(wrong, 400, 'invalid_args');
      expect(wrong.body).toMatchObject({ errors: [{ field: 'events' }] });
      expectV1Error(
        await api('POST', '/v1/hooks', t.adminToken, { subject_type: 'job', subject: '1', events: [], url: 'https://example.com/j' }),
        400,
        'invalid_args',
      );
    });

    it('requires subject_type, subject, events and url (absolute http/https)', async () => {
      for (const field of ['subject_type', 'subject', 'events', 'url'] as const) {
        const { [field]: _omitted, ...body } = SEED_CREATE;
        const answer = await api('POST', '/v1/hooks', t.adminToken, body);
        expectV1Error(answer, 400, 'invalid_args');
        expect(answer.body).toEqual({ errors: [{ code: 'invalid_args', message: `${field} is missing`, field }] });
      }
      for (const url of ['/relative', 'ftp://example.com/x', 'not a url', '']) {
        const answer = await api('POST', '/v1/hooks', t.adminToken, { ...SEED_CREATE, url });
        expectV1Error(answer, 400, 'invalid_args');
        expect(answer.body).toMatchObject({ errors: [{ field: 'url' }] });
      }
      const subject = await api('POST', '/v1/hooks', t.adminToken, { ...SEED_CREATE, subject: 'no-slash' });
      expect(subject.body).toMatchObject({ errors: [{ code: 'invalid_args', field: 'subject' }] });
    });

    it('takes is_active on create and creates inactive hooks when asked', async () => {
      expect((await create(t.adminToken, { ...SEED_CREATE, is_active: false })).is_active).toBe(false);
    });

    it('lists ordered by id with subject_type and subject combined by AND', async () => {
      const a = await create(t.adminToken, { ...SEED_CREATE, subject: 'filter/one' });
      const b = await create(t.adminToken, { ...SEED_CREATE, subject: 'filter/two' });
      const c = await create(t.adminToken, { subject_type: 'image_repo', subject: 'filter/one', events: ['image:push'], url: 'https://example.com/c' });
      const ids = async (query: string) => ((await api('GET', `/v1/hooks${query}`, t.adminToken)).body as V1Hook[]).map((hook) => hook.id);
      expect(await ids('?subject=filter/one')).toEqual([a.id, c.id]);
      expect(await ids('?subject_type=build_repo&subject=filter/one')).toEqual([a.id]);
      expect(await ids('?subject_type=image_repo&subject=filter/two')).toEqual([]);
      const all = await ids('');
      expect(all).toEqual([...all].sort((x, y) => x - y));
      expect(all).toEqual(expect.arrayContaining([a.id, b.id, c.id]));
      expectV1Error(await api('GET', '/v1/hooks?subject_type=repo', t.adminToken), 400, 'invalid_args');
      expect((await api('GET', '/v1/hooks?subject=%00', t.adminToken)).body).toEqual([]);
    });

    it('updates partially; subject and subject_type cannot change (400)', async () => {
      const hook = await create(t.adminToken, { ...SEED_CREATE, subject: 'part/ial' });
      const renamed = await api('PUT', `/v1/hooks/${hook.id}`, t.adminToken, { name: 'renamed' });
      expect(renamed.body).toMatchObject({ ...hook, name: 'renamed', updated_at: expect.any(String) });
      const same = await api('PUT', `/v1/hooks/${hook.id}`, t.adminToken, { subject: 'part/ial', subject_type: 'build_repo' });
      expect(same.status).toBe(200);
      for (const change of [{ subject: 'other/one' }, { subject_type: 'image_repo' }]) {
        const answer = await api('PUT', `/v1/hooks/${hook.id}`, t.adminToken, change);
        expectV1Error(answer, 400, 'invalid_args');
        expect(answer.body).toMatchObject({ errors: [{ field: Object.keys(change)[0] }] });
      }
      const bad = await api('PUT', `/v1/hooks/${hook.id}`, t.adminToken, { events: ['image:push'] });
      expectV1Error(bad, 400, 'invalid_args');
      const cleared = await api('PUT', `/v1/hooks/${hook.id}`, t.adminToken, { secret: null, is_active: false });
      expect(cleared.body).toMatchObject({ secret: null, is_active: false });
    });

    it('accepts unicode names and ignores unknown fields', async () => {
      const hook = await create(t.adminToken, { ...SEED_CREATE, name: '构建钩子 🚀', color: 'blue', id: 'abc' });
      expect(hook.name).toBe('构建钩子 🚀');
      expect(hook).not.toHaveProperty('color');
      expectV1Error(await api('POST', '/v1/hooks', t.adminToken, { ...SEED_CREATE, name: 'nul\u0000byte' }), 400, 'invalid_args');
    });
  });

  describe('errors', () => {
    it('answers 400 invalid_args for malformed JSON, non-object bodies and wrong types', async () => {
      let hook = await create(t.adminToken, SEED_CREATE);
      for (const body of ['{"subject_type":', '[1,2]', '"text"', 'null', '42']) {
        expectV1Error(
          await call(t.url, 'POST', '/v1/hooks', { headers: { ...as(t.adminToken), 'content-type': 'application/json' }, body }),
          400,
          'invalid_args',
        );
        expectV1Error(
          await call(t.url, 'PUT', `/v1/hooks/${hook.id}`, { headers: { ...as(t.adminToken), 'content-type': 'application/json' }, body }),
          400,
          'invalid_args',
        );
      }
      const wrongTypes: Array<[string, unknown]> = [
        ['events', 'build:complete'],
        ['events', [1]],
        ['is_active', 'yes'],
        ['url', 7],
        ['subject', { a: 1 }],
        ['name', []],
        ['subject_type', 'repo'],
      ];
      for (const [field, value] of wrongTypes) {
        const answer = await api('POST', '/v1/hooks', t.adminToken, { ...SEED_CREATE, [field]: value });
        expectV1Error(answer, 400, 'invalid_args');
        expect(answer.body).toMatchObject({ errors: [{ field }] });
      }
      hook = (await api('PUT', `/v1/hooks/${hook.id}`, t.adminToken, { is_active: 'yes' })).body as V1Hook;
      expect(hook).toMatchObject({ errors: [{ code: 'invalid_args', field: 'is_active' }] });
    });

    it('answers 404 resource_not_exist for unknown, malformed, huge and negative ids', async () => {
      for (const id of ['999999', 'abc', '0', '-1', '99999999999999999999', '1.5', '2147483648']) {
        for (const method of ['GET', 'PUT', 'DELETE']) {
          expectV1Error(await api(method, `/v1/hooks/${id}`, t.adminToken, method === 'PUT' ? { name: 'x' } : undefined), 404, 'resource_not_exist');
        }
      }
    });

    it('answers 413 for bodies over 1 MiB', async () => {
      const answer = await api('POST', '/v1/hooks', t.adminToken, { ...SEED_CREATE, name: 'x'.repeat(1024 * 1024) });
      expectV1Error(answer, 413, 'request_too_large');
    });

    it('answers 405 for other methods', async () => {
      const answer = await api('PATCH', '/v1/hooks', t.adminToken);
      expect(answer.status).toBe(405);
      expect(answer.headers.get('allow')).toBe('GET, POST');
      expectV1Error(await api('POST', '/v1/hooks/1', t.adminToken), 405, 'method_not_allowed');
    });
  });

  describe('authorization', () => {
    const routes = (id: number): Array<[string, string, unknown]> => [
      ['GET', '/v1/hooks', undefined],
      ['POST', '/v1/hooks', SEED_CREATE],
      ['GET', `/v1/hooks/${id}`, undefined],
      ['PUT', `/v1/hooks/${id}`, { name: 'x' }],
      ['DELETE', `/v1/hooks/${id}`, undefined],
      ['POST', '/v1/events', { event: 'build:complete', subject_type: 'build_repo', subject: 'a/b', payload: {} }],
    ];

    it('answers 401 unauthorized on every route without a token or with a bad one', async () => {
      const hook = await create(t.adminToken, SEED_CREATE);
      for (const [method, path, body] of routes(hook.id)) {
        const variants: Array<Record<string, string>> = [
          {},
          { authorization: 'Token wrong-token' },
          { authorization: `Basic ${t.adminToken}` },
          { authorization: 'Token' },
          { 'private-token': t.adminToken },
        ];
        for (const headers of variants) {
          expectV1Error(await call(t.url, method, path, { headers, body }), 401, 'unauthorized');
        }
      }
    });

    it('accepts `Token` and `Bearer`', async () => {
      expect((await call(t.url, 'GET', '/v1/hooks', { headers: { authorization: `Bearer ${alice}` } })).status).toBe(200);
      expect((await call(t.url, 'GET', '/v1/hooks', { headers: { authorization: `token ${alice}` } })).status).toBe(200);
    });

    it("lets a user manage hooks in their own namespace, and hides everyone else's (404)", async () => {
      const own = await create(alice, { ...SEED_CREATE, subject: 'alice/app' });
      expect(own.created_by).toBe('alice');
      const bobs = await create(bob, { ...SEED_CREATE, subject: 'bob/app' });
      const job = await create(alice, { subject_type: 'job', subject: 'alice/7', events: ['job:fail'], url: 'https://example.com/j' });

      const listed = ((await api('GET', '/v1/hooks', alice)).body as V1Hook[]).map((hook) => hook.id);
      expect(listed).toEqual([own.id, job.id]);
      for (const [method, path, body] of routes(bobs.id).slice(2, 5)) expectV1Error(await api(method, path, alice, body), 404, 'resource_not_exist');
      expect((await api('GET', `/v1/hooks/${bobs.id}`, bob)).status).toBe(200);
      expect((await api('PUT', `/v1/hooks/${own.id}`, alice, { name: 'mine' })).status).toBe(200);
      // Alice's job hook is in her namespace, so Bob cannot see it.
      expectV1Error(await api('GET', `/v1/hooks/${job.id}`, bob), 404, 'resource_not_exist');

      const foreign = await api('POST', '/v1/hooks', alice, { ...SEED_CREATE, subject: 'bob/other' });
      expectV1Error(foreign, 403, 'permission_denied');
      // A bare job id belongs to no namespace: admins only.
      expectV1Error(
        await api('POST', '/v1/hooks', alice, { subject_type: 'job', subject: '7', events: ['job:fail'], url: 'https://example.com/j' }),
        403,
        'permission_denied',
      );
      expect((await api('DELETE', `/v1/hooks/${own.id}`, alice)).status).toBe(204);
    });

    it('does not show system hooks in /v1', async () => {
      const system = await t.app.services.hooks.create(t.admin, { kind: 'SYSTEM', url: 'https://example.com/system' });
      expectV1Error(await api('GET', `/v1/hooks/${system.id}`, t.adminToken), 404, 'resource_not_exist');
      expect(((await api('GET', '/v1/hooks', t.adminToken)).body as V1Hook[]).map((hook) => hook.id)).not.toContain(system.id);
    });
  });
});
