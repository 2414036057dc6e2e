// The two REST routes that go through the delivery engine: the system hook test (`POST /hooks/:id`)
// and `POST /v1/events`, against the real engine and a real receiver.
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends, createUser, startTestApp, type TestApp } from '../helpers';
import { call, expectV1Error } from './helpers';

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

  describe('answers and errors', () => {
    it("POST /hooks/:id (with gitbeaker's `{}` body) answers 201 with exactly the sample, on both prefixes", async () => {
      const hook = await t.app.services.hooks.create(t.admin, { kind: 'SYSTEM', url: 'http://127.0.0.1:9/unreachable' });
      for (const path of [`/api/v4/hooks/${hook.id}`, `/hooks/${hook.id}`]) {
        const answer = await call(t.url, 'POST', path, { headers: { 'private-token': t.adminToken }, body: {} });
        expect(answer.status).toBe(201);
        expect(answer.text).toBe(JSON.stringify(SAMPLE));
      }
      // Each test was recorded as a delivery with its (failed) attempt.
      expect(await t.app.db.prisma.delivery.count({ where: { hookId: hook.id } })).toBe(2);
      const missing = await call(t.url, 'POST', '/hooks/999999', { headers: { 'private-token': t.adminToken } });
      expect([missing.status, missing.body]).toEqual([404, { message: '404 Not found' }]);
      const forbidden = await call(t.url, 'POST', `/hooks/${hook.id}`, { headers: { 'private-token': userToken }, body: {} });
      expect([forbidden.status, forbidden.body]).toEqual([403, { message: '403 Forbidden' }]);
    });

    it('POST /v1/events refuses bad input (400), no token (401) and non-admins (403)', async () => {
      const admin = { authorization: `Token ${t.adminToken}` };
      expectV1Error(await call(t.url, 'POST', '/v1/events', { headers: admin, body: { payload: {} } }), 400, 'invalid_args');
      expectV1Error(await call(t.url, 'POST', '/v1/events', { headers: admin, body: { event: 'build:complete' } }), 400, 'invalid_args');
      expectV1Error(await call(t.url, 'POST', '/v1/events', { headers: admin, body: { event: 'x', subject_type: 'nope', payload: {} } }), 400, 'invalid_args');
      expectV1Error(await call(t.url, 'POST', '/v1/events', { headers: admin, body: { event: 'x', payload: { a: '\u0000' } } }), 400, 'invalid_args');
      expectV1Error(
        await call(t.url, 'POST', '/v1/events', { headers: { ...admin, 'content-type': 'application/json' }, body: '{"event":' }),
        400,
        'invalid_args',
      );
      expectV1Error(await call(t.url, 'POST', '/v1/events', { body: { event: 'x', payload: {} } }), 401, 'unauthorized');
      expectV1Error(
        await call(t.url, 'POST', '/v1/events', { headers: { authorization: `Token ${userToken}` }, body: { event: 'x', payload: {} } }),
        403,
        'permission_denied',
      );
    });
  });

  describe('with the real delivery engine', () => {
    let receiver: Server;
    let receiverUrl: string;
    const received: Array<{ headers: IncomingHttpHeaders; body: string; path: string }> = [];

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

    it('POST /hooks/:id really POSTs the project_create sample to the hook URL, url variables filled', async () => {
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

    it('POST /v1/events delivers to each matching active hook and answers 202', async () => {
      const v1 = { authorization: `Token ${t.adminToken}` };
      const hook = await call(t.url, 'POST', '/v1/hooks', {
        headers: v1,
        body: { subject_type: 'build_repo', subject: 'ns/events', events: ['build:complete'], url: `${receiverUrl}/v1`, secret: 's' },
      });
      expect(hook.status).toBe(201);
      const answer = await call(t.url, 'POST', '/v1/events', {
        headers: v1,
        body: { event: 'build:complete', subject_type: 'build_repo', subject: 'ns/events', payload: { build: 1 } },
      });
      expect(answer.status).toBe(202);
      const body = answer.body as { event_id: number; deliveries: number[] };
      expect(Object.keys(body)).toEqual(['event_id', 'deliveries']);
      expect(typeof body.event_id).toBe('number');
      expect(body.deliveries).toHaveLength(1);
      const delivery = await waitFor(() => received.find((request) => request.path === '/v1'));
      expect(JSON.parse(delivery.body)).toEqual({ build: 1 });
      expect(delivery.headers['x-hookgate-event']).toBe('build:complete');
      expectV1Error(
        await call(t.url, 'POST', '/v1/events', { headers: { authorization: `Token ${userToken}` }, body: { event: 'build:complete', payload: {} } }),
        403,
        'permission_denied',
      );
    });
  });
});
