// Property: whatever a client sends to any REST route — generated bodies, ids, query strings and
// headers — the answer is never a 500 (or any 5xx the route does not document), and every error is
// in that dialect's shape. At least 1,000 generated requests per route, per backend.
import fc from 'fast-check';
import { Pool } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends, createUser, startTestApp, type TestApp } from '../helpers';
import { isSystemErrorBody, isV1ErrorBody } from './helpers';

const RUNS = 20;
const BATCH = 50; // RUNS × BATCH = 1,000 requests per route
const V1_HOOK_KEYS = ['id', 'subject', 'subject_type', 'events', 'name', 'secret', 'url', 'is_active', 'created_by', 'created_at', 'updated_at'];
const SYSTEM_HOOK_KEYS = [
  'id',
  'url',
  'name',
  'description',
  'created_at',
  'push_events',
  'tag_push_events',
  'merge_requests_events',
  'repository_update_events',
  'enable_ssl_verification',
  'url_variables',
  'push_events_branch_filter',
  'branch_filter_strategy',
  'alert_status',
  'disabled_until',
  'custom_headers',
  'token_present',
  'signing_token_present',
];

type Dialect = 'v1' | 'system';

interface GeneratedRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: string | undefined;
}

interface Route {
  dialect: Dialect;
  method: string;
  /** Builds the path from a generated id (or key) segment and query string. */
  path: (id: string, key: string, query: string) => string;
  fields: readonly string[];
  /** Statuses a well-formed success may have, and the keys of a hook in the answer, if any. */
  success: number[];
  hookKeys?: string[];
}

const V1_FIELDS = ['subject_type', 'subject', 'events', 'url', 'name', 'secret', 'is_active', 'id', 'created_by', 'event', 'payload', 'ref'];
const SYSTEM_FIELDS = [
  'url',
  'name',
  'description',
  'token',
  'push_events',
  'tag_push_events',
  'merge_requests_events',
  'repository_update_events',
  'enable_ssl_verification',
  'push_events_branch_filter',
  'branch_filter_strategy',
  'value',
  'page',
  'per_page',
  'id',
  'signing_token',
  'custom_headers',
];

const systemPrefix = (id: string) => (id.length % 2 === 0 ? '/api/v4/hooks' : '/hooks');
const ROUTES: Route[] = [
  { dialect: 'v1', method: 'GET', path: (_id, _key, q) => `/v1/hooks${q}`, fields: ['subject_type', 'subject'], success: [200] },
  { dialect: 'system', method: 'GET', path: (id, _key, q) => `${systemPrefix(id)}${q}`, fields: ['page', 'per_page'], success: [200] },
  { dialect: 'v1', method: 'GET', path: (id, _key, q) => `/v1/hooks/${id}${q}`, fields: V1_FIELDS, success: [200], hookKeys: V1_HOOK_KEYS },
  { dialect: 'v1', method: 'PUT', path: (id) => `/v1/hooks/${id}`, fields: V1_FIELDS, success: [200], hookKeys: V1_HOOK_KEYS },
  { dialect: 'v1', method: 'POST', path: () => '/v1/hooks', fields: V1_FIELDS, success: [201], hookKeys: V1_HOOK_KEYS },
  { dialect: 'v1', method: 'POST', path: () => '/v1/events', fields: V1_FIELDS, success: [202] },
  {
    dialect: 'system',
    method: 'GET',
    path: (id, _key, q) => `${systemPrefix(id)}/${id}${q}`,
    fields: SYSTEM_FIELDS,
    success: [200],
    hookKeys: SYSTEM_HOOK_KEYS,
  },
  {
    dialect: 'system',
    method: 'PUT',
    path: (id, _key, q) => `${systemPrefix(id)}/${id}${q}`,
    fields: SYSTEM_FIELDS,
    success: [200],
    hookKeys: SYSTEM_HOOK_KEYS,
  },
  { dialect: 'system', method: 'POST', path: (id, _key, q) => `${systemPrefix(id)}${q}`, fields: SYSTEM_FIELDS, success: [201], hookKeys: SYSTEM_HOOK_KEYS },
  { dialect: 'system', method: 'POST', path: (id, _key, q) => `${systemPrefix(id)}/${id}${q}`, fields: SYSTEM_FIELDS, success: [201] },
  { dialect: 'system', method: 'PUT', path: (id, key, q) => `${systemPrefix(id)}/${id}/url_variables/${key}${q}`, fields: SYSTEM_FIELDS, success: [204] },
  { dialect: 'system', method: 'DELETE', path: (id, key, q) => `${systemPrefix(id)}/${id}/url_variables/${key}${q}`, fields: SYSTEM_FIELDS, success: [204] },
  { dialect: 'system', method: 'PUT', path: (id, key, q) => `${systemPrefix(id)}/${id}/custom_headers/${key}${q}`, fields: SYSTEM_FIELDS, success: [204] },
  { dialect: 'system', method: 'DELETE', path: (id, key, q) => `${systemPrefix(id)}/${id}/custom_headers/${key}${q}`, fields: SYSTEM_FIELDS, success: [204] },
  { dialect: 'v1', method: 'DELETE', path: (id) => `/v1/hooks/${id}`, fields: V1_FIELDS, success: [204] },
  { dialect: 'system', method: 'DELETE', path: (id, _key, q) => `${systemPrefix(id)}/${id}${q}`, fields: SYSTEM_FIELDS, success: [204] },
];

// ---- generators ----------------------------------------------------------------------------------

const printable = fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((code) => String.fromCharCode(code)), maxLength: 40 });
const anyText = fc.oneof(fc.string({ maxLength: 30 }), fc.string({ unit: 'grapheme', maxLength: 20 }), fc.string({ unit: 'binary', maxLength: 20 }));

/** Values that are plausible for some field, and values that are wrong in every way. */
const fieldValue = fc.oneof(
  fc.constantFrom(
    'build_repo',
    'image_repo',
    'job',
    'build:complete',
    'image:push',
    'job:succeed',
    'job:fail',
    'push',
    'project_create',
    // Loopback with nothing listening: hook tests fail fast and no request ever leaves the machine.
    'http://127.0.0.1:9/hook',
    'http://127.0.0.1:9/{key}',
    'ftp://x',
    'wildcard',
    'regex',
    'all_branches',
    '(a+)+$',
    'main',
    'yes',
    'true',
    'false',
    '0',
    '-1',
    'abc',
    'alice/app',
    'root/app',
    '42',
    '',
    '\u0000',
    '构建钩子 🚀',
    '\ud800',
  ),
  fc.constantFrom(['build:complete'], ['build:complete', 'build:complete'], ['job:fail', 'image:push'], [], [1], {}, { a: [1] }),
  // Signing keys and custom headers, valid and not.
  fc.constantFrom(
    `whsec_${Buffer.alloc(32, 7).toString('base64')}`,
    `whsk_${Buffer.alloc(32, 9).toString('base64')}`,
    'whsk_nope',
    'whsec_short',
    [{ key: 'X-Team', value: 'a' }],
    [{ key: 'Host', value: 'x' }],
    [{ key: 'X-A', value: '' }],
    [{ key: 1 }],
    [{ key: 'X-B', value: 'é' }],
  ),
  fc.boolean(),
  fc.integer(),
  fc.double(),
  fc.constant(null),
  anyText,
  fc.jsonValue({ maxDepth: 2 }),
);

const bodyObject = (fields: readonly string[]) => fc.dictionary(fc.oneof(fc.constantFrom(...fields), fc.string({ maxLength: 10 })), fieldValue, { maxKeys: 8 });

const body = (fields: readonly string[]): fc.Arbitrary<{ text: string | undefined; contentType: string | undefined }> =>
  fc.oneof(
    {
      weight: 5,
      arbitrary: fc.record({
        text: bodyObject(fields).map((object) => JSON.stringify(object)),
        contentType: fc.constantFrom('application/json', 'application/json; charset=utf-8', undefined, 'text/plain'),
      }),
    },
    {
      weight: 2,
      arbitrary: fc.record({
        text: bodyObject(fields).map((object) =>
          new URLSearchParams(Object.entries(object).map(([k, v]) => [k, typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v)])).toString(),
        ),
        contentType: fc.constantFrom('application/x-www-form-urlencoded', undefined),
      }),
    },
    { weight: 1, arbitrary: fc.record({ text: fc.jsonValue().map((value) => JSON.stringify(value)), contentType: fc.constant('application/json') }) },
    {
      weight: 1,
      arbitrary: fc.record({
        text: fc.oneof(anyText, fc.constantFrom('{', '{"url":', '[', 'null', '{"a":1}}', '\u0000', '{"events":"build:complete"}')),
        contentType: fc.constantFrom('application/json', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', undefined),
      }),
    },
    { weight: 1, arbitrary: fc.record({ text: fc.constant(undefined), contentType: fc.constantFrom('application/json', undefined) }) },
  );

const encoded = (arbitrary: fc.Arbitrary<string>) => arbitrary.map((text) => encodeURIComponent(text));

describe.each(backends)('REST fuzzing on %s', (backend) => {
  let t: TestApp;
  let pool: Pool;
  let userToken: string;
  const knownIds: number[] = [];

  beforeAll(async () => {
    t = await startTestApp(backend);
    userToken = (await createUser(t.app, 'alice')).token;
    const hooks = t.app.services.hooks;
    for (let i = 0; i < 5; i += 1) {
      knownIds.push((await hooks.create(t.admin, { kind: 'SYSTEM', url: `http://127.0.0.1:9/s${i}` })).id);
      knownIds.push(
        (
          await hooks.create(t.admin, {
            kind: 'SUBJECT',
            subjectType: 'BUILD_REPO',
            subject: `alice/app${i}`,
            events: ['build:complete'],
            url: `http://127.0.0.1:9/v${i}`,
          })
        ).id,
      );
    }
    await hooks.setUrlVariable(t.admin, knownIds[0]!, 'key', 'value');
    pool = new Pool(t.url, { connections: 8, pipelining: 1 });
  });
  afterAll(async () => {
    await pool.close();
    await t.close();
  });

  const auth = (dialect: Dialect): fc.Arbitrary<Record<string, string>> => {
    const admin: Record<string, string> = dialect === 'v1' ? { authorization: `Token ${t.adminToken}` } : { 'private-token': t.adminToken };
    const user: Record<string, string> = dialect === 'v1' ? { authorization: `Token ${userToken}` } : { 'private-token': userToken };
    const fixed = [admin, admin, admin, admin, admin, { authorization: `Bearer ${t.adminToken}` }, user, {}];
    const generated: fc.Arbitrary<Record<string, string>> = fc.oneof(
      printable.map((value) => ({ authorization: value })),
      printable.map((value) => ({ 'private-token': value })),
    );
    return fc.oneof(fc.constantFrom(...fixed), fc.constantFrom(...fixed), fc.constantFrom(...fixed), generated);
  };

  const request = (route: Route): fc.Arbitrary<GeneratedRequest> =>
    fc
      .record({
        id: fc.oneof(
          { weight: 4, arbitrary: fc.constantFrom(...knownIds).map(String) },
          { weight: 1, arbitrary: fc.constantFrom('abc', '0', '-1', '1.5', '1e3', '99999999999999999999', '2147483648', '%00', '%E2%9C%93', '', '%201') },
          { weight: 1, arbitrary: fc.integer({ min: -1e6, max: 1e12 }).map(String) },
          { weight: 1, arbitrary: encoded(anyText) },
        ),
        key: fc.oneof(fc.constantFrom('key', 'a.b-c_1', '1bad', '%', '%ZZ', 'x'.repeat(300)), encoded(anyText)),
        query: fc.oneof(
          fc.constant(''),
          fc
            .dictionary(
              fc.constantFrom(...route.fields, 'page', 'per_page'),
              fc.oneof(fc.constantFrom('1', '0', '-5', '1000', 'abc', '99999999999999999'), anyText),
              { maxKeys: 4 },
            )
            .map((params) => `?${new URLSearchParams(params).toString()}`),
        ),
        auth: auth(route.dialect),
        extra: fc.dictionary(fc.constantFrom('accept', 'x-forwarded-for', 'x-request-id', 'user-agent', 'content-encoding'), printable, { maxKeys: 2 }),
        body: body(route.fields),
      })
      .map(({ id, key, query, auth: authHeaders, extra, body: { text, contentType } }) => ({
        method: route.method,
        path: route.path(id, key, query),
        headers: { ...extra, ...authHeaders, ...(contentType ? { 'content-type': contentType } : {}) },
        body: text,
      }));

  async function send(generated: GeneratedRequest): Promise<{ status: number; headers: Record<string, unknown>; text: string }> {
    // A request that never gets an answer fails here, naming itself, not as a silent test timeout.
    const response = await pool
      .request({ method: generated.method as 'GET', path: generated.path, headers: generated.headers, body: generated.body, headersTimeout: 30_000 })
      .catch((error: unknown) => {
        throw new Error(`no answer to ${generated.method} ${generated.path} ${JSON.stringify(generated.headers)} ${JSON.stringify(generated.body)}`, {
          cause: error,
        });
      });
    return { status: response.statusCode, headers: response.headers, text: await response.body.text() };
  }

  function check(route: Route, generated: GeneratedRequest, answer: Awaited<ReturnType<typeof send>>): void {
    const context = `${generated.method} ${generated.path} ${JSON.stringify(generated.headers)} ${JSON.stringify(generated.body)} → ${answer.status} ${answer.text}`;
    expect(answer.status < 500, context).toBe(true);
    if (answer.status === 204) {
      expect(answer.text, context).toBe('');
      return;
    }
    expect(answer.headers['content-type'], context).toBe('application/json');
    const parsed: unknown = JSON.parse(answer.text);
    if (answer.status >= 400) {
      expect(route.dialect === 'v1' ? isV1ErrorBody(parsed) : isSystemErrorBody(parsed), context).toBe(true);
      return;
    }
    expect(route.success, context).toContain(answer.status);
    if (route.hookKeys) {
      expect(Object.keys(parsed as object), context).toEqual(route.hookKeys);
      expect(answer.text, context).not.toContain('"token"');
    }
  }

  for (const route of ROUTES.filter(
    (candidate) => !process.env.FUZZ_ONLY || `${candidate.method} ${candidate.path(':id', ':key', '')}` === process.env.FUZZ_ONLY,
  )) {
    it(`${route.method} ${route.path(':id', ':key', '')} (${route.dialect}) never answers 500 and keeps its error shape`, async () => {
      let sent = 0;
      await fc.assert(
        fc.asyncProperty(fc.array(request(route), { minLength: BATCH, maxLength: BATCH }), async (batch) => {
          const answers = await Promise.all(batch.map(send));
          sent += batch.length;
          for (const [index, generated] of batch.entries()) check(route, generated, answers[index]!);
        }),
        { numRuns: RUNS, endOnFailure: true },
      );
      expect(sent).toBeGreaterThanOrEqual(RUNS * BATCH);
    }, 300_000);
  }

  it('answers hostile bodies with 4xx in the dialect: deep JSON, NUL in every field, prototype keys', async () => {
    const post = async (path: string, headers: Record<string, string>, body: string) => {
      const response = await fetch(`${t.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
      return { status: response.status, body: (await response.json()) as Record<string, any> };
    };
    const v1Admin = { authorization: `Token ${t.adminToken}` };
    const deep = `{"event":"push","payload":${'['.repeat(3000)}${']'.repeat(3000)}}`;
    const deepV1 = await post('/v1/events', v1Admin, deep);
    expect(deepV1.status).toBe(400);
    expect(deepV1.body.errors[0].code).toBe('invalid_args');
    // A non-admin is refused before the body is read.
    expect((await post('/v1/events', { authorization: `Token ${userToken}` }, deep)).status).toBe(403);
    const deepSystem = await post('/hooks', { 'private-token': t.adminToken }, `{"url":${'['.repeat(100)}${']'.repeat(100)}}`);
    expect(deepSystem.status).toBe(400);
    expect(typeof deepSystem.body.error).toBe('string');
    // NUL in each text field of a publish and of a hook.
    const event = { event: 'push', ref: 'refs/heads/main', payload: { a: 1 } };
    for (const field of ['event', 'ref'] as const) {
      const answer = await post('/v1/events', v1Admin, JSON.stringify({ ...event, [field]: `x\u0000y` }));
      expect(answer.status, field).toBe(400);
      expect(answer.body.errors[0].field, field).toBe(field);
    }
    const hook = { subject_type: 'build_repo', subject: 'alice/app', events: ['build:complete'], url: 'http://127.0.0.1:9/x', name: 'n', secret: 's' };
    for (const field of ['subject', 'url', 'name', 'secret'] as const) {
      expect((await post('/v1/hooks', v1Admin, JSON.stringify({ ...hook, [field]: `a\u0000b` }))).status, field).toBe(400);
    }
    for (const field of ['url', 'name', 'description', 'token', 'push_events_branch_filter']) {
      const body = { url: 'http://127.0.0.1:9/x', [field]: field === 'url' ? 'http://127.0.0.1:9/\u0000' : 'a\u0000b' };
      expect([400, 422], field).toContain((await post('/hooks', { 'private-token': t.adminToken }, JSON.stringify(body))).status);
    }
    // `__proto__` and `constructor` are plain keys, never merged into the parameters.
    const proto = await post('/hooks', { 'private-token': t.adminToken }, '{"__proto__":{"url":"http://127.0.0.1:9/proto"},"constructor":{"url":"x"}}');
    expect(proto.status).toBe(400);
    expect(proto.body).toEqual({ error: 'url is missing' });
    const protoV1 = await post('/v1/hooks', v1Admin, `{"__proto__":${JSON.stringify(hook)}}`);
    expect(protoV1.status).toBe(400);
    const listed = await t.app.services.hooks.list(t.admin, { kind: 'SYSTEM' });
    expect(listed.hooks.some((h) => h.url.includes('proto'))).toBe(false);
  });

  it('answers oversized headers with 431, as Node does', async () => {
    const { connect } = await import('node:net');
    const { port } = new URL(t.url);
    const status = await new Promise<string>((resolve, reject) => {
      const socket = connect(Number(port), '127.0.0.1', () => {
        socket.write(`GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`);
      });
      let text = '';
      socket.on('data', (chunk) => (text += chunk.toString()));
      socket.on('close', () => resolve(text.split('\r\n')[0] ?? ''));
      socket.on('error', reject);
    });
    expect(status).toBe('HTTP/1.1 431 Request Header Fields Too Large');
  });
});
