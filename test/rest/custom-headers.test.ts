// Custom headers (both backends, a real receiver): the GitLab routes with every error of the
// contract, `custom_headers` on POST/PUT /hooks, the GraphQL mutations, and what deliveries send
// and the delivery log stores.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, type Receiver, startReceiver } from '../delivery/receiver';
import { backends, graphql, startTestApp, type TestApp } from '../helpers';
import { type Answer, call, isSystemErrorBody } from './helpers';

const ILLEGAL = { error: 'Illegal key or value' };
const RESERVED = [
  'Content-Type',
  'content-length',
  'Host',
  'User-Agent',
  'Connection',
  'Transfer-Encoding',
  'webhook-id',
  'Webhook-Signature',
  'X-Gitlab-Token',
  'x-gitlab-event',
  'X-Hookgate-Event',
];
const SET = `mutation($input: SetCustomHeaderInput!) { setCustomHeader(input: $input) { hook { customHeaders { key } } userErrors { field message code } } }`;
const DELETE = `mutation($input: DeleteCustomHeaderInput!) { deleteCustomHeader(input: $input) { hook { customHeaders { key } } userErrors { field message code } } }`;

function expectError(answer: Answer, status: number, body: unknown): void {
  expect(answer.status, answer.text).toBe(status);
  expect(isSystemErrorBody(answer.body), answer.text).toBe(true);
  expect(answer.body).toEqual(body);
}

describe.each(backends)('custom headers (%s)', (backend) => {
  let t: TestApp;
  let r: Receiver;
  const api = (method: string, path: string, body?: unknown) => call(t.url, method, path, { headers: { 'private-token': t.adminToken }, body });
  const createSystemHook = async (body: Record<string, unknown> = {}) => {
    const answer = await api('POST', '/api/v4/hooks', { url: `${r.url}/sys`, ...body });
    expect(answer.status, answer.text).toBe(201);
    return answer.body as { id: number; custom_headers: { key: string }[] };
  };

  beforeAll(async () => {
    t = await startTestApp(backend);
    r = await startReceiver();
  });
  afterAll(async () => {
    await t?.close();
    await r?.close();
  });

  it('PUT sets, deliveries send, the hook lists keys only, the log redacts values, DELETE removes', async () => {
    const hook = await createSystemHook({ url: `${r.url}/sent` });
    for (const prefix of ['/api/v4/hooks', '/hooks']) {
      const set = await api('PUT', `${prefix}/${hook.id}/custom_headers/X-Team`, { value: 'platform-secret-value' });
      expect(set.status, set.text).toBe(204);
      expect(set.text).toBe('');
    }
    // Keys are case-insensitive: this replaces the value and keeps the first spelling.
    expect((await api('PUT', `/hooks/${hook.id}/custom_headers/x-team?value=${encodeURIComponent('second-value')}`)).status).toBe(204);
    expect((await api('PUT', `/hooks/${hook.id}/custom_headers/Authorization`, { value: 'Bearer receiver-token' })).status).toBe(204);
    const detail = await api('GET', `/api/v4/hooks/${hook.id}`);
    expect((detail.body as Record<string, unknown>).custom_headers).toEqual([{ key: 'Authorization' }, { key: 'X-Team' }]);
    expect(detail.text).not.toContain('second-value');
    expect(detail.text).not.toContain('receiver-token');

    expect((await api('POST', `/api/v4/hooks/${hook.id}`, {})).status).toBe(201);
    const request = await eventually(async () => r.requests.find((q) => q.path === '/sent'), 10_000, 'the test delivery');
    expect(request.headers['x-team']).toBe('second-value');
    expect(request.headers.authorization).toBe('Bearer receiver-token');
    const attempt = await eventually(
      () => t.app.db.prisma.deliveryAttempt.findFirst({ where: { delivery: { hookId: hook.id } } }),
      10_000,
      'the stored attempt',
    );
    expect(attempt.requestHeaders).toMatchObject({ 'x-team': '[redacted]', authorization: '[redacted]' });
    expect(JSON.stringify(attempt.requestHeaders)).not.toContain('second-value');

    expect((await api('DELETE', `/api/v4/hooks/${hook.id}/custom_headers/X-TEAM`, {})).status).toBe(204);
    expectError(await api('DELETE', `/api/v4/hooks/${hook.id}/custom_headers/X-Team`, {}), 404, { message: '404 Custom Header Not Found' });
    const after = await api('GET', `/hooks/${hook.id}`);
    expect((after.body as Record<string, unknown>).custom_headers).toEqual([{ key: 'Authorization' }]);
  });

  it('every error of the routes: unknown hook, missing value, bad or reserved key, bad value, a 21st header', async () => {
    const hook = await createSystemHook();
    const put = (key: string, body?: unknown) => api('PUT', `/api/v4/hooks/${hook.id}/custom_headers/${encodeURIComponent(key)}`, body);
    expectError(await api('PUT', '/api/v4/hooks/999999/custom_headers/X-A', { value: 'v' }), 404, { message: '404 Not found' });
    expectError(await api('DELETE', '/api/v4/hooks/999999/custom_headers/X-A', {}), 404, { message: '404 Not found' });
    expectError(await api('PUT', '/api/v4/hooks/abc/custom_headers/X-A', { value: 'v' }), 404, { message: '404 Not found' });
    expectError(await put('X-A', {}), 400, { error: 'value is missing' });
    for (const key of ['bad key', 'bad:key', 'x'.repeat(65), 'ключ', '(x)', ...RESERVED, 'webhook-anything', 'X-Gitlab-Anything', 'x-hookgate-x']) {
      expectError(await put(key, { value: 'v' }), 422, ILLEGAL);
    }
    for (const value of ['', 'x'.repeat(2049), 'tab\there', 'new\nline', 'ünïcode', '\u0000']) {
      expectError(await put('X-A', { value }), 422, ILLEGAL);
    }
    expect((await put('X-A', { value: 'x'.repeat(2048) })).status).toBe(204);
    expect((await put("!#$%&'*+.^_`|~-09azAZ", { value: ' printable ~ ' })).status).toBe(204);
    for (let index = 3; index <= 20; index++) expect((await put(`X-H${index}`, { value: 'v' })).status).toBe(204);
    expectError(await put('X-H21', { value: 'v' }), 422, ILLEGAL);
    // Replacing one of the 20 is still allowed.
    expect((await put('x-h20', { value: 'w' })).status).toBe(204);
    // A key that could never be set is not set.
    expectError(await api('DELETE', `/api/v4/hooks/${hook.id}/custom_headers/${encodeURIComponent('bad key')}`, {}), 404, {
      message: '404 Custom Header Not Found',
    });
  });

  it('POST and PUT /hooks accept custom_headers, merged by key on PUT', async () => {
    const hook = await createSystemHook({
      custom_headers: [
        { key: 'X-One', value: '1' },
        { key: 'X-Two', value: '2' },
      ],
    });
    expect(hook.custom_headers).toEqual([{ key: 'X-One' }, { key: 'X-Two' }]);
    const updated = await api('PUT', `/api/v4/hooks/${hook.id}`, {
      custom_headers: [
        { key: 'x-two', value: 'two' },
        { key: 'X-Three', value: '3' },
      ],
    });
    expect(updated.status, updated.text).toBe(200);
    expect((updated.body as Record<string, unknown>).custom_headers).toEqual([{ key: 'X-One' }, { key: 'X-Three' }, { key: 'X-Two' }]);
    const stored = await t.app.db.prisma.customHeader.findMany({ where: { hookId: hook.id }, orderBy: { key: 'asc' } });
    expect(stored.map(({ key, value }) => [key, value])).toEqual([
      ['X-One', '1'],
      ['X-Three', '3'],
      ['X-Two', 'two'],
    ]);

    const reserved = await api('PUT', `/api/v4/hooks/${hook.id}`, { custom_headers: [{ key: 'Host', value: 'evil' }] });
    expect(reserved.status).toBe(422);
    expect(reserved.body).toEqual({ message: { custom_headers: ['"Host" is a header Hookgate sets itself'] } });
    const tooMany = Array.from({ length: 18 }, (_, index) => ({ key: `X-N${index}`, value: 'v' }));
    expectError(await api('PUT', `/api/v4/hooks/${hook.id}`, { custom_headers: tooMany }), 422, {
      message: { custom_headers: ['a hook can have at most 20 custom headers'] },
    });
    for (const bad of ['X-One', [{ key: 'X-One' }], [{ key: 1, value: 'v' }], { key: 'X', value: 'v' }]) {
      expectError(await api('PUT', `/api/v4/hooks/${hook.id}`, { custom_headers: bad }), 400, { error: 'custom_headers is invalid' });
    }
    const unchanged = await api('GET', `/api/v4/hooks/${hook.id}`);
    expect((unchanged.body as Record<string, unknown>).custom_headers).toEqual([{ key: 'X-One' }, { key: 'X-Three' }, { key: 'X-Two' }]);
  });

  it('GraphQL: createHook customHeaders, setCustomHeader, deleteCustomHeader on a subject hook; errors as user errors', async () => {
    const created = await graphql(
      t.url,
      `mutation($input: CreateHookInput!) { createHook(input: $input) { hook { id customHeaders { key } } userErrors { field message } } }`,
      {
        input: {
          kind: 'SUBJECT',
          subjectType: 'BUILD_REPO',
          subject: 'ch/repo',
          events: ['build:complete'],
          url: `${r.url}/subject`,
          customHeaders: [{ key: 'X-Env', value: 'prod' }],
        },
      },
    );
    expect(created.data?.createHook.userErrors).toEqual([]);
    const id = created.data!.createHook.hook.id as string;
    expect(created.data?.createHook.hook.customHeaders).toEqual([{ key: 'X-Env' }]);
    const set = await graphql(t.url, SET, { input: { hookId: id, key: 'X-Api-Key', value: 'k-123' } });
    expect(set.data?.setCustomHeader).toEqual({ hook: { customHeaders: [{ key: 'X-Api-Key' }, { key: 'X-Env' }] }, userErrors: [] });

    await t.app.services.deliveries.publish(t.admin, { event: 'build:complete', subjectType: 'BUILD_REPO', subject: 'ch/repo', payload: {} });
    const request = await eventually(async () => r.requests.find((q) => q.path === '/subject'), 10_000, 'the subject hook delivery');
    expect(request.headers).toMatchObject({ 'x-env': 'prod', 'x-api-key': 'k-123', 'x-hookgate-event': 'build:complete' });

    const reserved = await graphql(t.url, SET, { input: { hookId: id, key: 'X-Hookgate-Event', value: 'spoof' } });
    expect(reserved.data?.setCustomHeader).toEqual({
      hook: null,
      userErrors: [{ field: ['input', 'key'], message: 'is a header Hookgate sets itself', code: 'VALIDATION_FAILED' }],
    });
    const badValue = await graphql(t.url, SET, { input: { hookId: id, key: 'X-Ok', value: '' } });
    expect(badValue.data?.setCustomHeader.userErrors).toMatchObject([{ field: ['input', 'value'], code: 'VALIDATION_FAILED' }]);
    const deleted = await graphql(t.url, DELETE, { input: { hookId: id, key: 'x-env' } });
    expect(deleted.data?.deleteCustomHeader).toEqual({ hook: { customHeaders: [{ key: 'X-Api-Key' }] }, userErrors: [] });
    const missing = await graphql(t.url, DELETE, { input: { hookId: id, key: 'x-env' } });
    expect(missing.data?.deleteCustomHeader.userErrors).toMatchObject([{ field: ['input', 'key'], code: 'NOT_FOUND' }]);
  });
});
