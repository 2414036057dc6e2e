// GitLab system hooks (`/api/v4/hooks` and `/hooks`): the seed's examples replayed, every rule of the
// spec (pagination, url variables, parameters from query, form or JSON), errors and authorization.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends, createUser, startTestApp, type TestApp } from '../helpers';
import { type Answer, call, ISO_MS_UTC, isSystemErrorBody, shape } from './helpers';

// The seed's hook (004_*.txt), as documented, then the four fields the spec adds after it.
const DOCUMENTED_HOOK = {
  id: 1,
  url: 'https://gitlab.example.com/hook',
  name: 'Hook name',
  description: 'Hook description',
  created_at: '2016-10-31T12:32:15.192Z',
  push_events: true,
  tag_push_events: false,
  merge_requests_events: true,
  repository_update_events: true,
  enable_ssl_verification: true,
  url_variables: [],
};
const SPEC_EXTRA_KEYS = [
  'push_events_branch_filter',
  'branch_filter_strategy',
  'alert_status',
  'disabled_until',
  'custom_headers',
  'token_present',
  'signing_token_present',
];

interface SystemHook {
  id: number;
  url: string;
  name: string | null;
  url_variables: Array<{ key: string }>;
  [key: string]: unknown;
}

function expectSystemError(answer: Answer, status: number, body: unknown): void {
  expect(answer.status, answer.text).toBe(status);
  expect(answer.headers.get('content-type')).toBe('application/json');
  expect(isSystemErrorBody(answer.body), answer.text).toBe(true);
  expect(answer.body).toEqual(body);
}

const NOT_FOUND = { message: '404 Not found' };

describe.each(backends)('system hooks on %s', (backend) => {
  let t: TestApp;
  let userToken: string;
  const admin = () => ({ 'private-token': t.adminToken });
  const api = (method: string, path: string, body?: unknown, headers: Record<string, string> = admin()): Promise<Answer> =>
    call(t.url, method, path, { headers, body });
  const create = async (body: Record<string, unknown>): Promise<SystemHook> => {
    const answer = await api('POST', '/api/v4/hooks', body);
    expect(answer.status, answer.text).toBe(201);
    return answer.body as SystemHook;
  };

  beforeAll(async () => {
    t = await startTestApp(backend);
    userToken = (await createUser(t.app, 'alice')).token;
  });
  afterAll(async () => {
    await t.close();
  });

  describe('the seed examples', () => {
    it('POST /hooks?url=… (curl, parameters in the query) answers 201 with the hook object and GitLab defaults', async () => {
      const answer = await api('POST', `/api/v4/hooks?url=${encodeURIComponent('https://gitlab.example.com/hook')}`);
      expect(answer.status).toBe(201);
      const hook = answer.body as SystemHook;
      expect(Array.isArray(hook)).toBe(false);
      expect(Object.keys(hook)).toEqual([...Object.keys(DOCUMENTED_HOOK), ...SPEC_EXTRA_KEYS]);
      expect(hook).toMatchObject({
        url: 'https://gitlab.example.com/hook',
        name: null,
        description: null,
        push_events: false,
        tag_push_events: false,
        merge_requests_events: false,
        repository_update_events: true,
        enable_ssl_verification: true,
        url_variables: [],
        push_events_branch_filter: null,
        branch_filter_strategy: 'wildcard',
        alert_status: 'executable',
        disabled_until: null,
      });
      expect(hook.created_at).toMatch(ISO_MS_UTC);
      expect(hook).not.toHaveProperty('token');
    });

    it('GET /hooks and GET /hooks/:id answer 200 with the documented fields, order and types', async () => {
      const created = await create({
        url: DOCUMENTED_HOOK.url,
        name: 'Hook name',
        description: 'Hook description',
        push_events: true,
        merge_requests_events: true,
        token: 'secret-token',
      });
      const list = await api('GET', '/api/v4/hooks');
      expect(list.status).toBe(200);
      const listed = list.body as SystemHook[];
      for (const hook of listed) expect(Object.keys(hook)).toEqual([...Object.keys(DOCUMENTED_HOOK), ...SPEC_EXTRA_KEYS]);
      expect(shape(listed.find((hook) => hook.id === created.id)).slice(0, 11)).toEqual(shape(DOCUMENTED_HOOK));
      const detail = await api('GET', `/api/v4/hooks/${created.id}`);
      expect(detail.status).toBe(200);
      expect(shape(detail.body).slice(0, 11)).toEqual(shape(DOCUMENTED_HOOK));
      expect(detail.body).toEqual(created);
      expect(detail.body).toMatchObject({ ...DOCUMENTED_HOOK, id: created.id, created_at: expect.stringMatching(ISO_MS_UTC) });
      expect(detail.text).not.toContain('secret-token');
    });

    it('PUT /hooks/:hook_id answers 200 with a partial update; DELETE /hooks/:id answers 204', async () => {
      const hook = await create({ url: 'https://example.com/put', push_events: true });
      const updated = await api('PUT', `/api/v4/hooks/${hook.id}`, { tag_push_events: true, token: 'new-token', url: 'https://example.com/put2' });
      expect(updated.status).toBe(200);
      expect(updated.body).toEqual({ ...hook, url: 'https://example.com/put2', tag_push_events: true, token_present: true });
      const removed = await api('DELETE', `/api/v4/hooks/${hook.id}`, {});
      expect(removed.status).toBe(204);
      expect(removed.text).toBe('');
      expectSystemError(await api('GET', `/api/v4/hooks/${hook.id}`), 404, NOT_FOUND);
    });

    it('serves the same handlers under /hooks and /api/v4/hooks', async () => {
      const hook = await create({ url: 'https://example.com/both' });
      expect((await api('GET', `/hooks/${hook.id}`)).body).toEqual(hook);
      expect((await api('PUT', `/hooks/${hook.id}`, { name: 'short path' })).body).toMatchObject({ name: 'short path' });
      expect((await api('DELETE', `/hooks/${hook.id}`)).status).toBe(204);
    });

    it('PUT and DELETE /hooks/:hook_id/url_variables/:key answer 204 and expose keys only', async () => {
      const hook = await create({ url: 'https://example.com/{token}/x' });
      expect((await api('PUT', `/api/v4/hooks/${hook.id}/url_variables/token`, { value: 'top-secret-value' })).status).toBe(204);
      expect((await api('PUT', `/hooks/${hook.id}/url_variables/other.key-1?value=query-value`)).status).toBe(204);
      const form = await call(t.url, 'PUT', `/hooks/${hook.id}/url_variables/third`, {
        headers: { ...admin(), 'content-type': 'application/x-www-form-urlencoded' },
        body: 'value=form-value',
      });
      expect(form.status).toBe(204);
      expect(form.text).toBe('');
      const shown = await api('GET', `/api/v4/hooks/${hook.id}`);
      expect((shown.body as SystemHook).url_variables).toEqual([{ key: 'other.key-1' }, { key: 'third' }, { key: 'token' }]);
      expect(shown.text).not.toContain('value');
      const removed = await api('DELETE', `/api/v4/hooks/${hook.id}/url_variables/token`);
      expect(removed.status).toBe(204);
      expect(removed.text).toBe('');
      expectSystemError(await api('DELETE', `/api/v4/hooks/${hook.id}/url_variables/token`), 404, { message: '404 URL variable Not Found' });
    });
  });

  describe('parameters', () => {
    it("reads query strings, form fields and JSON alike, with GitLab's boolean spellings", async () => {
      const fromForm = await call(t.url, 'POST', '/hooks', {
        headers: { ...admin(), 'content-type': 'application/x-www-form-urlencoded' },
        body: 'url=https%3A%2F%2Fexample.com%2Fform&push_events=true&repository_update_events=0&name=%E9%92%A9%E5%AD%90',
      });
      expect(fromForm.status).toBe(201);
      expect(fromForm.body).toMatchObject({ url: 'https://example.com/form', push_events: true, repository_update_events: false, name: '钩子' });
      const fromQuery = await api(
        'POST',
        '/hooks?url=https://example.com/q&tag_push_events=yes&enable_ssl_verification=false&branch_filter_strategy=regex&push_events_branch_filter=%5Emain%24',
      );
      expect(fromQuery.body).toMatchObject({
        tag_push_events: true,
        enable_ssl_verification: false,
        branch_filter_strategy: 'regex',
        push_events_branch_filter: '^main$',
      });
      // `curl -d '{…}'` sends JSON labelled as a form.
      const mislabelled = await call(t.url, 'POST', '/hooks', {
        headers: { ...admin(), 'content-type': 'application/x-www-form-urlencoded' },
        body: '{"url":"https://example.com/curl"}',
      });
      expect(mislabelled.status).toBe(201);
      const jsonOverQuery = await api('POST', '/hooks?url=https://example.com/query', { url: 'https://example.com/body' });
      expect(jsonOverQuery.body).toMatchObject({ url: 'https://example.com/body' });
    });

    it('choosing all_branches clears the branch filter; token is accepted and never returned', async () => {
      const hook = await create({ url: 'https://example.com/f', push_events_branch_filter: 'release/*', token: 'tok' });
      expect(hook.push_events_branch_filter).toBe('release/*');
      const updated = await api('PUT', `/hooks/${hook.id}`, { branch_filter_strategy: 'all_branches' });
      expect(updated.body).toMatchObject({ branch_filter_strategy: 'all_branches', push_events_branch_filter: null });
      expect(updated.text).not.toContain('tok"');
    });
  });

  describe('pagination', () => {
    it('pages as GitLab does, with X-* and Link headers that clients can follow', async () => {
      const fresh = await startTestApp(backend);
      try {
        const ids: number[] = [];
        for (let i = 0; i < 5; i += 1) {
          const answer = await call(fresh.url, 'POST', '/api/v4/hooks', {
            headers: { 'private-token': fresh.adminToken },
            body: { url: `https://example.com/p${i}` },
          });
          ids.push((answer.body as SystemHook).id);
        }
        const get = (query: string) => call(fresh.url, 'GET', `/api/v4/hooks${query}`, { headers: { 'private-token': fresh.adminToken } });

        const first = await get('?per_page=2');
        expect((first.body as SystemHook[]).map((hook) => hook.id)).toEqual(ids.slice(0, 2));
        const header = (answer: Answer, name: string) => answer.headers.get(name);
        expect([
          header(first, 'x-total'),
          header(first, 'x-total-pages'),
          header(first, 'x-per-page'),
          header(first, 'x-page'),
          header(first, 'x-next-page'),
          header(first, 'x-prev-page'),
        ]).toEqual(['5', '3', '2', '1', '2', '']);
        const base = `${fresh.url}/api/v4/hooks`;
        expect(header(first, 'link')).toBe(
          `<${base}?per_page=2&page=2>; rel="next", <${base}?per_page=2&page=1>; rel="first", <${base}?per_page=2&page=3>; rel="last"`,
        );

        const middle = await get('?page=2&per_page=2');
        expect((middle.body as SystemHook[]).map((hook) => hook.id)).toEqual(ids.slice(2, 4));
        expect([header(middle, 'x-next-page'), header(middle, 'x-prev-page')]).toEqual(['3', '1']);
        expect(header(middle, 'link')).toContain(`<${base}?page=1&per_page=2>; rel="prev"`);

        const last = await get('?page=3&per_page=2');
        expect((last.body as SystemHook[]).map((hook) => hook.id)).toEqual(ids.slice(4));
        expect([header(last, 'x-next-page'), header(last, 'x-prev-page')]).toEqual(['', '2']);
        expect(header(last, 'link')).not.toContain('rel="next"');

        // Following `next` links from the first page collects every hook exactly once.
        const followed: number[] = [];
        let next: string | null = `${base}?per_page=2`;
        while (next) {
          const response: Response = await fetch(next, { headers: { 'private-token': fresh.adminToken } });
          followed.push(...((await response.json()) as SystemHook[]).map((hook) => hook.id));
          next = /<([^>]+)>; rel="next"/.exec(response.headers.get('link') ?? '')?.[1] ?? null;
        }
        expect(followed).toEqual(ids);

        const defaults = await get('');
        expect([header(defaults, 'x-per-page'), header(defaults, 'x-page'), header(defaults, 'x-total-pages')]).toEqual(['20', '1', '1']);
        expect((await get('?per_page=1000')).headers.get('x-per-page')).toBe('100');
        const beyond = await get('?page=9');
        expect(beyond.body).toEqual([]);
        expect([header(beyond, 'x-next-page'), header(beyond, 'x-prev-page')]).toEqual(['', '']);
        expectSystemError(await get('?page=abc'), 400, { error: 'page is invalid' });
      } finally {
        await fresh.close();
      }
    });
  });

  describe('errors', () => {
    it('answers 400 for a missing url, an empty PUT, and wrong types', async () => {
      expectSystemError(await api('POST', '/api/v4/hooks', {}), 400, { error: 'url is missing' });
      expectSystemError(await api('POST', '/api/v4/hooks'), 400, { error: 'url is missing' });
      const hook = await create({ url: 'https://example.com/e' });
      expectSystemError(await api('PUT', `/api/v4/hooks/${hook.id}`), 400, { error: 'No parameters provided' });
      expectSystemError(await api('PUT', `/api/v4/hooks/${hook.id}`, {}), 400, { error: 'No parameters provided' });
      expectSystemError(await api('PUT', `/api/v4/hooks/${hook.id}`, { unknown: 1 }), 400, { error: 'No parameters provided' });
      expectSystemError(await api('PUT', `/api/v4/hooks/${hook.id}`, { push_events: 'maybe' }), 400, { error: 'push_events is invalid' });
      expectSystemError(await api('POST', '/api/v4/hooks', { url: ['x'] }), 400, { error: 'url is invalid' });
      expectSystemError(await api('POST', '/api/v4/hooks', { url: 'https://example.com', enable_ssl_verification: {} }), 400, {
        error: 'enable_ssl_verification is invalid',
      });
    });

    it('answers 400 for malformed JSON and 413 for bodies over 1 MiB', async () => {
      const malformed = await call(t.url, 'POST', '/hooks', { headers: { ...admin(), 'content-type': 'application/json' }, body: '{"url":' });
      expect(malformed.status).toBe(400);
      expect(isSystemErrorBody(malformed.body)).toBe(true);
      const array = await call(t.url, 'POST', '/hooks', { headers: { ...admin(), 'content-type': 'application/json' }, body: '[]' });
      expect(array.status).toBe(400);
      expectSystemError(await api('POST', '/hooks', { url: `https://example.com/${'x'.repeat(1024 * 1024)}` }), 413, {
        message: '413 Request Entity Too Large',
      });
    });

    it('answers 422 with GitLab validation messages', async () => {
      expectSystemError(await api('POST', '/hooks', { url: 'ftp://example.com' }), 422, {
        message: { url: ['is blocked: Only allowed schemes are http, https'] },
      });
      const hook = await create({ url: 'https://example.com/v' });
      const bad = await api('PUT', `/hooks/${hook.id}`, { branch_filter_strategy: 'regex', push_events_branch_filter: '(unclosed' });
      expect(bad.status).toBe(422);
      expect(bad.body).toEqual({ message: { push_events_branch_filter: [expect.any(String)] } });
      const strategy = await api('PUT', `/hooks/${hook.id}`, { branch_filter_strategy: 'fancy' });
      expect(strategy.status).toBe(422);
      expect(Object.keys((strategy.body as { message: object }).message)).toEqual(['branch_filter_strategy']);
      expectSystemError(await api('PUT', `/hooks/${hook.id}`, { url: '' }), 422, { message: { url: ["can't be blank"] } });
    });

    it('refuses a token that cannot travel as the X-Gitlab-Token header (422), and keeps the stored one', async () => {
      const message = { message: { token: ['must be printable ASCII without leading or trailing spaces (it is sent as the X-Gitlab-Token header)'] } };
      for (const token of ['构建钩子 🚀', 'tab\there', 'line\nbreak', ' padded', 'padded ', 'caf\u00e9']) {
        expectSystemError(await api('POST', '/hooks', { url: 'https://example.com/t', token }), 422, message);
      }
      const hook = await create({ url: 'https://example.com/t', token: 'good token' });
      expectSystemError(await api('PUT', `/hooks/${hook.id}`, { token: '构建' }), 422, message);
      const stored = await t.app.db.prisma.hook.findUniqueOrThrow({ where: { id: hook.id } });
      expect(stored.secret).toBe('good token');
      // Clearing the token is always possible.
      expect((await api('PUT', `/hooks/${hook.id}`, { token: '' })).status).toBe(200);
    });

    it('answers 404 "404 Not found" for unknown, non-system, malformed, huge and negative ids on every route', async () => {
      const subject = await t.app.services.hooks.create(t.admin, {
        kind: 'SUBJECT',
        subjectType: 'JOB',
        subject: '1',
        events: ['job:fail'],
        url: 'https://example.com/s',
      });
      for (const id of ['999999', String(subject.id), 'abc', '0', '-1', '99999999999999999999', '2147483648']) {
        expectSystemError(await api('GET', `/api/v4/hooks/${id}`), 404, NOT_FOUND);
        expectSystemError(await api('PUT', `/api/v4/hooks/${id}`, { name: 'x' }), 404, NOT_FOUND);
        expectSystemError(await api('DELETE', `/hooks/${id}`, {}), 404, NOT_FOUND);
        expectSystemError(await api('POST', `/hooks/${id}`, {}), 404, NOT_FOUND);
        expectSystemError(await api('PUT', `/hooks/${id}/url_variables/key`, { value: 'v' }), 404, NOT_FOUND);
        expectSystemError(await api('DELETE', `/hooks/${id}/url_variables/key`), 404, NOT_FOUND);
      }
    });

    it('checks url variables: value required, legal keys and values, at most 20', async () => {
      const hook = await create({ url: 'https://example.com/vars' });
      const put = (key: string, body?: unknown) => api('PUT', `/hooks/${hook.id}/url_variables/${key}`, body);
      expectSystemError(await put('key'), 400, { error: 'value is missing' });
      expectSystemError(await put('key', {}), 400, { error: 'value is missing' });
      const illegal = { error: 'Illegal key or value' };
      for (const key of ['1abc', 'a..b', 'a%20b', 'a%00', `a${'b'.repeat(255)}`, '%E2%9C%93', 'bad%'])
        expectSystemError(await put(key, { value: 'v' }), 422, illegal);
      for (const value of ['', 'x'.repeat(2049), 'nul\u0000']) expectSystemError(await put('key', { value }), 422, illegal);
      expect((await put('key', { value: 'x'.repeat(2048) })).status).toBe(204);
      for (let i = 1; i < 20; i += 1) expect((await put(`key${i}`, { value: 'v' })).status).toBe(204);
      expectSystemError(await put('twentyfirst', { value: 'v' }), 422, illegal);
      expect((await put('key', { value: 'replaced' })).status).toBe(204);
    });

    it('answers 405 for other methods and 404 for unknown paths', async () => {
      expect((await api('PATCH', '/hooks')).status).toBe(405);
      expect((await api('GET', '/hooks/1/url_variables/x')).status).toBe(405);
      expectSystemError(await api('GET', '/hooks/1/other'), 404, { message: '404 Not Found' });
    });
  });

  describe('authorization', () => {
    const routes = (id: number): Array<[string, string, unknown]> => [
      ['GET', '/api/v4/hooks', undefined],
      ['POST', '/api/v4/hooks', { url: 'https://example.com/auth' }],
      ['GET', `/api/v4/hooks/${id}`, undefined],
      ['PUT', `/api/v4/hooks/${id}`, { name: 'x' }],
      ['DELETE', `/hooks/${id}`, {}],
      ['POST', `/hooks/${id}`, {}],
      ['PUT', `/hooks/${id}/url_variables/key`, { value: 'v' }],
      ['DELETE', `/hooks/${id}/url_variables/key`, undefined],
    ];

    it('answers 401 without a token or with a bad one, 403 to non-admins, on every route', async () => {
      const hook = await create({ url: 'https://example.com/authz' });
      for (const [method, path, body] of [...routes(hook.id), ...routes(999_999)]) {
        const unauthenticated: Array<Record<string, string>> = [
          {},
          { 'private-token': 'wrong' },
          { authorization: 'Bearer wrong' },
          { authorization: `Token ${t.adminToken}` },
        ];
        for (const headers of unauthenticated) expectSystemError(await api(method, path, body, headers), 401, { message: '401 Unauthorized' });
        const nonAdmin: Array<Record<string, string>> = [{ 'private-token': userToken }, { authorization: `Bearer ${userToken}` }];
        for (const headers of nonAdmin) {
          expectSystemError(await api(method, path, body, headers), 403, { message: '403 Forbidden' });
        }
      }
      // Nothing was changed by the refused requests.
      expect((await api('GET', `/hooks/${hook.id}`)).body).toEqual(hook);
    });

    it('accepts `Authorization: Bearer` from an admin', async () => {
      expect((await api('GET', '/hooks', undefined, { authorization: `Bearer ${t.adminToken}` })).status).toBe(200);
    });
  });
});
