// `/openapi.json`: served, OpenAPI 3.1, and in step with the routers both ways (every documented
// operation is served, every other method on a documented path is a 405 listing exactly the
// documented ones, and paths beside them are 404), and real answers match the documented shapes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DOCUMENTED_PATHS, systemErrorJson, systemHookJson, systemTestJson, v1ErrorJson, v1HookJson, v1PublishedJson } from '../../src/rest/openapi';
import { backends, startTestApp, type TestApp } from '../helpers';
import { type Answer, call } from './helpers';

const METHODS = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH'] as const;
/** The answers a router gives for a path it does not serve (as opposed to a resource it cannot find). */
const ROUTE_NOT_FOUND = [{ message: '404 Not Found' }, { errors: [{ code: 'resource_not_exist', message: 'The resource does not exist' }] }];

describe.each(backends)('/openapi.json (%s)', (backend) => {
  let t: TestApp;
  const v1 = (method: string, path: string, body?: unknown) => call(t.url, method, path, { headers: { authorization: `Token ${t.adminToken}` }, body });
  const gitlab = (method: string, path: string, body?: unknown) => call(t.url, method, path, { headers: { 'private-token': t.adminToken }, body });

  /** A fresh hook for `path`'s dialect, so that probing DELETE never removes the next probe's hook. */
  const freshId = async (path: string): Promise<number> => {
    const answer = path.startsWith('/v1')
      ? await v1('POST', '/v1/hooks', { subject_type: 'build_repo', subject: 'ns/repo', events: ['build:complete'], url: 'http://127.0.0.1:9/v1' })
      : await gitlab('POST', '/api/v4/hooks', { url: 'http://127.0.0.1:9/sys' });
    expect(answer.status, answer.text).toBe(201);
    return (answer.body as { id: number }).id;
  };
  const probe = async (template: string, method: string): Promise<Answer> => {
    const path = template.replace('{id}', String(await freshId(template))).replace('{key}', 'Some-Key');
    const send = template.startsWith('/v1') ? v1 : gitlab;
    return send(method, path, method === 'PUT' || method === 'POST' ? { value: 'v' } : undefined);
  };

  beforeAll(async () => {
    t = await startTestApp(backend);
  });
  afterAll(async () => {
    await t?.close();
  });

  it('is served without a token as an OpenAPI 3.1 document of every documented path', async () => {
    const answer = await call(t.url, 'GET', '/openapi.json');
    expect(answer.status, answer.text).toBe(200);
    expect(answer.headers.get('content-type')).toMatch(/^application\/json/);
    const document = answer.body as {
      openapi: string;
      paths: Record<
        string,
        Record<
          string,
          { responses: object; requestBody?: { content: Record<string, { schema: { properties?: Record<string, unknown>; required?: string[] } }> } }
        >
      >;
    };
    expect(document.openapi).toBe('3.1.0');
    expect(Object.keys(document.paths).sort()).toEqual(Object.keys(DOCUMENTED_PATHS).sort());
    for (const [path, methods] of Object.entries(DOCUMENTED_PATHS)) {
      expect(Object.keys(document.paths[path]!).sort(), path).toEqual(Object.keys(methods).sort());
    }
    // Request schemas come from the parsers: the v1 create's required fields, GitLab's Grape booleans.
    const create = document.paths['/v1/hooks']!.post!.requestBody!.content['application/json']!.schema;
    expect(create.required?.sort()).toEqual(['events', 'subject', 'subject_type', 'url']);
    expect(create.properties?.subject_type).toEqual({ type: 'string', enum: ['build_repo', 'image_repo', 'job'] });
    const system = document.paths['/hooks']!.post!.requestBody!.content['application/x-www-form-urlencoded']!.schema;
    expect(Object.keys(system.properties ?? {})).toContain('signing_token');
    // Every reference resolves inside the document (in OpenAPI, `#` is the document's root).
    const refs = [...answer.text.matchAll(/"\$ref":"([^"]+)"/g)].map(([, ref]) => ref!);
    expect(refs.length).toBeGreaterThan(0);
    const components = (answer.body as { components: { schemas: Record<string, unknown> } }).components.schemas;
    for (const ref of refs) expect(components[ref.replace('#/components/schemas/', '')], ref).toBeDefined();
    expect((await call(t.url, 'POST', '/openapi.json')).status).toBe(405);
  });

  it('every documented operation is served; every other method is a 405 naming exactly the documented ones', async () => {
    for (const [template, methods] of Object.entries(DOCUMENTED_PATHS)) {
      const documented = Object.keys(methods).map((method) => method.toUpperCase());
      for (const method of METHODS) {
        const answer = await probe(template, method);
        const what = `${method} ${template} -> ${answer.status} ${answer.text}`;
        if (documented.includes(method)) {
          expect(answer.status, what).not.toBe(405);
          expect(answer.status >= 500, what).toBe(false);
          if (answer.status === 404) expect(ROUTE_NOT_FOUND, what).not.toContainEqual(answer.body);
        } else {
          expect(answer.status, what).toBe(405);
          expect(answer.headers.get('allow')?.split(', ').sort(), what).toEqual([...documented].sort());
        }
      }
    }
  });

  it('paths beside the documented ones are not served', async () => {
    const id = await freshId('/v1/hooks');
    const systemId = await freshId('/hooks');
    for (const path of [
      `/v1/hooks/${id}/events`,
      '/v1/event',
      '/v1',
      `/api/v4/hooks/${systemId}/variables/k`,
      `/hooks/${systemId}/url_variables`,
      `/hooks/${systemId}/url_variables/k/x`,
    ]) {
      const answer = await (path.startsWith('/v1') ? v1 : gitlab)('GET', path);
      expect(answer.status, `${path}: ${answer.text}`).toBe(404);
      expect(ROUTE_NOT_FOUND, path).toContainEqual(answer.body);
    }
  });

  it('real answers have the documented shapes', async () => {
    const created = await v1('POST', '/v1/hooks', {
      subject_type: 'job',
      subject: 'job-1',
      events: ['job:fail'],
      url: 'http://127.0.0.1:9/shape',
      name: 'n',
      secret: 's',
    });
    v1HookJson.parse(created.body);
    v1HookJson.array().parse((await v1('GET', '/v1/hooks')).body);
    v1PublishedJson.parse((await v1('POST', '/v1/events', { event: 'job:fail', subject_type: 'job', subject: 'job-1', payload: { a: 1 } })).body);
    v1ErrorJson.parse((await v1('POST', '/v1/hooks', { subject_type: 'nope' })).body);
    v1ErrorJson.parse((await call(t.url, 'GET', '/v1/hooks')).body);

    const system = await gitlab('POST', '/api/v4/hooks', { url: 'http://127.0.0.1:9/sys', push_events: 'yes', token: 't' });
    const hook = systemHookJson.parse(system.body);
    expect(hook.push_events).toBe(true);
    systemHookJson.array().parse((await gitlab('GET', '/api/v4/hooks?per_page=2')).body);
    systemTestJson.parse((await gitlab('POST', `/api/v4/hooks/${hook.id}`)).body);
    for (const bad of [
      await gitlab('POST', '/api/v4/hooks', {}),
      await gitlab('POST', '/api/v4/hooks', { url: 'ftp://x' }),
      await gitlab('GET', '/api/v4/hooks/999999'),
      await call(t.url, 'GET', '/hooks'),
    ]) {
      systemErrorJson.parse(bad.body);
    }
  });
});
