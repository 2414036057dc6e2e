// Abuse limits: abusive documents are refused before anything runs; big bodies are refused
// before being read; unexpected errors never leak internals.
import { getIntrospectionQuery } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGraphQL, LIMITS } from '../../src/graphql/yoga';
import { createLogger } from '../../src/logger';
import { ADMIN_TOKEN, backends, graphql, startTestApp, type TestApp } from '../helpers';

describe('GraphQL abuse limits', () => {
  let t: TestApp;
  let resolved = 0;

  beforeAll(async () => {
    t = await startTestApp(backends[0]!);
    // Count resolver work: a refused document must never reach the services.
    const hooks = t.app.services.hooks;
    const visibleWhere = hooks.visibleWhere.bind(hooks);
    hooks.visibleWhere = (actor) => {
      resolved += 1;
      return visibleWhere(actor);
    };
  });
  afterAll(async () => {
    await t?.close();
  });

  function nested(depth: number): string {
    let selection = 'id';
    for (let i = 0; i < depth; i += 1) selection = `hook { deliveries(first: 1) { nodes { ${selection} } } }`;
    return `query($id: ID!) { delivery(id: $id) { ${selection} } }`;
  }

  it('refuses documents deeper than the limit before execution', async () => {
    resolved = 0;
    const res = await graphql(t.url, nested(5), { id: 'x' });
    expect(res.errors?.[0]?.message).toMatch(/depth/i);
    expect(res.data).toBeUndefined();
    expect(resolved).toBe(0);
    const ok = await graphql(t.url, nested(2), { id: 'x' });
    expect(ok.errors).toBeUndefined();
  });

  it('refuses a literal nested thousands deep as bad input, without a token', async () => {
    const deep = `${'['.repeat(3000)}${']'.repeat(3000)}`;
    const response = await graphql(t.url, `query { hooks(first: ${deep}) { totalCount } }`, {}, null);
    expect(response.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(response.errors?.[0]?.message).not.toBe('Unexpected error.');
  });

  it("answers an unknown input field in a variable with graphql-js's BAD_USER_INPUT", async () => {
    const response = await graphql(t.url, 'mutation($i: CreateHookInput!) { createHook(input: $i) { hook { id } } }', {
      i: { bogus: 1, kind: 'SYSTEM', url: 'https://example.com/' },
    });
    expect(response.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(response.errors?.[0]?.message).toMatch(/bogus/);
  });

  it('refuses too many aliases', async () => {
    const aliases = Array.from({ length: LIMITS.maxAliases + 1 }, (_, i) => `a${i}: viewer { username }`).join(' ');
    const res = await graphql(t.url, `{ ${aliases} }`);
    expect(res.errors?.[0]?.message).toMatch(/alias/i);
    expect(res.data).toBeUndefined();
  });

  it('refuses operations above the cost limit before any resolver runs, page sizes in variables included', async () => {
    resolved = 0;
    const page =
      'nodes { id url createdBy { username } urlVariables { key } deliveries(first: $deliveries) { nodes { id status attempts { startedAt responseStatus } } } }';
    const query = `query($hooks: Int, $deliveries: Int) { hooks(first: $hooks) { ${page} } }`;
    const ok = await graphql(t.url, query, { hooks: 100, deliveries: 5 });
    expect(ok.errors).toBeUndefined();
    resolved = 0;
    const tooBig = await graphql(t.url, query, { hooks: 100, deliveries: 100 });
    expect(tooBig.errors?.[0]?.extensions?.code).toBe('QUERY_TOO_COMPLEX');
    expect(tooBig.errors?.[0]?.message).toMatch(/complexity/i);
    expect(tooBig.data ?? null).toBeNull();
    expect(resolved).toBe(0);

    const aliases = Array.from({ length: 5 }, (_, i) => `h${i}: hooks(first: 100) { ${page.replace('$deliveries', '5')} }`).join(' ');
    const wide = await graphql(t.url, `{ ${aliases} }`);
    expect(wide.errors?.[0]?.extensions?.code).toBe('QUERY_TOO_COMPLEX');
    expect(resolved).toBe(0);
  });

  it('allows the full introspection query (GraphiQL needs it)', async () => {
    const res = await graphql(t.url, getIntrospectionQuery(), {}, null);
    expect(res.errors).toBeUndefined();
    expect(res.data!.__schema.types.length).toBeGreaterThan(20);
  });

  it('refuses request bodies over 1 MiB with 413', async () => {
    const response = await fetch(`${t.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN_TOKEN}` },
      body: JSON.stringify({ query: `{ viewer { username } } # ${'x'.repeat(LIMITS.maxBodyBytes)}` }),
    });
    expect(response.status).toBe(413);
    await response.arrayBuffer();
  });

  it('answers malformed JSON with 400, never 500', async () => {
    const response = await fetch(`${t.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN_TOKEN}` },
      body: '{"query": ',
    });
    expect(response.status).toBe(400);
  });

  it('answers malformed ids, cursors and page sizes with BAD_USER_INPUT, not as internal errors', async () => {
    for (const query of ['{ node(id: "garbage") { id } }', '{ hooks(first: -5) { totalCount } }', '{ hooks(after: "garbage") { nodes { id } } }']) {
      const res = await graphql(t.url, query);
      expect(res.errors?.[0]?.extensions?.code, query).toBe('BAD_USER_INPUT');
    }
  });

  it('masks unexpected errors: no message, stack or SQL from the failure reaches the client', async () => {
    const logged: unknown[] = [];
    const logger = createLogger('silent');
    logger.error = ((obj: unknown) => void logged.push(obj)) as typeof logger.error;
    const hooks = Object.create(t.app.services.hooks) as typeof t.app.services.hooks;
    hooks.create = async () => {
      throw new Error('relation "hooks" does not exist: SELECT * FROM hooks WHERE secret = $1');
    };
    const { yoga } = createGraphQL({ services: { ...t.app.services, hooks }, prisma: t.app.db.prisma, logger });
    const response = await yoga.fetch('http://hookgate.test/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN_TOKEN}` },
      body: JSON.stringify({ query: 'mutation { createHook(input: { kind: SYSTEM, url: "https://example.com" }) { hook { id } userErrors { code } } }' }),
    });
    const text = await response.text();
    expect(text).not.toMatch(/SELECT|relation|stack|at /);
    const body = JSON.parse(text) as { errors: { message: string; extensions: { code: string } }[] };
    expect(body.errors[0]).toMatchObject({ message: 'Unexpected error.', extensions: { code: 'INTERNAL_SERVER_ERROR' } });
    expect(logged).toHaveLength(1);
  });
});
