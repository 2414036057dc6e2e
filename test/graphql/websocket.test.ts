// GraphQL over WebSocket (graphql-transport-ws) on /graphql, through the real graphql-ws client on
// real sockets, against a real app, a real receiver and (on PostgreSQL) a second real process.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { encodeGlobalID } from '@pothos/plugin-relay';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { attachGraphQLWebSocket } from '../../src/graphql/websocket';
import { createGraphQL, LIMITS } from '../../src/graphql/yoga';
import { createLogger } from '../../src/logger';
import { type Receiver, startReceiver } from '../delivery/receiver';
import { ADMIN_TOKEN, backends, createUser, startTestApp, type TestApp } from '../helpers';
import { type HookgateProcess, startHookgate } from '../process-helpers';
import { connectWs, type WsConnection, webSocketUrl, within, wsExecute, wsSubscribe } from './transports';

const SUBSCRIPTION = 'subscription($hookId: ID) { deliveryUpdated(hookId: $hookId) { databaseId status hook { databaseId } } }';
const TEST_HOOK = 'mutation($input: TestHookInput!) { testHook(input: $input) { delivery { databaseId status } userErrors { code } } }';

interface DeliveryUpdated {
  deliveryUpdated: { databaseId: number; status: string; hook: { databaseId: number } };
}

describe.each(backends)('GraphQL over WebSocket on %s', (backend) => {
  let t: TestApp;
  let receiver: Receiver;
  let alice: { token: string };
  let aliceHookId: number;
  const open: WsConnection[] = [];
  const connect = (...args: Parameters<typeof connectWs>) => {
    const connection = connectWs(...args);
    open.push(connection);
    return connection;
  };

  beforeAll(async () => {
    t = await startTestApp(backend);
    receiver = await startReceiver();
    alice = await createUser(t.app, 'alice');
    const hook = await t.app.db.prisma.hook.create({
      data: { kind: 'SUBJECT', url: `${receiver.url}/a`, subjectType: 'BUILD_REPO', subject: 'alice/app', namespace: 'alice', events: ['build:complete'] },
    });
    aliceHookId = hook.id;
  });
  afterAll(async () => {
    await Promise.all(open.map((c) => c.dispose()));
    await t?.close();
    await receiver?.close();
  });

  it('runs queries with the token from connectionParams or from the upgrade request', async () => {
    const { client } = connect(t.url, alice.token);
    expect(await wsExecute(client, '{ viewer { username isAdmin } }')).toEqual({ data: { viewer: { username: 'alice', isAdmin: false } } });
    const byHeader = connect(t.url, ADMIN_TOKEN, 'header');
    expect(await wsExecute(byHeader.client, '{ viewer { username isAdmin } }')).toEqual({ data: { viewer: { username: 'root', isAdmin: true } } });
  });

  it('runs mutations, with user errors as over HTTP', async () => {
    const { client } = connect(t.url, alice.token);
    const created = await wsExecute(
      client,
      'mutation($input: CreateHookInput!) { createHook(input: $input) { hook { databaseId url subject } userErrors { field code } } }',
      {
        input: { kind: 'SUBJECT', subjectType: 'BUILD_REPO', subject: 'alice/ws', events: ['build:complete'], url: `${receiver.url}/ws` },
      },
    );
    expect(created.errors).toBeUndefined();
    expect(created.data!.createHook).toMatchObject({ hook: { url: `${receiver.url}/ws`, subject: 'alice/ws' }, userErrors: [] });
    const stored = await t.app.db.prisma.hook.findUnique({ where: { id: created.data!.createHook.hook.databaseId } });
    expect(stored?.namespace).toBe('alice');
    const invalid = await wsExecute(client, 'mutation($input: CreateHookInput!) { createHook(input: $input) { hook { id } userErrors { field code } } }', {
      input: { kind: 'SUBJECT', subjectType: 'BUILD_REPO', subject: 'alice/ws', events: ['build:complete'], url: 'not a url' },
    });
    expect(invalid.data!.createHook).toEqual({ hook: null, userErrors: [{ field: ['input', 'url'], code: 'VALIDATION_FAILED' }] });
  });

  it('streams deliveryUpdated as a testHook delivery goes to SUCCEEDED', async () => {
    const { client } = connect(t.url, alice.token);
    const live = wsSubscribe<DeliveryUpdated>(client, SUBSCRIPTION, { hookId: encodeGlobalID('Hook', aliceHookId) });
    // The subscription has no "subscribed" acknowledgement in the protocol: keep testing the hook
    // until one of the deliveries it made is seen SUCCEEDED.
    const tested = new Set<number>();
    const trigger = setInterval(() => {
      void wsExecute(client, TEST_HOOK, { input: { id: encodeGlobalID('Hook', aliceHookId) } }).then(
        (res) => {
          const id = (res.data as { testHook: { delivery: { databaseId: number } | null } } | undefined)?.testHook.delivery?.databaseId;
          if (id) tested.add(id);
        },
        () => {},
      );
    }, 500);
    try {
      const seen = await live.waitFor(
        (r) => r.data?.deliveryUpdated.status === 'SUCCEEDED' && tested.has(r.data.deliveryUpdated.databaseId),
        'a SUCCEEDED update of a testHook delivery',
      );
      expect(seen).toEqual({ data: { deliveryUpdated: { databaseId: expect.any(Number), status: 'SUCCEEDED', hook: { databaseId: aliceHookId } } } });
      expect(receiver.requests.some((r) => r.path === '/a')).toBe(true);
    } finally {
      clearInterval(trigger);
      live.stop();
    }
  });

  it('closes with 4403 before any operation when the token is missing or bad', async () => {
    for (const [token, via] of [
      [null, 'params'],
      ['not-a-token', 'params'],
      ['not-a-token', 'header'],
    ] as const) {
      const { client, closed } = connect(t.url, token, via);
      const attempt = wsExecute(client, '{ viewer { username } }').then(
        () => 'answered',
        (error: unknown) => error,
      );
      const close = await within(closed, 15_000, `the close of a connection with token ${token} via ${via}`);
      expect(close.code).toBe(4403);
      expect(await attempt).toMatchObject({ code: 4403 });
    }
  });

  it('applies the cost, depth and alias limits of HTTP', async () => {
    const { client } = connect(t.url, ADMIN_TOKEN);
    const page =
      'nodes { id url createdBy { username } urlVariables { key } deliveries(first: $deliveries) { nodes { id status attempts { startedAt responseStatus } } } }';
    const costly = await wsExecute(client, `query($hooks: Int, $deliveries: Int) { hooks(first: $hooks) { ${page} } }`, { hooks: 100, deliveries: 100 });
    expect(costly.errors?.[0]?.extensions?.code).toBe('QUERY_TOO_COMPLEX');
    expect(costly.data ?? null).toBeNull();
    const aliases = Array.from({ length: LIMITS.maxAliases + 1 }, (_, i) => `a${i}: viewer { username }`).join(' ');
    const aliased = await wsExecute(client, `{ ${aliases} }`).then(
      () => null,
      (errors: unknown) => errors,
    );
    expect(JSON.stringify(aliased)).toMatch(/alias/i);
    let deep = 'username';
    for (let i = 0; i < LIMITS.maxDepth + 2; i++) deep = `hooks(first: 1) { nodes { createdBy { ${deep} } } }`;
    const tooDeep = await wsExecute(client, `{ ${deep} }`).then(
      () => null,
      (errors: unknown) => errors,
    );
    expect(JSON.stringify(tooDeep)).toMatch(/depth/i);
    // The connection survives refused documents.
    expect(await wsExecute(client, '{ viewer { username } }')).toEqual({ data: { viewer: { username: 'root' } } });
  });

  it('masks unexpected errors as over HTTP: nothing of the failure reaches the client', async () => {
    const logged: unknown[] = [];
    const logger = createLogger('silent');
    logger.error = ((obj: unknown) => void logged.push(obj)) as typeof logger.error;
    const hooks = Object.create(t.app.services.hooks) as typeof t.app.services.hooks;
    hooks.create = async () => {
      throw new Error('relation "hooks" does not exist: SELECT * FROM hooks WHERE secret = $1');
    };
    const services = { ...t.app.services, hooks };
    const { yoga, persisted } = createGraphQL({ services, prisma: t.app.db.prisma, logger });
    const server = createServer();
    const webSocket = attachGraphQLWebSocket(server, { yoga, services, prisma: t.app.db.prisma, logger, persisted });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { client, dispose } = connectWs(`http://127.0.0.1:${(server.address() as AddressInfo).port}`, ADMIN_TOKEN);
      const res = await wsExecute(client, 'mutation { createHook(input: { kind: SYSTEM, url: "https://example.com" }) { hook { id } userErrors { code } } }');
      expect(JSON.stringify(res)).not.toMatch(/SELECT|relation|stack|at /);
      expect(res.errors?.[0]).toMatchObject({ message: 'Unexpected error.', extensions: { code: 'INTERNAL_SERVER_ERROR' } });
      expect(logged).toHaveLength(1);
      await dispose();
    } finally {
      await webSocket.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  it('closes with 1009 on a message above the body limit', async () => {
    const { client, closed } = connect(t.url, ADMIN_TOKEN);
    expect((await wsExecute(client, '{ viewer { username } }')).data).toEqual({ viewer: { username: 'root' } });
    const huge = `{ viewer { username } } # ${'x'.repeat(LIMITS.maxBodyBytes)}`;
    void wsExecute(client, huge).catch(() => {});
    expect((await within(closed, 15_000, 'the close after an oversized message')).code).toBe(1009);
  });

  it('refuses a WebSocket upgrade on other paths', async () => {
    const socket = new WebSocket(`${webSocketUrl(t.url)}/nope`, 'graphql-transport-ws');
    const status = await within(
      new Promise<number | undefined>((resolve) => {
        socket.on('unexpected-response', (_req, res) => resolve(res.statusCode));
        socket.on('error', () => resolve(undefined));
      }),
      15_000,
      'the answer to an upgrade on another path',
    );
    expect(status).toBe(404);
  });

  it('closes its sockets with 1001 on graceful shutdown', async () => {
    const other = await startTestApp(backend);
    try {
      const { client, closed } = connectWs(other.url, ADMIN_TOKEN);
      const live = wsSubscribe(client, 'subscription { deliveryUpdated { id } }');
      expect((await wsExecute(client, '{ viewer { username } }')).data).toEqual({ viewer: { username: 'root' } });
      await within(other.close(), 30_000, 'the app closing with a WebSocket open');
      expect((await within(closed, 15_000, 'the close on shutdown')).code).toBe(1001);
      live.stop();
      await client.dispose();
    } finally {
      await other.close();
    }
  });

  it.runIf(backend === 'postgres')('delivers deliveryUpdated from another Hookgate process on the same database', async () => {
    let second: HookgateProcess | undefined;
    try {
      second = await startHookgate({ DATABASE_URL: t.app.config.DATABASE_URL!, HOOKGATE_ALLOW_LOCAL_REQUESTS: 'true' });
      const { client } = connect(second.url, alice.token);
      const live = wsSubscribe<DeliveryUpdated>(client, SUBSCRIPTION, { hookId: encodeGlobalID('Hook', aliceHookId) });
      // This process tests the hook; the subscriber is on the other one.
      const tested = new Set<number>();
      const trigger = setInterval(() => {
        void t.app.services.deliveries.testHook(t.admin, aliceHookId).then(
          (d) => tested.add(d.id),
          () => {},
        );
      }, 500);
      try {
        const seen = await live.waitFor(
          (r) => r.data?.deliveryUpdated.status === 'SUCCEEDED' && tested.has(r.data.deliveryUpdated.databaseId),
          'an update from the other process',
        );
        expect(seen.data!.deliveryUpdated.hook.databaseId).toBe(aliceHookId);
      } finally {
        clearInterval(trigger);
        live.stop();
      }
    } finally {
      await second?.stop();
    }
  });
});
