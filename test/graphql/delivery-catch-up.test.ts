// `deliveryUpdated(hookId, after: <cursor>)` over the SSE transport: a subscriber that reconnects
// with the `updateCursor` of the last update it saw first receives every change made while it was
// away, then live ones, none missing and none twice, even with changes landing during the switch.
// (The catch-up also resends changes of the few seconds before the cursor: each test's deliveries
// start on a hook with nothing in that window but the cursor's own version, which is left out.)
import { encodeGlobalID } from '@pothos/plugin-relay';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, type Receiver, startReceiver } from '../delivery/receiver';
import { backends, createUser, graphql, startTestApp, type TestApp } from '../helpers';

interface Update {
  databaseId: number;
  status: string;
  attemptCount: number;
  updateCursor: string;
}

const SUBSCRIPTION =
  'subscription($hookId: ID, $after: String) { deliveryUpdated(hookId: $hookId, after: $after) { databaseId status attemptCount updateCursor } }';

/** An SSE subscription whose `next` payloads are collected as they arrive. */
class Stream {
  readonly updates: Update[] = [];
  readonly errors: unknown[] = [];
  private readonly controller = new AbortController();
  private text = '';
  readonly opened: Promise<Response>;

  constructor(baseUrl: string, token: string, variables: Record<string, unknown>) {
    this.opened = fetch(`${baseUrl}/graphql`, {
      method: 'POST',
      signal: this.controller.signal,
      headers: { 'content-type': 'application/json', accept: 'text/event-stream', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query: SUBSCRIPTION, variables }),
    });
    void this.opened
      .then(async (response) => {
        const reader = response.body!.getReader();
        const decoder = new TextDecoder();
        for (;;) {
          const { value, done } = await reader.read();
          if (done) return;
          this.text += decoder.decode(value, { stream: true });
          const blocks = this.text.split('\n\n');
          this.text = blocks.pop()!;
          for (const block of blocks) {
            const data = block
              .split('\n')
              .filter((line) => line.startsWith('data:'))
              .map((line) => line.slice(5))
              .join('\n')
              .trim();
            if (!data) continue;
            const message = JSON.parse(data) as { data?: { deliveryUpdated: Update }; errors?: unknown[] };
            if (message.errors) this.errors.push(...message.errors);
            if (message.data?.deliveryUpdated) this.updates.push(message.data.deliveryUpdated);
          }
        }
      })
      .catch(() => {});
  }

  /** Resolves once `predicate` holds for what has arrived. */
  until(predicate: (updates: Update[]) => boolean, what: string, timeoutMs = 20_000): Promise<Update[]> {
    return eventually(async () => (predicate(this.updates) ? this.updates : null), timeoutMs, what);
  }

  close(): void {
    this.controller.abort();
  }
}

describe.each(backends)('deliveryUpdated catch-up on %s', (backend) => {
  let t: TestApp;
  let receiver: Receiver;
  let alice: { token: string; actor: TestApp['admin'] };
  let hookId: number;

  async function updateCursorOf(deliveryId: number): Promise<string> {
    const res = await graphql(t.url, 'query($id: ID!) { delivery(id: $id) { updateCursor } }', { id: encodeGlobalID('Delivery', deliveryId) }, alice.token);
    return res.data!.delivery.updateCursor as string;
  }

  beforeAll(async () => {
    t = await startTestApp(backend);
    receiver = await startReceiver();
    alice = await createUser(t.app, 'alice');
    hookId = (
      await t.app.db.prisma.hook.create({
        data: { kind: 'SUBJECT', url: `${receiver.url}/a`, subjectType: 'BUILD_REPO', subject: 'alice/app', namespace: 'alice', events: ['build:complete'] },
      })
    ).id;
  });
  afterAll(async () => {
    await t?.close();
    await receiver?.close();
  });

  it('sends the changes missed while disconnected, then live ones, with no gap and no repeat', async () => {
    const engine = t.app.services.deliveries;
    const first = await engine.testHook(alice.actor, hookId);
    // The last update this client saw before it went away.
    const cursor = await updateCursorOf(first.id);

    // While it is away: two new deliveries, and another attempt of the one it saw.
    const missed = [(await engine.testHook(alice.actor, hookId)).id, (await engine.testHook(alice.actor, hookId)).id];
    await engine.redeliver(alice.actor, first.id);

    // Reconnect, while more deliveries keep happening across the switch from catch-up to live.
    const stream = new Stream(t.url, alice.token, { hookId: encodeGlobalID('Hook', hookId), after: cursor });
    const during: number[] = [];
    try {
      expect((await stream.opened).status).toBe(200);
      for (let i = 0; i < 6; i++) {
        during.push((await engine.testHook(alice.actor, hookId)).id);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      // Every delivery changed since the cursor arrives in its latest state...
      const changed = await t.app.db.prisma.delivery.findMany({
        where: { hookId, updatedAt: { gt: new Date(0) }, id: { in: [first.id, ...missed, ...during] } },
      });
      const latest = new Map(await Promise.all(changed.map(async (d) => [d.id, await updateCursorOf(d.id)] as const)));
      await stream.until(
        (updates) => [...latest].every(([id, version]) => updates.some((u) => u.databaseId === id && u.updateCursor === version)),
        'every change since the cursor',
      );
      // ...then a live one after all of that.
      const last = (await engine.testHook(alice.actor, hookId)).id;
      await stream.until((updates) => updates.some((u) => u.databaseId === last && u.status === 'SUCCEEDED'), 'the live update after the catch-up');

      const updates = stream.updates;
      expect(stream.errors).toEqual([]);
      // The missed changes come first (they are older than anything live).
      expect(
        updates
          .slice(0, 3)
          .map((u) => u.databaseId)
          .sort((a, b) => a - b),
      ).toEqual([first.id, ...missed].sort((a, b) => a - b));
      expect(updates.find((u) => u.databaseId === first.id)).toMatchObject({ status: 'SUCCEEDED', attemptCount: 2 });
      // The version the client already had is not sent again, and nothing is sent twice.
      expect(updates.some((u) => u.updateCursor === cursor)).toBe(false);
      const versions = updates.map((u) => `${u.databaseId}@${u.updateCursor}`);
      expect(versions.length).toBe(new Set(versions).size);
      // Nothing of another hook, nothing from before the cursor.
      expect(new Set(updates.map((u) => u.databaseId))).toEqual(new Set([first.id, ...missed, ...during, last]));
    } finally {
      stream.close();
    }
  });

  it("sends a change that committed after the cursor's but was stamped before it", async () => {
    const engine = t.app.services.deliveries;
    const hookId = (
      await t.app.db.prisma.hook.create({
        data: { kind: 'SUBJECT', url: `${receiver.url}/c`, subjectType: 'BUILD_REPO', subject: 'alice/late', namespace: 'alice', events: ['build:complete'] },
      })
    ).id;
    const seen = await engine.testHook(alice.actor, hookId);
    const cursor = await updateCursorOf(seen.id);
    const seenAt = (await t.app.db.prisma.delivery.findUniqueOrThrow({ where: { id: seen.id } })).updatedAt;
    // A change made (stamped) a second before the one the client saw, committed only after it.
    const late = await engine.testHook(alice.actor, hookId);
    await t.app.db.prisma.$executeRaw`UPDATE deliveries SET updated_at = ${new Date(seenAt.getTime() - 1_000)} WHERE id = ${late.id}`;
    const stream = new Stream(t.url, alice.token, { hookId: encodeGlobalID('Hook', hookId), after: cursor });
    try {
      const updates = await stream.until((u) => u.some((update) => update.databaseId === late.id), 'the late change');
      expect(updates.some((update) => update.updateCursor === cursor)).toBe(false);
    } finally {
      stream.close();
    }
  });

  it('pages through a long catch-up in order', async () => {
    const engine = t.app.services.deliveries;
    // A hook of its own: the catch-up also resends the few seconds before the cursor.
    const hookId = (
      await t.app.db.prisma.hook.create({
        data: { kind: 'SUBJECT', url: `${receiver.url}/b`, subjectType: 'BUILD_REPO', subject: 'alice/long', namespace: 'alice', events: ['build:complete'] },
      })
    ).id;
    const start = await engine.testHook(alice.actor, hookId);
    const cursor = await updateCursorOf(start.id);
    // More than one catch-up batch (500), made in SQL: changed after the cursor, in a known order.
    await t.app.db.prisma.$executeRaw`
      WITH e AS (INSERT INTO events (name, payload) VALUES ('build:complete', '{}') RETURNING id)
      INSERT INTO deliveries (uuid, event_id, hook_id, status, created_at, updated_at)
      SELECT gen_random_uuid(), e.id, ${hookId}, 'SUCCEEDED', now(), now() + i * interval '1 millisecond'
      FROM e, generate_series(1, 600) AS i`;
    // Everything but the version the cursor names, in the order of the changes.
    const expected = (
      await t.app.db.prisma.delivery.findMany({ where: { hookId, id: { gt: start.id } }, orderBy: [{ updatedAt: 'asc' }, { id: 'asc' }], select: { id: true } })
    ).map((d) => d.id);
    const stream = new Stream(t.url, alice.token, { hookId: encodeGlobalID('Hook', hookId), after: cursor });
    try {
      const updates = await stream.until((u) => u.length >= expected.length, `${expected.length} catch-up updates`, 60_000);
      expect(updates.slice(0, expected.length).map((u) => u.databaseId)).toEqual(expected);
    } finally {
      stream.close();
    }
  });

  it('refuses a malformed cursor and one older than the catch-up window', async () => {
    const ask = async (after: string) => {
      const response = await fetch(`${t.url}/graphql`, {
        method: 'POST',
        signal: AbortSignal.timeout(15_000),
        headers: { 'content-type': 'application/json', accept: 'text/event-stream', authorization: `Bearer ${alice.token}` },
        body: JSON.stringify({ query: SUBSCRIPTION, variables: { hookId: encodeGlobalID('Hook', hookId), after } }),
      });
      // The stream ends after the error.
      return response.text();
    };
    expect(await ask('not-a-cursor')).toContain('BAD_USER_INPUT');
    const old = Buffer.from(`delivery-change:${Date.now() - 8 * 86_400_000}:1`).toString('base64url');
    const tooOld = await ask(old);
    expect(tooOld).toContain('VALIDATION_FAILED');
    expect(tooOld).toContain('catch-up window');
  });
});
