// Hookgate as a whole process: start-up, configuration errors, persistence, shutdown, scale-out.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../src/app';
import { loadConfig } from '../src/config';
import { createLogger } from '../src/logger';
import { ADMIN_TOKEN, backends, createTestDatabase, startTestApp, type TestApp } from './helpers';
import { runHookgateToExit, startHookgate } from './process-helpers';

// Child processes start tsx and PGlite from scratch: slow on a busy 2-core machine.
const PROCESS_TIMEOUT = 120_000;

describe('start-up', { timeout: PROCESS_TIMEOUT }, () => {
  let dataDir: string;
  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), 'hookgate-data-'));
  });
  afterAll(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  it('starts on the embedded database with no other setup, and stops cleanly on SIGTERM', async () => {
    const hookgate = await startHookgate({ DATA_DIR: dataDir });
    const health = await fetch(`${hookgate.url}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok' });
    expect(await hookgate.stop('SIGTERM')).toBe(0);
  });

  it('refuses a second process on the same data directory with a clear message', async () => {
    const first = await startHookgate({ DATA_DIR: dataDir });
    try {
      const second = await runHookgateToExit({ DATA_DIR: dataDir, PORT: '0' });
      expect(second.code).toBe(1);
      expect(second.stdout + second.stderr).toContain('is in use by another Hookgate process');
    } finally {
      await first.stop();
    }
  });

  it.each([
    ['PORT', 'abc'],
    ['DATABASE_URL', 'mysql://localhost/x'],
    ['HOOKGATE_DELIVERY_TIMEOUT', 'forever'],
  ])('exits 1 with one line naming %s when it is %j', async (name, value) => {
    const result = await runHookgateToExit({ DATA_DIR: dataDir, [name]: value });
    expect(result.code).toBe(1);
    const lines = result.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(new RegExp(`^hookgate: Invalid ${name}: `));
  });

  it('exits 1 with a clear message when PostgreSQL cannot be reached', async () => {
    const result = await runHookgateToExit({ DATABASE_URL: 'postgresql://nobody@127.0.0.1:1/none', PORT: '0' });
    expect(result.code).toBe(1);
    expect(result.stdout).toContain('Hookgate failed to start');
  });
});

describe('persistence on the embedded default', { timeout: PROCESS_TIMEOUT }, () => {
  it('keeps hooks, users and tokens across a restart', async () => {
    const dataDir = await mkdtemp(path.join(tmpdir(), 'hookgate-persist-'));
    const config = loadConfig({ DATA_DIR: dataDir, PORT: '0', HOOKGATE_ADMIN_TOKEN: ADMIN_TOKEN, LOG_LEVEL: 'silent' });
    try {
      const first = await createApp(config, createLogger('silent'));
      const root = await first.services.users.authenticate(ADMIN_TOKEN);
      const hook = await first.services.hooks.create(root, { kind: 'SYSTEM', url: 'https://example.com/persist', name: 'kept' });
      const { token } = await first.services.users.createUser(root, { username: 'persisted' });
      await first.close();

      const second = await createApp(config, createLogger('silent'));
      try {
        const rootAgain = await second.services.users.authenticate(ADMIN_TOKEN);
        expect(await second.services.hooks.get(rootAgain, hook.id)).toMatchObject({ id: hook.id, name: 'kept', url: 'https://example.com/persist' });
        expect((await second.services.users.authenticate(token)).username).toBe('persisted');
      } finally {
        await second.close();
      }
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
    // Two on-disk PGlite start-ups with migrations: slow on a shared 2-core machine under the full suite.
  }, 120_000);
});

describe.each(backends)('operational endpoints on %s', (backend) => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp(backend);
  });
  afterAll(async () => {
    await app.close();
  });

  it('serves Prometheus metrics with request counts by route and status', async () => {
    await fetch(`${app.url}/healthz`);
    await fetch(`${app.url}/no/such/route/123`);
    const response = await fetch(`${app.url}/metrics`);
    expect(response.headers.get('content-type')).toContain('text/plain');
    const text = await response.text();
    expect(text).toMatch(/hookgate_http_requests_total\{method="GET",route="\/healthz",status="200"\} \d+/);
    expect(text).toMatch(/hookgate_http_requests_total\{method="GET",route="other",status="404"\} \d+/);
    expect(text).toContain('hookgate_http_request_duration_seconds_bucket');
    expect(text).toContain('process_cpu_user_seconds_total');
  });

  it('answers unknown routes with a JSON 404', async () => {
    const response = await fetch(`${app.url}/nowhere`);
    expect(response.status).toBe(404);
    expect(await response.json()).toEqual({ message: '404 Not Found' });
  });

  it('reports an unreachable database as 503 on /healthz', async () => {
    const testDb = await createTestDatabase(backend);
    const other = await createApp(loadConfig({ DATABASE_URL: testDb.url, PORT: '0', LOG_LEVEL: 'silent' }), createLogger('silent'));
    const url = await other.listen();
    await other.db.close();
    try {
      const response = await fetch(`${url}/healthz`);
      expect(response.status).toBe(503);
    } finally {
      await new Promise<void>((resolve) => other.server.close(() => resolve()));
      await testDb.drop();
    }
  });
});

describe.runIf(backends.includes('postgres'))('scale-out on PostgreSQL', { timeout: PROCESS_TIMEOUT }, () => {
  it('two processes started at once on one database both come up', async () => {
    const testDb = await createTestDatabase('postgres');
    try {
      const env = { DATABASE_URL: testDb.url, HOOKGATE_ADMIN_TOKEN: ADMIN_TOKEN };
      const [a, b] = await Promise.all([startHookgate(env), startHookgate(env)]);
      try {
        for (const p of [a, b]) expect((await fetch(`${p.url}/healthz`)).status).toBe(200);
      } finally {
        await Promise.all([a.stop(), b.stop()]);
      }
    } finally {
      await testDb.drop();
    }
  });
});
