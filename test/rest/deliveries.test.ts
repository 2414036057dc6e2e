// The two REST routes that go through the delivery engine: the system hook test (`POST /hooks/:id`)
// and `POST /v1/events`. Their wiring is tested with a stand-in engine; the end-to-end part (a real
// request reaching a receiver) runs once the app's services include the delivery engine.
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends, createUser, startTestApp, type TestApp } from '../helpers';
import { appDeliveries, call, expectV1Error, standInEngine, startRestServer } from './helpers';

const SAMPLE = { project_id: 1, owner_email: 'example@gitlabhq.com', owner_name: 'Someone', name: 'Ruby', path: 'ruby', event_name: 'project_create' };

describe.each(backends)('routes through the delivery engine on %s', (backend) => {
  let t: TestApp;
  let userToken: string;

  beforeAll(async () => {
    t = await startTestApp(backend);
    userToken = (await createUser(t.app, 'alice')).token;
  });
  afterAll(async () => {
    await t.close();
  });

  describe('with a stand-in engine', () => {
    let server: Awaited<ReturnType<typeof startRestServer>>;
    let calls: ReturnType<typeof standInEngine>['calls'];
    beforeAll(async () => {
      const standIn = standInEngine(t.app);
      calls = standIn.calls;
      server = await startRestServer(t.app, standIn.engine);
    });
    afterAll(async () => {
      await server.close();
    });

    it('POST /hooks/:id (with gitbeaker\'s `{}` body) tests the system hook and answers 201 with the sample', async () => {
      const hook = await t.app.services.hooks.create(t.admin, { kind: 'SYSTEM', url: 'https://example.com/test' });
      for (const path of [`/api/v4/hooks/${hook.id}`, `/hooks/${hook.id}`]) {
        const answer = await call(server.url, 'POST', path, { headers: { 'private-token': t.adminToken }, body: {} });
        expect(answer.status).toBe(201);
        expect(answer.text).toBe(JSON.stringify(SAMPLE));
      }
      expect(calls.testHook.at(-1)).toEqual([t.admin, hook.id, { kind: 'SYSTEM' }]);
      const missing = await call(server.url, 'POST', '/hooks/999999', { headers: { 'private-token': t.adminToken } });
      expect([missing.status, missing.body]).toEqual([404, { message: '404 Not found' }]);
    });

    it('POST /v1/events answers 202 with the event id and delivery ids', async () => {
      const body = { event: 'build:complete', subject_type: 'build_repo', subject: 'ns/name', ref: 'refs/heads/main', payload: { ok: true } };
      const answer = await call(server.url, 'POST', '/v1/events', { headers: { authorization: `Token ${t.adminToken}` }, body });
      expect(answer.status).toBe(202);
      expect(answer.text).toBe('{"event_id":77,"deliveries":[5,6]}');
      expect(calls.publish.at(-1)).toEqual([t.admin, { event: 'build:complete', subjectType: 'BUILD_REPO', subject: 'ns/name', ref: 'refs/heads/main', payload: { ok: true } }]);
      const system = await call(server.url, 'POST', '/v1/events', { headers: { authorization: `Bearer ${t.adminToken}` }, body: { event: 'project_create', payload: SAMPLE } });
      expect(system.status).toBe(202);
      expect(calls.publish.at(-1)?.[1]).toEqual({ event: 'project_create', subjectType: null, subject: null, ref: null, payload: SAMPLE });
    });

    it('POST /v1/events refuses bad input (400), no token (401) and non-admins (403)', async () => {
      const admin = { authorization: `Token ${t.adminToken}` };
      expectV1Error(await call(server.url, 'POST', '/v1/events', { headers: admin, body: { payload: {} } }), 400, 'invalid_args');
      expectV1Error(await call(server.url, 'POST', '/v1/events', { headers: admin, body: { event: 'build:complete' } }), 400, 'invalid_args');
      expectV1Error(await call(server.url, 'POST', '/v1/events', { headers: admin, body: { event: 'x', subject_type: 'nope', payload: {} } }), 400, 'invalid_args');
      expectV1Error(await call(server.url, 'POST', '/v1/events', { headers: admin, body: { event: 'x', payload: { a: '\u0000' } } }), 400, 'invalid_args');
      expectV1Error(await call(server.url, 'POST', '/v1/events', { headers: { ...admin, 'content-type': 'application/json' }, body: '{"event":' }), 400, 'invalid_args');
      expectV1Error(await call(server.url, 'POST', '/v1/events', { body: { event: 'x', payload: {} } }), 401, 'unauthorized');
      expectV1Error(await call(server.url, 'POST', '/v1/events', { headers: { authorization: `Token ${userToken}` }, body: { event: 'x', payload: {} } }), 403, 'permission_denied');
    });
  });

  describe('with the real delivery engine', () => {
    let receiver: Server;
    let receiverUrl: string;
    const received: Array<{ headers: IncomingHttpHeaders; body: string; path: string }> = [];
    const wired = () => appDeliveries(t.app) !== undefined;

    beforeAll(async () => {
      receiver = createServer((req, res) => {
        let body = '';
        req.on('data', (chunk: Buffer) => (body += chunk.toString()));
        req.on('end', () => {
          received.push({ headers: req.headers, body, path: req.url ?? '' });
          res.writeHead(200).end('ok');
        });
      });
      await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
      receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
    });
    afterAll(async () => {
      await new Promise<void>((resolve) => receiver.close(() => resolve()));
    });

    const waitFor = async <T>(find: () => T | undefined, ms = 10_000): Promise<T> => {
      const deadline = Date.now() + ms;
      for (;;) {
        const found = find();
        if (found !== undefined) return found;
        if (Date.now() > deadline) throw new Error('nothing arrived in time');
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
    };

    it('POST /hooks/:id really POSTs the project_create sample to the hook URL, url variables filled', async (ctx) => {
      if (!wired()) ctx.skip();
      const admin = { 'private-token': t.adminToken };
      const created = await call(t.url, 'POST', '/api/v4/hooks', { headers: admin, body: { url: `${receiverUrl}/system/{where}`, token: 'gitlab-token' } });
      const id = (created.body as { id: number }).id;
      expect((await call(t.url, 'PUT', `/api/v4/hooks/${id}/url_variables/where`, { headers: admin, body: { value: 'here' } })).status).toBe(204);
      const answer = await call(t.url, 'POST', `/api/v4/hooks/${id}`, { headers: admin, body: {} });
      expect(answer.status).toBe(201);
      expect(answer.text).toBe(JSON.stringify(SAMPLE));
      const delivery = await waitFor(() => received.find((request) => request.path === '/system/here'));
      expect(JSON.parse(delivery.body)).toEqual(SAMPLE);
      expect(delivery.headers['x-gitlab-event']).toBe('System Hook');
      expect(delivery.headers['x-gitlab-token']).toBe('gitlab-token');
    });

    it('POST /v1/events delivers to each matching active hook and answers 202', async (ctx) => {
      if (!wired()) ctx.skip();
      const v1 = { authorization: `Token ${t.adminToken}` };
      const hook = await call(t.url, 'POST', '/v1/hooks', { headers: v1, body: { subject_type: 'build_repo', subject: 'ns/events', events: ['build:complete'], url: `${receiverUrl}/v1`, secret: 's' } });
      expect(hook.status).toBe(201);
      const answer = await call(t.url, 'POST', '/v1/events', { headers: v1, body: { event: 'build:complete', subject_type: 'build_repo', subject: 'ns/events', payload: { build: 1 } } });
      expect(answer.status).toBe(202);
      const body = answer.body as { event_id: number; deliveries: number[] };
      expect(Object.keys(body)).toEqual(['event_id', 'deliveries']);
      expect(typeof body.event_id).toBe('number');
      expect(body.deliveries).toHaveLength(1);
      const delivery = await waitFor(() => received.find((request) => request.path === '/v1'));
      expect(JSON.parse(delivery.body)).toEqual({ build: 1 });
      expect(delivery.headers['x-hookgate-event']).toBe('build:complete');
      expectV1Error(await call(t.url, 'POST', '/v1/events', { headers: { authorization: `Token ${userToken}` }, body: { event: 'build:complete', payload: {} } }), 403, 'permission_denied');
    });

    it('without the engine, both routes answer 501', async (ctx) => {
      if (wired()) ctx.skip();
      const hook = await t.app.services.hooks.create(t.admin, { kind: 'SYSTEM', url: 'https://example.com/no-engine' });
      expect((await call(t.url, 'POST', `/hooks/${hook.id}`, { headers: { 'private-token': t.adminToken }, body: {} })).status).toBe(501);
      expect((await call(t.url, 'POST', '/v1/events', { headers: { authorization: `Token ${t.adminToken}` }, body: { event: 'push', payload: {} } })).status).toBe(501);
    });
  });
});
