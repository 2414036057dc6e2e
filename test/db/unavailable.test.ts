// The database unavailable or saturated: every dialect answers 503 with Retry-After in its own
// shape and stores nothing; /healthz and /metrics keep answering while PGlite runs a long query.
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, type Backend, backends, graphql, startTestApp, type TestApp } from '../helpers';

const started: TestApp[] = [];
afterEach(async () => {
  for (const app of started.splice(0)) await app.close();
});

async function start(backend: Backend, env: Record<string, string> = {}): Promise<TestApp> {
  const app = await startTestApp(backend, env);
  started.push(app);
  return app;
}

const v1Headers = { authorization: `Token ${ADMIN_TOKEN}`, 'content-type': 'application/json' };
const systemHeaders = { 'private-token': ADMIN_TOKEN, 'content-type': 'application/json' };
const event = { event: 'build:complete', subject_type: 'build_repo', subject: 'acme/app', payload: { n: 1 } };

/** Answers within `ms` or fails saying which request it waited for. */
async function request(url: string, init: RequestInit = {}, ms = 20_000): Promise<Response> {
  try {
    return await fetch(url, { ...init, signal: AbortSignal.timeout(ms) });
  } catch (error) {
    throw new Error(`${init.method ?? 'GET'} ${url} did not answer within ${ms} ms: ${String(error)}`);
  }
}

async function expectUnavailableInEveryDialect(t: TestApp): Promise<void> {
  const v1 = await request(`${t.url}/v1/events`, { method: 'POST', headers: v1Headers, body: JSON.stringify(event) });
  expect(v1.status).toBe(503);
  expect(Number(v1.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
  const v1Body = (await v1.json()) as { errors: { code: string; message: string }[] };
  expect(v1Body.errors[0]?.code).toBe('service_unavailable');
  expect(v1Body.errors[0]?.message).toMatch(/unavailable/);

  const gitlab = await request(`${t.url}/api/v4/hooks`, { method: 'POST', headers: systemHeaders, body: JSON.stringify({ url: 'http://127.0.0.1:9/x' }) });
  expect(gitlab.status).toBe(503);
  expect(Number(gitlab.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
  expect(await gitlab.json()).toEqual({ message: '503 Service Unavailable' });

  const published = await request(`${t.url}/graphql`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      query: 'mutation($i: PublishEventInput!) { publishEvent(input: $i) { deliveries { id } userErrors { message } } }',
      variables: { i: { event: 'build:complete', subjectType: 'BUILD_REPO', subject: 'acme/app', payload: { n: 1 } } },
    }),
  });
  expect(published.status).toBe(503);
  expect(Number(published.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
  const gqlBody = (await published.json()) as { errors?: { extensions?: { code?: string }; path?: unknown }[] };
  expect(gqlBody.errors?.map((e) => e.extensions?.code)).toEqual(['SERVICE_UNAVAILABLE']);
}

/** PostgreSQL: end the app's connections and refuse new ones (superusers too) until `restore`. */
async function cutOff(databaseUrl: string): Promise<{ restore(): Promise<void> }> {
  const name = new URL(databaseUrl).pathname.slice(1);
  const admin = new pg.Client({ connectionString: process.env.TEST_DATABASE_URL });
  await admin.connect();
  await admin.query(`ALTER DATABASE ${name} ALLOW_CONNECTIONS false`);
  await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [name]);
  return {
    async restore() {
      await admin.query(`ALTER DATABASE ${name} ALLOW_CONNECTIONS true`);
      await admin.end();
    },
  };
}

describe.each(backends)('database unavailable (%s)', (backend) => {
  it('answers 503 with Retry-After in each dialect, stores nothing, and serves again once it is back', async () => {
    const t = await start(backend);
    // A first event, so the counts below show that the refused ones left nothing behind.
    const first = await request(`${t.url}/v1/events`, { method: 'POST', headers: v1Headers, body: JSON.stringify(event) });
    expect(first.status).toBe(202);

    if (backend === 'postgres') {
      const outage = await cutOff(t.app.config.DATABASE_URL!);
      try {
        await expectUnavailableInEveryDialect(t);
        const health = await request(`${t.url}/healthz`);
        expect(health.status).toBe(503);
      } finally {
        await outage.restore();
      }
      // Back: the pool makes new connections and the same request is accepted.
      let status = 0;
      for (const deadline = Date.now() + 20_000; Date.now() < deadline && status !== 202; ) {
        status = (await request(`${t.url}/v1/events`, { method: 'POST', headers: v1Headers, body: JSON.stringify(event) })).status;
        if (status !== 202) await new Promise((resolve) => setTimeout(resolve, 200));
      }
      expect(status, 'publishing again within 20 s of the database coming back').toBe(202);
      expect(await t.app.db.prisma.event.count()).toBe(2);
    } else {
      // The worker thread gone, as if PGlite had crashed: nothing can be stored any more.
      await t.app.db.pgliteHost!.terminate();
      await expectUnavailableInEveryDialect(t);
      const health = await request(`${t.url}/healthz`);
      expect(health.status).toBe(503);
      const metrics = await request(`${t.url}/metrics`);
      expect(metrics.status).toBe(200);
    }
  });

  it('answers 503 with Retry-After when no connection comes free in time (a full queue), rather than making clients wait', async () => {
    const t = await start(backend, { DATABASE_POOL_SIZE: '1', DATABASE_QUEUE_TIMEOUT: '300ms' });
    // Authenticated once, so the token is cached and the refused request below is the pool's doing.
    expect((await request(`${t.url}/v1/hooks`, { headers: v1Headers })).status).toBe(200);
    const holding = t.app.db.prisma.$queryRaw`SELECT pg_sleep(6)::text AS slept`.then(
      () => 'done',
      (error: unknown) => error,
    );
    // The sleep has the only connection once a second query cannot get one.
    await new Promise((resolve) => setTimeout(resolve, 500));
    const refused = await request(`${t.url}/v1/hooks`, { headers: v1Headers }, 5_000);
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('1');
    expect(((await refused.json()) as { errors: { code: string }[] }).errors[0]?.code).toBe('service_unavailable');
    const gitlab = await request(`${t.url}/api/v4/hooks`, { headers: systemHeaders }, 5_000);
    expect(gitlab.status).toBe(503);
    expect(gitlab.headers.get('retry-after')).toBe('1');
    expect(await holding).toBe('done');
    expect((await request(`${t.url}/v1/hooks`, { headers: v1Headers })).status).toBe(200);
  });
});

describe('the embedded database runs outside the HTTP event loop', () => {
  it('answers /healthz and /metrics while PGlite runs a long query', async () => {
    const t = await start('pglite');
    let finished = false;
    const sleeping = t.app.db.prisma.$queryRaw`SELECT pg_sleep(12)::text AS slept`.then(() => (finished = true));
    await new Promise((resolve) => setTimeout(resolve, 500));
    const health = await request(`${t.url}/healthz`, {}, 8_000);
    expect(health.status).toBe(200);
    const metrics = await request(`${t.url}/metrics`, {}, 8_000);
    expect(metrics.status).toBe(200);
    // Both answered while the query was still running: it was not holding the event loop.
    expect(finished).toBe(false);
    await sleeping;
  });

  it('keeps LISTEN/NOTIFY working across its pooled connections', async () => {
    const t = await start('pglite');
    const heard: string[] = [];
    await t.app.db.notifications.listen('hookgate_test_channel', (payload) => heard.push(payload));
    await t.app.db.prisma.$executeRaw`SELECT pg_notify('hookgate_test_channel', 'plain')`;
    await t.app.db.prisma.$transaction(async (tx) => {
      await tx.$executeRaw`SELECT pg_notify('hookgate_test_channel', 'in a transaction')`;
    });
    for (const deadline = Date.now() + 5_000; heard.length < 2 && Date.now() < deadline; ) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(heard, 'both notifications within 5 s').toEqual(['plain', 'in a transaction']);
  });

  it('serves GraphQL and REST with concurrent transactions kept apart', async () => {
    const t = await start('pglite');
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        request(`${t.url}/v1/hooks`, {
          method: 'POST',
          headers: v1Headers,
          body: JSON.stringify({ subject_type: 'build_repo', subject: `acme/app${i}`, events: ['build:complete'], url: `http://127.0.0.1:9/${i}` }),
        }).then((r) => r.status),
      ),
    );
    expect(results).toEqual(Array(20).fill(201));
    const listed = await graphql(t.url, '{ hooks(first: 50) { totalCount } }');
    expect(listed.data?.hooks.totalCount).toBe(20);
  });
});
