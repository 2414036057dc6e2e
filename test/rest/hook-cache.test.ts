// Hooks read by id are cached per process, and every change reaches the readers: changes through
// the API, changes made in the database behind Hookgate's back (a trigger announces them), changes
// made by another process, and a lost notification connection (nothing is cached meanwhile).
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type App, createApp } from '../../src/app';
import { loadConfig } from '../../src/config';
import { createLogger } from '../../src/logger';
import { ADMIN_TOKEN, backends, startTestApp, type TestApp } from '../helpers';

const headers = { 'private-token': ADMIN_TOKEN, 'content-type': 'application/json' };

async function readHook(baseUrl: string, id: number): Promise<{ url: string; push_events: boolean }> {
  const response = await fetch(`${baseUrl}/api/v4/hooks/${id}`, { headers });
  expect(response.status).toBe(200);
  return (await response.json()) as { url: string; push_events: boolean };
}

/** Notifications between processes take a moment: asks again until `check` passes (at most 10 s). */
async function eventually(check: () => Promise<void>): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      return await check();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }
}

describe.each(backends)('the hook cache (%s)', { timeout: 60_000 }, (backend) => {
  let t: TestApp;
  let hookId: number;

  beforeAll(async () => {
    t = await startTestApp(backend);
    const created = await fetch(`${t.url}/api/v4/hooks`, { method: 'POST', headers, body: JSON.stringify({ url: 'http://127.0.0.1:9/a' }) });
    hookId = ((await created.json()) as { id: number }).id;
  });
  afterAll(() => t.close());

  it('keeps a hook read by id, and shows a change made through the API at once', async () => {
    expect((await readHook(t.url, hookId)).url).toBe('http://127.0.0.1:9/a');
    expect((await readHook(t.url, hookId)).url).toBe('http://127.0.0.1:9/a');
    expect(t.app.services.hooks.cacheSize).toBe(1);
    const put = await fetch(`${t.url}/api/v4/hooks/${hookId}`, { method: 'PUT', headers, body: JSON.stringify({ url: 'http://127.0.0.1:9/b' }) });
    expect(put.status).toBe(200);
    expect((await readHook(t.url, hookId)).url).toBe('http://127.0.0.1:9/b');
  });

  it('shows a change made in the database directly, announced by the trigger', async () => {
    await readHook(t.url, hookId);
    await t.app.db.prisma.$executeRaw`UPDATE hooks SET url = 'http://127.0.0.1:9/sql', events = array_append(events, 'push') WHERE id = ${hookId}`;
    await eventually(async () => expect(await readHook(t.url, hookId)).toEqual(expect.objectContaining({ url: 'http://127.0.0.1:9/sql', push_events: true })));
  });

  it('shows a url variable change (another table, same announcement)', async () => {
    await readHook(t.url, hookId);
    const cached = t.app.services.hooks.cacheSize;
    expect(cached).toBe(1);
    await t.app.db.prisma.$executeRaw`INSERT INTO url_variables (hook_id, key, value, updated_at) VALUES (${hookId}, 'token', 'x', now())`;
    await eventually(async () => expect(t.app.services.hooks.cacheSize).toBe(0));
  });

  it('reports its size and hits on /metrics, counting each lookup once however often it is scraped', async () => {
    await readHook(t.url, hookId);
    await readHook(t.url, hookId);
    const scrape = async () => {
      const text = await (await fetch(`${t.url}/metrics`)).text();
      const value = (series: string) => Number(new RegExp(`^${series.replace(/[{}]/g, '\\$&')} (\\d+)`, 'm').exec(text)?.[1]);
      return {
        entries: value('hookgate_hook_cache_entries'),
        hits: value('hookgate_hook_cache_lookups_total{result="hit"}'),
        misses: value('hookgate_hook_cache_lookups_total{result="miss"}'),
      };
    };
    const first = await scrape();
    expect(first.entries).toBeGreaterThanOrEqual(1);
    expect(first.hits).toBeGreaterThanOrEqual(1);
    expect(first.misses).toBeGreaterThanOrEqual(1);
    expect(await scrape()).toEqual(first);
    await readHook(t.url, hookId);
    expect((await scrape()).hits).toBe(first.hits + 1);
  });

  it('forgets a deleted hook', async () => {
    const created = await fetch(`${t.url}/api/v4/hooks`, { method: 'POST', headers, body: JSON.stringify({ url: 'http://127.0.0.1:9/gone' }) });
    const { id } = (await created.json()) as { id: number };
    await readHook(t.url, id);
    await t.app.db.prisma.$executeRaw`DELETE FROM hooks WHERE id = ${id}`;
    await eventually(async () => expect((await fetch(`${t.url}/api/v4/hooks/${id}`, { headers })).status).toBe(404));
  });
});

describe.skipIf(!backends.includes('postgres'))('the hook cache across processes (postgres)', { timeout: 60_000 }, () => {
  let t: TestApp;
  let other: App;
  let otherUrl: string;

  beforeAll(async () => {
    t = await startTestApp('postgres');
    const config = loadConfig({
      PORT: '0',
      HOST: '127.0.0.1',
      DATABASE_URL: t.app.config.DATABASE_URL,
      HOOKGATE_ADMIN_TOKEN: ADMIN_TOKEN,
      HOOKGATE_ALLOW_LOCAL_REQUESTS: 'true',
      LOG_LEVEL: 'silent',
    });
    other = await createApp(config, createLogger('silent'));
    otherUrl = await other.listen();
  });
  afterAll(async () => {
    await other.close();
    await t.close();
  });

  it("a change made by one process reaches the other one's cache", async () => {
    const created = await fetch(`${t.url}/api/v4/hooks`, { method: 'POST', headers, body: JSON.stringify({ url: 'http://127.0.0.1:9/one' }) });
    const { id } = (await created.json()) as { id: number };
    expect((await readHook(otherUrl, id)).url).toBe('http://127.0.0.1:9/one');
    expect(other.services.hooks.cacheSize).toBe(1);
    await fetch(`${t.url}/api/v4/hooks/${id}`, { method: 'PUT', headers, body: JSON.stringify({ url: 'http://127.0.0.1:9/two' }) });
    await eventually(async () => expect((await readHook(otherUrl, id)).url).toBe('http://127.0.0.1:9/two'));
  });

  it('caches nothing while its notification connection is down, and again once it is back', async () => {
    const created = await fetch(`${t.url}/api/v4/hooks`, { method: 'POST', headers, body: JSON.stringify({ url: 'http://127.0.0.1:9/x' }) });
    const { id } = (await created.json()) as { id: number };
    await readHook(otherUrl, id);
    expect(other.services.hooks.cacheSize).toBeGreaterThan(0);
    // Cut every LISTEN connection of this database: the server ends them, as a failover would.
    const admin = new pg.Client({ connectionString: t.app.config.DATABASE_URL });
    await admin.connect();
    try {
      const listeners = await admin.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity
        WHERE datname = current_database() AND pid <> pg_backend_pid() AND query LIKE 'LISTEN%'`);
      expect(listeners.rowCount).toBeGreaterThanOrEqual(2);
      await eventually(async () => expect(other.db.notifications.live).toBe(false));
      expect(other.services.hooks.cacheSize).toBe(0);
      // Changed while nobody hears: the other process must not answer from a stale copy.
      await admin.query(`UPDATE hooks SET url = 'http://127.0.0.1:9/y' WHERE id = $1`, [id]);
      if (!other.db.notifications.live) {
        expect((await readHook(otherUrl, id)).url).toBe('http://127.0.0.1:9/y');
        expect(other.services.hooks.cacheSize).toBe(0);
      }
      await eventually(async () => expect(other.db.notifications.live).toBe(true));
      expect((await readHook(otherUrl, id)).url).toBe('http://127.0.0.1:9/y');
      await admin.query(`UPDATE hooks SET url = 'http://127.0.0.1:9/z' WHERE id = $1`, [id]);
      await eventually(async () => expect((await readHook(otherUrl, id)).url).toBe('http://127.0.0.1:9/z'));
    } finally {
      await admin.end();
    }
  });
});
